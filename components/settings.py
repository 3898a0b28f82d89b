"""The Model tab: switch model or backend (local folder, hub id, OpenAI-compatible server) without a restart.

The model is process-wide, so when the app has an admin, only the signed-in admin may switch it.
"""

from __future__ import annotations

from typing import Any

import gradio as gr

from components.context import AppContext, ModelUnavailable, Session
from onethinker.segment import BACKENDS


def may_switch(ctx: AppContext, session: Session) -> bool:
    return not ctx.settings.admin_enabled or session.admin


def apply(ctx: AppContext, session: Session, model: str, url: str, served: str, segmenter: str,
          sam_checkpoint: str) -> str:
    """Switch to ``model`` (or to the server at ``url``); a server is checked at once, a local model loads
    on the next run (or with **Load now**)."""
    if not may_switch(ctx, session):
        return "⛔ Only the admin can switch the model (sign in on the Admin tab)."
    ctx.set_segmenter(segmenter, (sam_checkpoint or "").strip())
    status = ctx.models.configure(model, url, (served or "").strip() or None)
    return status.markdown()


def load_now(ctx: AppContext, session: Session, progress: Any = None) -> str:
    if not may_switch(ctx, session):
        return "⛔ Only the admin can load a model (sign in on the Admin tab)."
    try:
        ctx.models.backend(progress)
    except ModelUnavailable as e:
        return str(e)
    return ctx.models.status().markdown()


def build(ctx: AppContext, page: Any) -> None:
    session = page.session
    m = ctx.models
    with gr.Tab("Model", id="model"):
        gr.Markdown("Which model answers.  A local model loads on the first run; a server is checked when applied.")
        with gr.Row():
            model = gr.Textbox(m.model, label="Model: hub id or local folder", elem_id="settings-model")
            url = gr.Textbox(m.openai_url or "", label="…or an OpenAI-compatible server URL (vLLM / SGLang)",
                             placeholder="http://localhost:8000/v1", elem_id="settings-url")
            served = gr.Textbox(m.openai_model or "", label="Served model name (empty: the first the server lists)",
                                elem_id="settings-served")
        with gr.Row():
            seg = gr.Dropdown([*BACKENDS, "none"], value=ctx.settings.segmenter, label="Segmentation model",
                              elem_id="settings-segmenter")
            ckpt = gr.Textbox(ctx.settings.sam_checkpoint or "", label="Segmentation checkpoint (empty: default)")
        with gr.Row():
            apply_btn = gr.Button("Apply", variant="primary", elem_id="settings-apply")
            load_btn = gr.Button("Load now", elem_id="settings-load")
        status = gr.Markdown(m.status().markdown(), elem_id="settings-status")

    def do_load(s: Session, progress=gr.Progress()):
        return load_now(ctx, s, lambda f, msg: progress(f, desc=msg))

    applied = apply_btn.click(lambda s, *v: apply(ctx, s, *v), [session, model, url, served, seg, ckpt], [status],
                              api_name="switch_model", concurrency_id="model", concurrency_limit=1)
    loaded = load_btn.click(do_load, [session], [status], api_name="load_model", concurrency_id="model",
                            concurrency_limit=1)
    for ev in (applied, loaded):
        ev.then(page.refresh_banner, None, [page.banner], api_visibility="private", queue=False)
