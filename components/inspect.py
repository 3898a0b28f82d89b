"""The Inspect tab: open a results file, find the failures, see each one drawn, save it as a correction.

No model is needed.  A results file (``python -m onethinker.eval``'s, the official scripts', or any
JSON / JSONL rows with the same fields) is opened from an upload or from a path under the results
root (``--results-root``); its media are looked up only inside a media folder under that root.  All
reading, filtering, drawing and checking is the core's (:class:`onethinker.eval.ResultsTable`,
:mod:`onethinker.eval.review`, :mod:`onethinker.runs`): the handlers here keep an
:class:`Inspection` per browser session (a ``gr.State``) and turn its values into widget values.
Handlers return dicts keyed by widget name, so tests call them without a page.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gradio as gr
import numpy as np

from components import views
from components.context import ROOT, AppContext, Session
from onethinker.eval import EvalFileError, Query, ResultsTable, resolve_media
from onethinker.eval import review
from onethinker.feedback import FeedbackError
from onethinker.media.probe import MediaError
from onethinker.runs import make_record

DEFAULT_RESULTS_ROOT = Path("results")
EXAMPLE_FILE = ROOT / "examples" / "results" / "results.json"
EXAMPLE_MEDIA = ROOT / "examples" / "results" / "media"
PAGE_SIZE = 50
MAX_VIDEO_COPY_MB = 512  # a video shown as it is (a task with nothing to draw) is copied to the output folder
COLUMNS = ["#", "row", "id", "task", "data type", "question", "prediction", "score", "error"]
COLUMN_WIDTHS = ["5%", "5%", "5%", "12%", "8%", "28%", "22%", "6%", "9%"]
SUMMARY_COLUMNS = ["task", "rows", "accuracy", "R@0.5", "mIoU", "of", "errors", "format"]
SORTS = {"worst first": "worst", "best first": "best", "file order": "file"}
NEXT_KEY, PREV_KEY = "j", "k"


def results_root(ctx: AppContext) -> Path:
    """The folder results files and media folders are opened from (``--results-root``, default ``results/``)."""
    return Path(ctx.settings.results_root or DEFAULT_RESULTS_ROOT)


@dataclass
class Inspection:
    """One session's open results file: the table, its media folder, the rows the filters keep (in
    their order) and the row shown (its position in that order)."""

    table: ResultsTable | None = None
    media_root: Path | None = None
    order: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    pos: int | None = None
    page: int = 0  # the table's page shown (0-based)
    view: Any = None  # onethinker.eval.table.RowView of the row shown


def new_inspection() -> Inspection:
    return Inspection()


# ------------------------------------------------------------------------------------------------
# Opening a file


def media_folder(root: Path, relative: str | None) -> Path:
    """``relative`` as a folder inside ``root`` (empty: ``root`` itself); the media path rules apply
    (no absolute paths, ``..`` or links out).  Raises :class:`EvalFileError` saying why not."""
    rel = (relative or "").strip()
    if not rel or rel in (".", "./"):
        found = root.resolve()
    else:
        m = resolve_media(root, rel)
        if not m.ok:
            raise EvalFileError(f"media folder {rel!r} cannot be used: {m.error}")
        found = m.path
    if not found.is_dir():
        raise EvalFileError(f"media folder {rel or str(root)!r} is not a folder under the results root {root}")
    return found


def _file_media_root(root: Path, file: Path, meta: dict) -> tuple[Path, str]:
    """The media folder a results file names (``meta.media_root``, relative to the file), when it lies
    under the results root; else the results root.  Returns (folder, a note on the choice)."""
    named = meta.get("media_root") if isinstance(meta, dict) else None
    if isinstance(named, str) and named.strip():
        try:
            rel = (file.parent / named.strip()).resolve().relative_to(root.resolve())
            return media_folder(root, rel.as_posix()), ""
        except (ValueError, EvalFileError):
            return root.resolve(), (f"the file's media root {named!r} is not a folder under the results root; "
                                    "media are looked up in the results root (type a media folder to change it)")
    return root.resolve(), ""


def open_path(ctx: AppContext, st: Inspection, relative: str, media: str = "") -> dict[str, Any]:
    """Open ``relative`` (a results file under the results root) with media in ``media`` (a folder
    under the results root; empty: the folder the file names, else the results root)."""
    root = results_root(ctx)
    if not (relative or "").strip():
        return {"status": f"⚠️ Type the path of a results file under the results root `{root}`, or upload one."}
    if not root.is_dir():
        return {"status": f"⚠️ The results root `{root}` is not a folder: start the app with `--results-root DIR` "
                          "(or upload a file)."}
    try:
        table = ResultsTable.load_under(root, relative.strip())
        if (media or "").strip():
            folder, note = media_folder(root, media), ""
        else:
            folder, note = _file_media_root(root, root.resolve() / relative.strip(), table.meta)
    except EvalFileError as e:
        return {"status": f"❌ {e}"}
    return _opened(st, table, folder, note)


def open_upload(ctx: AppContext, st: Inspection, upload: str | None, media: str = "") -> dict[str, Any]:
    """Open an uploaded results file; its media are looked up in ``media`` under the results root."""
    if not upload:
        return {"status": "⚠️ Upload a results file (.json or .jsonl)."}
    root = results_root(ctx)
    try:
        table = ResultsTable.load(Path(upload), Path(upload).name)
        folder = media_folder(root, media) if root.is_dir() else None
    except EvalFileError as e:
        return {"status": f"❌ {e}"}
    note = "" if folder is not None else (f"the results root `{root}` is not a folder, so no media are shown "
                                          "(start the app with `--results-root DIR`)")
    return _opened(st, table, folder, note)


def open_example(st: Inspection) -> dict[str, Any]:
    """The example results file of ``examples/results/`` with its media (illustrative answers)."""
    table = ResultsTable.load(EXAMPLE_FILE, "examples/results/results.json")
    return _opened(st, table, EXAMPLE_MEDIA.resolve(), "illustrative, hand-written answers over generated media")


def _opened(st: Inspection, table: ResultsTable, media_root: Path | None, note: str) -> dict[str, Any]:
    st.table, st.media_root, st.pos, st.view = table, media_root, None, None
    st.order = table.select(Query())
    summary = table.summary()
    m = table.metrics
    line = (f"✅ Opened **{table.name}**: {len(table):,} rows, {len(table.tasks)} tasks, overall accuracy "
            f"{m.get('overall/acc', 0.0):.3f}, rows with errors: {int(m.get('errors/total', 0))}.  Media from "
            f"`{media_root if media_root is not None else '(none)'}`.")
    if note:
        line += f"  \n{note[0].upper()}{note[1:]}."
    task_choices = [("all tasks", "")] + [(t, t) for t in table.tasks]
    dtype_choices = [("all data types", "")] + [(d, d) for d in table.data_types]
    return {"status": line, "summary": summary_rows(summary, m), "plot": summary_figure(summary),
            "task": gr.update(choices=task_choices, value=""), "data_type": gr.update(choices=dtype_choices, value=""),
            "score_min": None, "score_max": None, "errors_only": False, "sort": "worst first", "search": "",
            **_page(st, 0), **_cleared()}


def summary_rows(summary: list[dict], metrics: dict) -> list[list[Any]]:
    """The per-task table: rows, accuracy, R@0.5 and mean of the task's main component, errors, format."""

    def num(v):
        return None if v is None else round(float(v), 3)

    out = [["all", int(metrics.get("overall/count", 0)), num(metrics.get("overall/acc")), None, None, "",
            int(metrics.get("errors/total", 0)), num(metrics.get("overall/format"))]]
    for s in summary:
        out.append([s["task"], s["count"], num(s["accuracy"]), num(s["r_at_0_5"]), num(s["miou"]),
                    s["component"] or "", s["errors"], num(s["format"])])
    return out


def summary_figure(summary: list[dict]):
    """Accuracy, R@0.5 and mIoU per task as grouped horizontal bars (a matplotlib Figure)."""
    from matplotlib.figure import Figure

    tasks = [s["task"] for s in summary]
    fig = Figure(figsize=(7.5, 0.42 * max(1, len(tasks)) + 0.9), dpi=100)
    ax = fig.subplots()
    series = (("accuracy", "accuracy", "#4c72b0"), ("r_at_0_5", "R@0.5", "#dd8452"), ("miou", "mIoU", "#55a868"))
    height = 0.26
    y = np.arange(len(tasks))
    for k, (key, label, colour) in enumerate(series):
        vals = [s[key] if s[key] is not None else np.nan for s in summary]
        ax.barh(y + (k - 1) * height, vals, height, label=label, color=colour)
    ax.set_yticks(y, tasks)
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    ax.tick_params(labelsize=8)
    ax.legend(fontsize=8, loc="lower right", ncols=3)
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    return fig


# ------------------------------------------------------------------------------------------------
# Filtering and pages


def _number(v: Any) -> float | None:
    try:
        return None if v is None or v == "" else float(v)
    except (TypeError, ValueError):
        return None


def apply_filters(st: Inspection, task: str | None, data_type: str | None, score_min: Any, score_max: Any,
                  errors_only: bool, sort: str, search: str) -> dict[str, Any]:
    """Keep the rows matching the filters, in the chosen order; the table goes back to its first page."""
    if st.table is None:
        return {"page_info": "Open a results file first."}
    query = Query(task=task or None, data_type=data_type or None, score_min=_number(score_min),
                  score_max=_number(score_max), search=search or "", errors_only=bool(errors_only),
                  sort=SORTS.get(sort, sort if sort in SORTS.values() else "worst"))
    st.order = st.table.select(query)
    st.pos = _position(st, st.view.index) if st.view is not None else None
    return _page(st, 0)


def go_page(st: Inspection, page: Any) -> dict[str, Any]:
    if st.table is None:
        return {"page_info": "Open a results file first."}
    return _page(st, int(_number(page) or 1) - 1)


def _pages(st: Inspection) -> int:
    return max(1, -(-len(st.order) // PAGE_SIZE))


def _page(st: Inspection, page: int) -> dict[str, Any]:
    """The table's rows for ``page`` (0-based, clamped) of the rows the filters keep."""
    pages = _pages(st)
    page = min(max(0, page), pages - 1)
    start = page * PAGE_SIZE
    rows = []
    for k, i in enumerate(st.order[start:start + PAGE_SIZE].tolist()):
        b = st.table.brief(i)
        rows.append([start + k + 1, i, b["problem_id"], b["task"], b["data_type"], b["question"], b["prediction"],
                     None if b["score"] is None else round(b["score"], 3), b["error"] or ""])
    total, n = len(st.order), len(st.table)
    info = f"{total:,} of {n:,} rows match · page {page + 1} of {pages}"
    if not total:
        info = f"No row of {n:,} matches the filters."
    st.page = page
    return {"table": rows, "page": page + 1, "page_info": info}


def _position(st: Inspection, index: int) -> int | None:
    hit = np.flatnonzero(st.order == index)
    return int(hit[0]) if len(hit) else None


# ------------------------------------------------------------------------------------------------
# One row


DETAIL_KEYS = ("header", "question", "reasoning", "prediction", "truth", "metrics", "warnings", "overlay",
               "video", "thumbs", "media_image", "media_video", "correction", "row_number", "save_status")


PAGE_KEYS = ("table", "page", "page_info")
ROW_KEYS = (*DETAIL_KEYS, *PAGE_KEYS)  # the outputs of showing a row, in order (the API's too)
OPENED_KEYS = ("status", "summary", "plot", "task", "data_type", "score_min", "score_max", "errors_only", "sort",
               "search", *PAGE_KEYS, *DETAIL_KEYS)


def _cleared() -> dict[str, Any]:
    return {"header": "Choose a row in the table (or press **Next**).", "question": "", "reasoning": "",
            "prediction": "", "truth": "", "metrics": "", "warnings": "", "overlay": None, "video": None,
            "thumbs": [], "media_image": None, "media_video": None, "correction": "", "row_number": None,
            "save_status": ""}


def show(ctx: AppContext, st: Inspection, pos: Any) -> dict[str, Any]:
    """Show the row at position ``pos`` (0-based) of the filtered rows; the table follows to its page."""
    if st.table is None:
        return {"header": "Open a results file first."}
    if not len(st.order):
        return {"header": "No row matches the filters."}
    p = _number(pos)
    p = 0 if p is None else min(max(0, int(p)), len(st.order) - 1)
    st.pos = p
    view = st.table.view(int(st.order[p]), st.media_root)
    st.view = view
    out = {**_cleared(), **_detail(ctx, st, view)}
    if st.page != p // PAGE_SIZE:
        out.update(_page(st, p // PAGE_SIZE))
    return out


def step(ctx: AppContext, st: Inspection, delta: int) -> dict[str, Any]:
    """The next (+1) or previous (−1) row; from no row, the first."""
    if st.table is None:
        return {"header": "Open a results file first."}
    return show(ctx, st, 0 if st.pos is None else st.pos + delta)


def pick(ctx: AppContext, st: Inspection, row_value: list | None) -> dict[str, Any]:
    """A click in the table: its first column is the row's position (1-based)."""
    if not row_value or _number(row_value[0]) is None:
        return {}
    return show(ctx, st, int(_number(row_value[0])) - 1)


def _detail(ctx: AppContext, st: Inspection, v: Any) -> dict[str, Any]:
    r = v.row
    score = r.get("accuracy")
    head = [f"**Result {st.pos + 1:,} of {len(st.order):,}** · file row {v.index} · problem_id "
            f"`{r.get('problem_id')}` · {r.get('problem_type')} · {r.get('data_type')} · score "
            + (f"**{score:.3f}**" if isinstance(score, (int, float)) and not isinstance(score, bool) else "none")]
    if v.error:
        head.append(f"❌ **{v.error.get('kind')}**: {v.error.get('message')}")
    for m in v.media:
        if not m.ok and (not v.error or m.error != v.error.get("message")):
            head.append(f"⚠️ {m.error}")
    question = v.question or "(no question)"
    if v.options:
        question += "\n\n" + "\n".join(f"- {o}" for o in v.options)
    a = v.answer
    prediction = (a.answer_text if a is not None and a.answer_text else r.get("prediction")) or "(no answer)"
    out: dict[str, Any] = {
        "header": "  \n".join(head), "question": question,
        "reasoning": (a.think if a is not None else "") or "(no reasoning)",
        "prediction": str(prediction), "truth": _truth_line(v), "metrics": _metrics(v),
        "correction": review.truth_text(v), "row_number": st.pos + 1,
    }
    notes = list(v.warnings)
    try:
        res = review.draw(v, _options(ctx))
    except (MediaError, OSError) as e:
        res = None
        notes.append(f"the overlay cannot be drawn: {e}")
    if res is not None:
        image, video, thumbs = views.overlay_views(res)
        out.update(overlay=image, video=video, thumbs=thumbs)
        notes += [w for w in res.warnings if not w.startswith("prediction: ") and w not in notes]
    else:
        out.update(_plain_media(ctx, v, notes))
    if v.truth_masks is not None:
        if v.predicted_masks is None:
            notes.append("the predicted masks are not in the results file (scored elsewhere, or not segmented): the "
                         "answer's prompt (box, points) is drawn over the ground-truth masks")
        notes.append("a correction starts from the answer's prompt (the ground truth is a mask), so edit its box "
                     "and points before saving")
    out["warnings"] = "\n".join(f"- {w}" for w in notes) if notes else "No parse warnings."
    ctx.outputs.prune()
    return out


def _options(ctx: AppContext):
    from dataclasses import replace

    return replace(review.REVIEW_OPTIONS, out_dir=str(ctx.outputs.root))


def _truth_line(v: Any) -> str:
    if v.truth_masks is not None:
        gt = v.truth_masks
        frames = f"{len(gt.masks)} annotated frame{'s' if len(gt.masks) != 1 else ''}" if gt.fps else "one mask"
        return f"ground-truth mask: {frames} at {gt.width}×{gt.height}"
    if v.truth is not None and v.truth.payload is not None:
        return v.truth.payload.answer_text()
    sol = v.row.get("solution")
    return str(sol) if sol is not None else "(no ground truth)"


def _metrics(v: Any) -> str:
    parts = []
    for k in ("accuracy", "format"):
        x = v.metrics.get(k)
        if isinstance(x, (int, float)) and not isinstance(x, bool):
            parts.append(f"{k} **{x:.3f}**")
    for name in ("components", "reward"):
        d = v.metrics.get(name)
        if isinstance(d, dict):
            parts += [f"{k} {x:.3f}" if isinstance(x, (int, float)) else f"{k} {x}" for k, x in d.items()]
    return ("**Row metrics:** " + " · ".join(parts)) if parts else "**Row metrics:** none recorded"


def _plain_media(ctx: AppContext, v: Any, notes: list[str]) -> dict[str, Any]:
    """The row's media as they are, for tasks with nothing to draw: the image, and the video copied to
    the output folder (only files resolved inside the media root are read)."""
    out: dict[str, Any] = {}
    dt = str(v.row.get("data_type") or "").lower()
    for k, m in enumerate(v.media):
        if not m.ok:
            continue
        is_video = dt.startswith("video") and k == 0
        try:
            if is_video:
                if m.path.stat().st_size > MAX_VIDEO_COPY_MB * 2**20:
                    notes.append(f"the video is larger than {MAX_VIDEO_COPY_MB} MB and is not shown")
                    continue
                dest = ctx.outputs.path("inspect-media", m.path.suffix.lower() or ".mp4")
                shutil.copyfile(m.path, dest)
                out["media_video"] = dest
            else:
                from onethinker.media.images import open_image

                with open_image(m.path) as im:
                    out["media_image"] = np.asarray(im.convert("RGB"))
        except (MediaError, OSError) as e:
            notes.append(f"the {'video' if is_video else 'image'} cannot be shown: {e}")
    return out


# ------------------------------------------------------------------------------------------------
# Corrections


def save(ctx: AppContext, st: Inspection, session: Session, text: str, keep_reasoning: bool,
         comment: str) -> str:
    """Store the answer in the form (the ground truth, or as edited) as a correction of the row shown."""
    v = st.view
    if v is None:
        return "⚠️ Choose a row first."
    try:
        fb = review.correction(v, text, keep_reasoning, comment)
        run = review.as_run(v, st.table.meta)
        rid = ctx.store.add(make_record(ctx.store, [run], fb, session.id))
    except FeedbackError as e:
        return f"❌ Not saved — {e}"
    except (MediaError, OSError) as e:
        return f"❌ Not saved — the media could not be stored: {e}"
    return f"✅ Saved correction as record #{rid}: `{fb.payload.answer_text()[:200]}`"


# ------------------------------------------------------------------------------------------------
# Layout


KEYS_JS = """
() => {
  if (window.__onethinkerInspectKeys) return;
  window.__onethinkerInspectKeys = true;
  const ids = {"%s": "inspect-next", "%s": "inspect-prev"};
  document.addEventListener("keydown", (e) => {
    if (e.ctrlKey || e.metaKey || e.altKey || !(e.key in ids)) return;
    const t = e.target, tag = (t && t.tagName) || "";
    if (tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || (t && t.isContentEditable)) return;
    let b = document.getElementById(ids[e.key]);
    if (b && b.tagName !== "BUTTON") b = b.querySelector("button");
    if (!b || b.offsetParent === null) return;  // the Inspect tab is not the one shown
    e.preventDefault();
    b.click();
  });
}
""" % (NEXT_KEY, PREV_KEY)


def build(ctx: AppContext, page: Any) -> None:
    session = page.session
    root = results_root(ctx)
    with gr.Tab("Inspect", id="inspect"):
        state = gr.State(new_inspection, time_to_live=2 * 3600)  # a factory: a dataclass type would be config
        gr.Markdown("Open a results file (`python -m onethinker.eval`, the official scripts', or any JSON / JSONL "
                    "rows with the same fields), find the failures, see each one drawn against the ground truth, "
                    "and save the right answer as a correction.  No model is needed.")
        with gr.Row(equal_height=False):
            upload = gr.File(label="Upload a results file", file_types=[".json", ".jsonl"], type="filepath",
                             height=120, elem_id="inspect-upload")
            with gr.Column():
                path = gr.Textbox(label=f"…or a results file under the results root ({root})",
                                  placeholder="refcoco_val.json", elem_id="inspect-path")
                media = gr.Textbox(label="Media folder under the results root (empty: the file's own, else the root)",
                                   elem_id="inspect-media")
                with gr.Row():
                    open_btn = gr.Button("Open", variant="primary", elem_id="inspect-open")
                    example_btn = gr.Button("Open the example results", elem_id="inspect-example")
        status = gr.Markdown(elem_id="inspect-status")
        with gr.Row(equal_height=False):
            summary = gr.Dataframe(headers=SUMMARY_COLUMNS, label="Per task (mIoU: mean of the task's main "
                                   "component, named under 'of')", interactive=False, elem_id="inspect-summary",
                                   scale=3)
            plot = gr.Plot(label="Accuracy, R@0.5 and mIoU per task", format="png", elem_id="inspect-plot", scale=2)
        with gr.Row():
            task = gr.Dropdown([("all tasks", "")], value="", label="Task", elem_id="inspect-task")
            data_type = gr.Dropdown([("all data types", "")], value="", label="Data type", elem_id="inspect-data-type")
            score_min = gr.Number(None, label="Score ≥", minimum=0, maximum=1, elem_id="inspect-score-min")
            score_max = gr.Number(None, label="Score ≤", minimum=0, maximum=1, elem_id="inspect-score-max")
            errors_only = gr.Checkbox(False, label="Errors only", elem_id="inspect-errors")
            sort = gr.Dropdown(list(SORTS), value="worst first", label="Sort", elem_id="inspect-sort")
            search = gr.Textbox(label="Search question and prediction (Enter)", scale=2, elem_id="inspect-search")
        table = gr.Dataframe(headers=COLUMNS, label="Rows (click one to inspect it)", interactive=False, wrap=True,
                             max_height=420, column_widths=COLUMN_WIDTHS, elem_id="inspect-table")
        with gr.Row():
            prev_page = gr.Button("◀ Page", size="sm", scale=0, elem_id="inspect-prev-page")
            page_no = gr.Number(1, label="Page (Enter)", precision=0, minimum=1, scale=0, elem_id="inspect-page")
            next_page = gr.Button("Page ▶", size="sm", scale=0, elem_id="inspect-next-page")
            page_info = gr.Markdown(elem_id="inspect-page-info")
        gr.Markdown(f"### The row\nKeys (outside a text field): **{NEXT_KEY}** next, **{PREV_KEY}** previous; "
                    "or type a result number and press Enter.")
        with gr.Row():
            prev_btn = gr.Button(f"◀ Previous ({PREV_KEY})", elem_id="inspect-prev")
            row_number = gr.Number(None, label="Result # (Enter)", precision=0, minimum=1, elem_id="inspect-row")
            next_btn = gr.Button(f"Next ({NEXT_KEY}) ▶", elem_id="inspect-next")
        header = gr.Markdown("Open a results file.", elem_id="inspect-header")
        with gr.Row(equal_height=False):
            with gr.Column(scale=5):
                question = gr.Markdown(elem_id="inspect-question")
                reasoning = gr.Textbox(label="Reasoning", lines=4, max_lines=12, interactive=False,
                                       elem_id="inspect-reasoning")
                prediction = gr.Textbox(label="Prediction", interactive=False, elem_id="inspect-prediction")
                truth = gr.Textbox(label="Ground truth", interactive=False, elem_id="inspect-truth")
                metrics = gr.Markdown(elem_id="inspect-metrics")
                warnings_md = gr.Markdown(elem_id="inspect-warnings")
            with gr.Column(scale=6):
                overlay = gr.Image(label="Prediction (orange) and ground truth (blue)", interactive=False,
                                   format="png", visible=False, elem_id="inspect-overlay")
                video = gr.Video(label="Prediction (orange) and ground truth (blue)", interactive=False,
                                 visible=False, elem_id="inspect-video")
                thumbs = gr.Gallery(label="Start, middle and end of the span", columns=3, height=160,
                                    visible=False, elem_id="inspect-thumbs")
                media_image = gr.Image(label="Image", interactive=False, visible=False, elem_id="inspect-media-image")
                media_video = gr.Video(label="Video", interactive=False, visible=False, elem_id="inspect-media-video")
        with gr.Accordion("Save as correction", open=True):
            correction = gr.Textbox(label="Corrected answer (the ground truth; edit it if it is wrong)",
                                    elem_id="inspect-correction")
            with gr.Row():
                reset = gr.Button("Reset to the ground truth", size="sm", scale=0, elem_id="inspect-reset")
                keep = gr.Checkbox(False, label="The reasoning was sound: keep it in front of the corrected answer")
                comment = gr.Textbox(label="Comment (optional)", elem_id="inspect-comment")
            save_btn = gr.Button("Save as correction", variant="primary", elem_id="inspect-save")
            save_status = gr.Markdown(elem_id="inspect-save-status")

    w = {"status": status, "summary": summary, "plot": plot, "task": task, "data_type": data_type,
         "score_min": score_min, "score_max": score_max, "errors_only": errors_only, "sort": sort, "search": search,
         "table": table, "page": page_no, "page_info": page_info, "header": header, "question": question,
         "reasoning": reasoning, "prediction": prediction, "truth": truth, "metrics": metrics,
         "warnings": warnings_md, "overlay": overlay, "video": video, "thumbs": thumbs, "media_image": media_image,
         "media_video": media_video, "correction": correction, "row_number": row_number,
         "save_status": save_status}
    shown_if_set = ("overlay", "video", "thumbs", "media_image", "media_video")
    opened_out, page_out, row_out = ([w[k] for k in keys] for keys in (OPENED_KEYS, PAGE_KEYS, ROW_KEYS))

    def widgets(values: dict[str, Any]) -> dict:
        """Handler values to widget updates; empty media panels are hidden."""
        out = {}
        for k, v in values.items():
            if k in shown_if_set:
                empty = v is None or (isinstance(v, list) and not v)
                out[w[k]] = gr.update(value=v, visible=not empty)
            else:
                out[w[k]] = v
        return out

    cheap = dict(concurrency_id="inspect", concurrency_limit=8)
    private = dict(api_visibility="private", **cheap)

    # named functions: their parameter names are the API's (gradio_client, "Use via API")
    def open_file(st: Inspection, results_file: str, media_folder: str):
        return widgets(open_path(ctx, st, results_file, media_folder))

    def upload_file(st: Inspection, file: str | None, media_folder: str):
        return widgets(open_upload(ctx, st, file, media_folder))

    def example(st: Inspection):
        return widgets(open_example(st))

    def filtered(st: Inspection, task: str, data_type: str, score_min: float | None, score_max: float | None,
                 errors_only: bool, sort: str, search: str):
        return widgets(apply_filters(st, task, data_type, score_min, score_max, errors_only, sort, search))

    def to_page(st: Inspection, page: float | None):
        return widgets(go_page(st, page))

    def show_result(st: Inspection, result: float | None):
        return widgets(show(ctx, st, (result or 1) - 1))

    def next_row(st: Inspection):
        return widgets(step(ctx, st, 1))

    def previous_row(st: Inspection):
        return widgets(step(ctx, st, -1))

    def picked(st: Inspection, evt: gr.SelectData):
        return widgets(pick(ctx, st, evt.row_value))

    def save_correction(st: Inspection, s: Session, answer: str, keep_reasoning: bool, comment: str):
        return save(ctx, st, s, answer, keep_reasoning, comment)

    opened = dict(outputs=opened_out, **cheap)
    open_btn.click(open_file, [state, path, media], api_name="inspect_open", **opened)
    path.submit(open_file, [state, path, media], api_visibility="private", **opened)
    upload.upload(upload_file, [state, upload, media], api_name="inspect_upload", **opened)
    example_btn.click(example, [state], api_name="inspect_example", **opened)
    filters = [state, task, data_type, score_min, score_max, errors_only, sort, search]
    for comp in (task, data_type, errors_only, sort):
        comp.input(filtered, filters, page_out, **private)
    for ev in (score_min.submit, score_max.submit, score_min.blur, score_max.blur):
        ev(filtered, filters, page_out, **private)
    search.submit(filtered, filters, page_out, api_name="inspect_filter", **cheap)
    page_no.submit(to_page, [state, page_no], page_out, api_name="inspect_page", **cheap)
    prev_page.click(lambda st, p: to_page(st, (p or 1) - 1), [state, page_no], page_out, **private)
    next_page.click(lambda st, p: to_page(st, (p or 1) + 1), [state, page_no], page_out, **private)
    table.select(picked, [state], row_out, **private)
    row_number.submit(show_result, [state, row_number], row_out, api_name="inspect_show", **cheap)
    next_btn.click(next_row, [state], row_out, api_name="inspect_next", **cheap)
    prev_btn.click(previous_row, [state], row_out, api_name="inspect_previous", **cheap)
    reset.click(lambda st: review.truth_text(st.view) if st.view is not None else "", [state], [correction],
                **private)
    save_btn.click(save_correction, [state, session, correction, keep, comment], [save_status],
                   api_name="inspect_save", concurrency_id="feedback", concurrency_limit=8)
    page.demo.load(None, None, None, js=KEYS_JS)
