"""The Admin panel: counts per task and feedback kind, recent records, exports as downloadable zips.

It is built only when the app was started with admin credentials, and only into the page of a
visitor who signed in with them (``gr.render``): for everyone else it is absent from the page config,
not hidden.  Every admin handler checks the session's sign-in again and stays out of the public API.
"""

from __future__ import annotations

import shutil
import time
from collections import Counter, deque
from typing import Any

import gradio as gr

from components.context import AppContext, Session
from onethinker.feedback import FORMATS, export
from onethinker.feedback.record import FEEDBACK_KINDS

RECENT = 20
NOT_ADMIN = "⛔ Sign in as the admin first."


def sign_in(ctx: AppContext, session: Session, user: str, password: str) -> tuple[bool, str]:
    if ctx.is_admin(user, password):
        session.admin = True
        return True, "Signed in."
    time.sleep(1.0)  # slows down guessing
    session.admin = False
    return False, "❌ Wrong user name or password."


def overview(ctx: AppContext, session: Session) -> tuple[list[list[Any]], list[list[Any]], str]:
    """(counts per task × kind, the most recent records, a summary line)."""
    if not session.admin:
        raise gr.Error(NOT_ADMIN)
    counts: Counter = Counter()
    recent: deque = deque(maxlen=RECENT)
    for it in ctx.store.items():
        counts[(it.task, it.kind)] += 1
        recent.append(it)
    tasks = sorted({t for t, _ in counts})
    table = [[t, *(counts[(t, k)] for k in FEEDBACK_KINDS), sum(counts[(t, k)] for k in FEEDBACK_KINDS)]
             for t in tasks]
    rows = [[it.id, it.task, it.data_type, it.kind, _describe(it.feedback), it.question[:120]]
            for it in reversed(recent)]
    total = sum(counts.values())
    return table, rows, f"**{total} records** in `{ctx.store.path}`"


def _describe(fb: dict) -> str:
    kind = fb.get("kind")
    if kind == "vote":
        return ("👍" if fb.get("value") == 1 else "👎") + (f" {fb['comment']}" if fb.get("comment") else "")
    if kind == "preference":
        return f"output {'AB'[fb.get('chosen', 0)]} better"
    if kind == "correction":
        p = dict(fb.get("payload") or {})
        p.pop("type", None)
        return "→ " + ", ".join(f"{k}={v}" for k, v in p.items() if v is not None)[:120]
    return str(fb)[:120]


def export_zip(ctx: AppContext, session: Session, fmt: str) -> tuple[str | None, str]:
    """Export the store in ``fmt`` and zip the folder; returns (zip path, message)."""
    if not session.admin:
        raise gr.Error(NOT_ADMIN)
    folder = ctx.outputs.folder(f"export-{fmt}")
    try:
        res = export(ctx.store, fmt, folder / fmt)
    except Exception as e:  # ExportError / ValueError: said in the page, nothing else changes
        shutil.rmtree(folder, ignore_errors=True)
        return None, f"❌ Export failed: {e}"
    zip_path = shutil.make_archive(str(folder / f"onethinker-{fmt}"), "zip", root_dir=folder, base_dir=fmt)
    shutil.rmtree(folder / fmt, ignore_errors=True)
    ctx.outputs.prune()
    rows = ", ".join(f"{k}: {v}" for k, v in res.rows.items())
    return zip_path, f"✅ {fmt} export: {rows} rows, {res.media} media files."


def build(ctx: AppContext, page: Any) -> None:
    if not ctx.settings.admin_enabled:
        return
    session = page.session
    with gr.Tab("Admin", id="admin"):
        signed_in = gr.State(False)
        with gr.Row():
            user = gr.Textbox(label="Admin user", elem_id="admin-user")
            password = gr.Textbox(label="Password", type="password", elem_id="admin-password")
            btn = gr.Button("Sign in", elem_id="admin-sign-in")
        msg = gr.Markdown(elem_id="admin-message")

        def do_sign_in(s: Session, u: str, p: str):
            ok, text = sign_in(ctx, s, u, p)
            return ok, text

        btn.click(do_sign_in, [session, user, password], [signed_in, msg], api_visibility="private",
                  concurrency_id="admin", concurrency_limit=2)

        @gr.render(inputs=[signed_in, session], triggers=[signed_in.change])
        def panel(ok: bool, s: Session):
            if not (ok and s.admin):
                return
            table, rows, line = overview(ctx, s)
            with gr.Column(elem_id="admin-panel"):
                gr.Markdown("## Admin panel")
                summary = gr.Markdown(line, elem_id="admin-summary")
                refresh = gr.Button("Refresh", size="sm", elem_id="admin-refresh")
                counts = gr.Dataframe(table, headers=["task", *FEEDBACK_KINDS, "total"],
                                      label="Records per task and kind", interactive=False, elem_id="admin-counts")
                recent = gr.Dataframe(rows, headers=["id", "task", "data type", "kind", "feedback", "question"],
                                      label=f"Most recent {RECENT} records", interactive=False, elem_id="admin-recent")
                with gr.Row():
                    buttons = [gr.Button(f"Export {fmt}", elem_id=f"admin-export-{fmt}") for fmt in FORMATS]
                export_msg = gr.Markdown(elem_id="admin-export-message")
                file = gr.File(label="Export (zip)", interactive=False, elem_id="admin-export-file")
                sign_out = gr.Button("Sign out", size="sm", elem_id="admin-sign-out")

            private = dict(api_visibility="private", concurrency_id="admin", concurrency_limit=2)
            refresh.click(lambda s_: overview(ctx, s_), [session], [counts, recent, summary], **private)
            for b, fmt in zip(buttons, FORMATS):
                b.click(lambda s_, _f=fmt: export_zip(ctx, s_, _f), [session], [file, export_msg], **private)

            def out(s_: Session):
                s_.admin = False
                return False, "Signed out."

            sign_out.click(out, [session], [signed_in, msg], **private)
