"""The Run tab: media and question in, reasoning and answer streamed out, the answer drawn live.

The handlers are plain functions of the app context and the widgets' values, so tests call them
directly; :func:`build` lays the widgets out and wires the events.  The run keeps core values only:
the engine's ``Request`` and ``TextStream``, ``parse(..., final=False)`` while streaming, a ``Run``
and a ``RenderResult`` when done (in the session's ``gr.State``).
"""

from __future__ import annotations

import dataclasses
import time
import warnings
from typing import Any

import gradio as gr
from gradio_image_annotation import image_annotator

from components import views
from components.context import AppContext, ModelUnavailable, Session
from components.page import enable_when_ended
from components.widgets import ImageInput
from onethinker.answer import parse
from onethinker.edit import Canvas, box_from_pixels, canvas
from onethinker.engine import DEFAULT_MAX_NEW_TOKENS, EngineError, InputError, Request, SamplingParams, build_messages
from onethinker.feedback import FeedbackError
from onethinker.media.probe import MediaError
from onethinker.media.sampling import IMAGE_MAX_PIXELS, VideoSampling
from onethinker.render.preview import preview
from onethinker.rewards import score
from onethinker.runs import Run, parse_truth
from onethinker.tasks import IMAGE, TASKS, VIDEO, get_task, tasks_for, tracking_question

OFFICIAL_VIDEO = VideoSampling.official()
OFFICIAL_SAMPLING = SamplingParams()
OFFICIAL_IMAGE_MAX_PIXELS = IMAGE_MAX_PIXELS
TEXT_EVERY_S = 0.08  # at most ~12 text updates a second
PREVIEW_EVERY_S = 0.3  # at most ~3 overlay updates a second


# ------------------------------------------------------------------------------------------------
# Building the request


def data_type_of(image: str | None, video: str | None) -> str | None:
    if image and video:
        return "video-image"
    return VIDEO if video else IMAGE if image else None


def task_choices(image: str | None, video: str | None) -> list[tuple[str, str]]:
    """(title, id) of the tasks valid for the media given (all of them when there is none yet)."""
    dt = data_type_of(image, video)
    tasks = tasks_for(dt) if dt else list(TASKS.values())
    return [(t.title, t.id) for t in tasks]


def options_list(text: str | None) -> list[str] | None:
    lines = [ln.strip() for ln in (text or "").splitlines() if ln.strip()]
    return lines or None


def track_box_grid(track_box: dict | None) -> tuple[float, ...] | None:
    """The first-frame box drawn for tracking, on the 0–1000 grid (None when none is drawn)."""
    if not track_box or not track_box.get("boxes") or track_box.get("image") is None:
        return None
    import numpy as np

    return box_from_pixels(track_box["boxes"][-1], Canvas(np.asarray(track_box["image"])), "object box")


def question_text(task: str, question: str, track_object: str | None, track_box: dict | None) -> str:
    """The question as sent: for tracking, the object's description and its first-frame box."""
    if task == "tracking" and ((track_object or "").strip() or (track_box or {}).get("boxes")):
        base = (track_object or "").strip() or question
        return tracking_question(base, track_box_grid(track_box))
    return question or ""


def build_request(ctx: AppContext, image: str | None, video: str | None, task: str, question: str,
                  options: str | None, track_object: str | None = None, track_box: dict | None = None,
                  temperature: float = 0.0, top_p: float = 1.0, max_new_tokens: int = DEFAULT_MAX_NEW_TOKENS,
                  seed: float | None = None, fps: float = OFFICIAL_VIDEO.fps, max_frames: int = OFFICIAL_VIDEO.max_frames,
                  max_pixels: int = OFFICIAL_VIDEO.max_pixels,
                  image_max_pixels: int = OFFICIAL_IMAGE_MAX_PIXELS) -> Request:
    """The engine request for the form's values; raises :class:`InputError` with a sentence to show."""
    if not image and not video:
        raise InputError("attach an image or a video first (or pick an example)")
    if not task:
        raise InputError("choose a task")
    try:
        t = get_task(task)
    except ValueError as e:
        raise InputError(str(e)) from None
    try:
        q = question_text(t.id, question, track_object, track_box)
    except (FeedbackError, ValueError) as e:
        raise InputError(f"the object's first-frame box cannot be used: {e}") from None
    try:
        sampling = SamplingParams(
            temperature=0.0 if temperature is None else float(temperature),
            top_p=1.0 if top_p is None else float(top_p),
            max_new_tokens=DEFAULT_MAX_NEW_TOKENS if max_new_tokens is None else int(max_new_tokens),
            seed=None if seed in (None, "") else int(seed)).validate()
    except (TypeError, ValueError) as e:
        raise InputError(f"a sampling setting is not a number ({e})") from None
    vs = None
    if (fps, max_frames, max_pixels) != (OFFICIAL_VIDEO.fps, OFFICIAL_VIDEO.max_frames, OFFICIAL_VIDEO.max_pixels):
        if not (fps and fps > 0 and max_frames and max_frames >= 2 and max_pixels and max_pixels > 0):
            raise InputError("video fps, max frames (≥ 2) and max pixels per frame must be positive")
        vs = dataclasses.replace(OFFICIAL_VIDEO, fps=float(fps), max_frames=int(max_frames), max_pixels=int(max_pixels))
    img_max = None
    if image_max_pixels and int(image_max_pixels) != OFFICIAL_IMAGE_MAX_PIXELS:
        img_max = int(image_max_pixels)
    return Request(q, t.id, options_list(options) if t.id == "multiple choice" else None, image=image or None,
                   video=video or None, sampling=sampling, templates=ctx.models.templates, video_sampling=vs,
                   image_max_pixels=img_max)


def with_model_templates(ctx: AppContext, req: Request) -> Request:
    """The request with the prompt templates of the model that will answer it (a fallback model may
    ship its own), known only once the model is chosen."""
    t = ctx.models.templates
    return req if req.templates is t else dataclasses.replace(req, templates=t)


def prompt_preview(ctx: AppContext, image, video, task, question, options, track_object=None, track_box=None) -> str:
    """The exact user text that will be sent (``build_messages``), or why it cannot be built yet."""
    try:
        req = build_request(ctx, image, video, task, question, options, track_object, track_box)
        _, prompt, _ = build_messages(req)
        return prompt
    except EngineError as e:
        return f"(cannot build the prompt yet: {e})"


# ------------------------------------------------------------------------------------------------
# Running


OUTPUT_KEYS = ("status", "chat", "answer", "overlay", "video", "thumbs", "notes", "seen", "download", "frames")
# panels on show only when they have something to show (built hidden), with their empty values
PANELS: dict[str, Any] = {"overlay": None, "video": None, "thumbs": [], "download": None, "frames": []}
TEXTS = ("status", "chat", "answer", "notes", "seen")


def _out(**kw: Any) -> dict[str, Any]:
    unknown = set(kw) - set(OUTPUT_KEYS)
    assert not unknown, unknown
    return kw


def _empty(value: Any) -> bool:
    return value is None or (isinstance(value, list) and not value)


class Outputs:
    """Turns the handler's updates (some keys of :data:`OUTPUT_KEYS`) into one value per output widget,
    sent as cheaply as gradio allows.

    Gradio rebuilds a component and its whole config for every ``gr.update`` or ``gr.skip`` in an
    update (1–5 ms each, measured), while a plain value costs ~0.1 ms.  So:

    * a panel's visibility is sent only when it changes (``visible`` lives in the session: it outlives
      the run); a panel that empties is emptied at once with a plain value and hidden with the next
      update (or :meth:`flush`), so clearing the last run never delays the first token;
    * an output the update leaves alone is re-sent as its current plain value when that is cheap (text,
      or a hidden panel's empty value; gradio sends a generator's unchanged values as empty diffs);
      only a picture on show is skipped.
    """

    def __init__(self, visible: set[str]):
        self.visible = visible
        self.current: dict[str, Any] = {}
        self.hide: set[str] = set()  # emptied panels still on show

    def update(self, changes: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        due, self.hide = self.hide, set()
        for k in OUTPUT_KEYS:
            if k in changes:
                value = self.current[k] = changes[k]
                if k in PANELS and not _empty(value) and k not in self.visible:
                    self.visible.add(k)
                    value = gr.update(value=value, visible=True)
                elif k in PANELS and _empty(value) and k in self.visible:
                    if k in due:
                        value = self._hidden(k)
                    else:
                        self.hide.add(k)
                out[k] = value
            elif k in due:
                out[k] = self._hidden(k)
            elif k in TEXTS and k in self.current:
                out[k] = self.current[k]
            elif k in PANELS and k not in self.visible:
                out[k] = PANELS[k]
            else:
                out[k] = gr.skip()  # a picture on show, or text this run has not set
        return out

    def flush(self) -> dict[str, Any] | None:
        """The update that hides the panels still waiting to be hidden, or None."""
        return self.update({}) if self.hide else None

    def _hidden(self, k: str) -> Any:
        self.visible.discard(k)
        return gr.update(value=PANELS[k], visible=False)


def run_stream(ctx: AppContext, session: Session, req_args: dict, truth_text: str = "", progress: Any = None):
    """Generator of output dicts (keys from :data:`OUTPUT_KEYS`) for one run; stores the Run in ``session``.

    Yields the reasoning and the answer as they stream (at most every :data:`TEXT_EVERY_S`), the
    live overlay whenever the partial answer yields something new to draw (at most every
    :data:`PREVIEW_EVERY_S`), and finally the full overlay, notes, what the model saw and the download.
    """
    report = progress or (lambda *a, **k: None)
    try:
        req = build_request(ctx, **req_args)
    except EngineError as e:
        session.pending = False
        yield _out(status=f"⚠️ {e}")
        return
    if session.stop_requested:
        session.pending = session.stop_requested = False
        yield _out(status="⏹ stopped before the run started")
        return
    clear = dict(PANELS, notes="", seen="")  # the last run's outputs go with the first update
    if not ctx.models.ready:  # loading takes a while: say so at once (and clear the last run's outputs)
        yield _out(status=f"⏳ loading the model · {ctx.models.status().name}",
                   chat=views.chat_messages(req.question, None), answer="", **clear)
        clear = {}
    try:
        backend = ctx.models.backend(lambda f, m: report(f, desc=m))
        req = with_model_templates(ctx, req)
        stream = backend.stream(req)  # started before anything else is sent: the first token is not delayed
    except ModelUnavailable as e:
        session.pending = False
        yield _out(status=f"❌ {e}", **clear)
        return
    except (EngineError, MediaError) as e:
        session.pending = False
        yield _out(status=f"⚠️ {e}", **clear)
        return
    session.stream = stream
    model = stream.sent.model
    rate = views.Rate()
    last_text = last_pic = 0.0
    drawn = None
    media = _preview_media(req)
    source = None
    error = None
    try:
        for _delta in stream:
            rate.add()
            now = time.perf_counter()
            if now - last_text < TEXT_EVERY_S:
                continue
            ans = parse(stream.text, stream.sent.task, data_type=stream.sent.data_type, final=False)
            chat = views.chat_messages(req.question, ans)
            if len(chat) < 2:  # nothing of the model's to show yet (half a tag): the next delta may have it
                continue
            last_text = now
            update = _out(status=rate.line(ans.phase, model), chat=chat, answer=ans.answer_text or "", **clear)
            clear = {}
            if ans.payload is not None and ans.payload != drawn and now - last_pic >= PREVIEW_EVERY_S and media:
                try:
                    if source is None and media[1] == VIDEO:
                        from onethinker.media.frames import FrameSource

                        source = FrameSource.open(media[0])
                    pic = preview(ans, media[0], source=source)
                    if pic is not None:
                        update["overlay"] = pic.image
                        drawn, last_pic = ans.payload, now
                except (MediaError, OSError):
                    media = None  # the final render reports the problem
            yield update
    except EngineError as e:
        error = str(e)
    finally:
        if not stream.done:  # the page went away (or gradio cancelled the event): free the model now
            stream.close()
        session.stream = None
        session.pending = session.stop_requested = False
    run = Run.from_stream(req, stream, error)
    yield from finish(ctx, session, run, truth_text, report)


def finish(ctx: AppContext, session: Session, run: Run, truth_text: str, report: Any):
    """The outputs of a finished run: parsed answer, full overlay, notes, what the model saw, download."""
    session.run, session.render = run, None
    truth = parse_truth(truth_text, run.task, run.data_type)
    session.truth = truth
    base = _out(status=views.finished_line(run), chat=views.chat_messages(run.request.question, run.answer),
                answer=run.answer.answer_text or "", seen=views.seen_markdown(run.sent),
                download=run.write_bundle(ctx.outputs.path("onethinker-run", ".json")))
    if run.answer.payload is not None and _preview_media(run.request) is not None:
        yield {**base, "status": base["status"] + " · drawing the overlay…"}
    scored = score(run.text, truth_text, run.task, run.data_type) if truth is not None else None
    res = no_masks = None
    try:
        res, no_masks = views.render_run(run, str(ctx.outputs.root), truth, ctx.segmenters,
                                         lambda done, total: report(done / max(total, 1), desc="drawing the overlay"))
    except (MediaError, OSError) as e:
        base["status"] += f"  \n⚠️ the overlay cannot be drawn: {e}"
    session.render = res
    image, video, thumbs = views.overlay_views(res)
    try:
        frames = views.seen_gallery(run.sent)
    except (MediaError, OSError):
        frames = []  # the media went away since the run: the sizes and times above still say what was seen
    ctx.outputs.prune()
    yield {**base, "overlay": image, "video": video, "thumbs": thumbs, "frames": frames,
           "notes": views.notes(run, res, truth, scored, no_masks)}


def _preview_media(req: Request) -> tuple[str, str] | None:
    return views.media_for(req) if views.draws(req.task, req.data_type) else None


def first_frame(video: str | None, task: str) -> dict | None:
    """The annotator value for drawing the tracked object's box on the video's first frame."""
    if not video or task != "tracking":
        return None
    try:
        c = canvas(video, VIDEO, 0.0)
    except (MediaError, OSError):
        return None
    return {"image": c.image, "boxes": []}


# ------------------------------------------------------------------------------------------------
# Layout


def _example_rows(ctx: AppContext) -> list[list[Any]]:
    rows = []
    for ex in ctx.examples():
        rows.append([ex.get("image"), ex.get("video"), ex["task"], ex["question"], "\n".join(ex.get("options") or []),
                     _object_text(ex), ex.get("truth", "")])
    return rows


def _object_text(ex: dict) -> str:
    if ex["task"] != "tracking" or not ex.get("object_box"):
        return ""
    return tracking_question(ex["question"], ex["object_box"])


def build(ctx: AppContext, page: Any) -> None:
    """The Run tab; sets ``page.run_event`` (the finished run) for the tabs that judge it."""
    session = page.session
    with gr.Tab("Run", id="run"):
        with gr.Row(equal_height=False):
            with gr.Column(scale=5):
                with gr.Row():
                    # image_mode=None: the file goes to the engine as uploaded (gradio would re-encode an RGBA
                    # or palette image, dropping transparency onto black; the engine flattens it onto white)
                    image = ImageInput(type="filepath", image_mode=None, label="Image", sources=["upload", "clipboard"],
                                       height=260, elem_id="run-image")
                    video = gr.Video(label="Video", sources=["upload"], height=260, elem_id="run-video")
                # custom values pass gradio's own check: an example may set its task before the media it
                # brings has narrowed the list; the engine refuses a task that does not fit, in words
                task = gr.Dropdown(task_choices(None, None), value="spatial grounding", label="Task",
                                   allow_custom_value=True, elem_id="run-task")
                question = gr.Textbox(label="Question", lines=2, placeholder="Where is the blue square?",
                                      elem_id="run-question")
                options = gr.Textbox(label="Options (one per line, e.g. 'A. red')", lines=4, visible=False,
                                     elem_id="run-options")
                with gr.Group(visible=False) as track_group:
                    track_object = gr.Textbox(label="Object to track (words)", placeholder="the red circle",
                                              elem_id="run-track-object")
                    track_box = image_annotator(label="…or draw its box on the first frame", single_box=True,
                                                disable_edit_boxes=True, sources=[], image_type="numpy", height=300,
                                                show_download_button=False, elem_id="run-track-box")
                truth = gr.Textbox(label="Reference answer (optional): scores the run and is drawn beside it",
                                   placeholder='{"boxes": [100, 200, 400, 800]}', elem_id="run-truth")
                with gr.Accordion("Prompt that will be sent", open=False):
                    prompt = gr.Textbox(show_label=False, lines=6, interactive=False, elem_id="run-prompt")
                with gr.Accordion("Settings (defaults: the official evaluation's)", open=False):
                    with gr.Row():
                        temperature = gr.Slider(0.0, 2.0, value=OFFICIAL_SAMPLING.temperature, step=0.05,
                                                label="Temperature (0 = greedy)")
                        top_p = gr.Slider(0.05, 1.0, value=OFFICIAL_SAMPLING.top_p, step=0.05, label="Top-p")
                    with gr.Row():
                        max_new = gr.Number(DEFAULT_MAX_NEW_TOKENS, label="Max new tokens", precision=0, minimum=1,
                                            elem_id="run-max-new")
                        seed = gr.Number(None, label="Seed (empty = random)", precision=0)
                    with gr.Row():
                        fps = gr.Number(OFFICIAL_VIDEO.fps, label="Video fps")
                        max_frames = gr.Number(OFFICIAL_VIDEO.max_frames, label="Max frames", precision=0)
                        max_px = gr.Number(OFFICIAL_VIDEO.max_pixels, label="Max pixels per frame", precision=0)
                    img_px = gr.Number(OFFICIAL_IMAGE_MAX_PIXELS, label="Image max pixels", precision=0)
                with gr.Row():
                    run_btn = gr.Button("Run", variant="primary", elem_id="run-button")
                    stop_btn = gr.Button("Stop", variant="stop", elem_id="stop-button")
            with gr.Column(scale=6):
                status = gr.Markdown("Attach an image or a video, ask a question, press **Run**.",
                                     elem_id="run-status")
                chat = gr.Chatbot(label="Reasoning and answer", reasoning_tags=[("<think>", "</think>")], height=320,
                                  elem_id="run-chat")
                answer = gr.Textbox(label="Answer", interactive=False, elem_id="run-answer")
                overlay = gr.Image(label="Answer drawn on the media", interactive=False, format="png", visible=False,
                                   elem_id="run-overlay")
                video_out = gr.Video(label="Answer drawn on the video", interactive=False, visible=False,
                                     elem_id="run-video-out")
                thumbs = gr.Gallery(label="Start, middle and end of the span", columns=3, height=160, visible=False,
                                    elem_id="run-thumbs")
                notes = gr.Markdown(elem_id="run-notes")
                with gr.Accordion("What the model saw", open=False):
                    seen = gr.Markdown(elem_id="run-seen")
                    frames = gr.Gallery(label="The frames sent, at their times (or the image)", columns=5,
                                        height="auto", object_fit="contain", visible=False, elem_id="run-frames")
                download = gr.File(label="Download this run (JSON: raw text, parsed answer, what was sent, settings)",
                                   interactive=False, visible=False, elem_id="run-download")
        with warnings.catch_warnings():  # some examples have no image or no video: expected, not a problem
            warnings.filterwarnings("ignore", message="Examples will be cached but not all input components")
            gr.Examples(_example_rows(ctx), [image, video, task, question, options, track_object, truth],
                        outputs=[prompt], fn=lambda *v: prompt_preview(ctx, *v[:6]), cache_examples=True,
                        cache_mode="lazy", label="Examples (one per task, made by examples/make_media.py)",
                        examples_per_page=13)

    outs = {"status": status, "chat": chat, "answer": answer, "overlay": overlay, "video": video_out,
            "thumbs": thumbs, "notes": notes, "seen": seen, "download": download, "frames": frames}
    form = [image, video, task, question, options, track_object, track_box, temperature, top_p, max_new, seed, fps,
            max_frames, max_px, img_px]
    names = ["image", "video", "task", "question", "options", "track_object", "track_box", "temperature", "top_p",
             "max_new_tokens", "seed", "fps", "max_frames", "max_pixels", "image_max_pixels"]

    def on_media(img, vid, current):
        choices = task_choices(img, vid)
        ids = [c[1] for c in choices]
        return gr.update(choices=choices, value=current if current in ids else ids[0])

    def on_task(t, vid):
        return (gr.update(visible=t == "multiple choice"), gr.update(visible=t == "tracking"),
                first_frame(vid, t) if t == "tracking" else gr.skip())

    def on_form(*values):
        return prompt_preview(ctx, *values[:7])

    cheap = dict(concurrency_id="cheap", concurrency_limit=16, api_visibility="private")
    for comp in (image, video):
        comp.change(on_media, [image, video, task], [task], **cheap)
    task.change(on_task, [task, video], [options, track_group, track_box], **cheap)
    video.change(lambda vid, t: first_frame(vid, t), [video, task], [track_box], **cheap)
    for comp in form[:7]:
        comp.change(on_form, form[:7], [prompt], **cheap)

    def start(s: Session):
        s.pending, s.stop_requested = True, False
        return s, gr.update(interactive=False)

    def run_fn(s: Session, truth: str, image: str | None, video: str | None, task: str, question: str, options: str,
               track_object: str, track_box: dict | None, temperature: float, top_p: float, max_new_tokens: int,
               seed: int | None, fps: float, max_frames: int, max_pixels: int, image_max_pixels: int,
               progress=gr.Progress()):
        values = locals()
        args = {n: values[n] for n in names}
        shown = Outputs(s.panels)
        for update in run_stream(ctx, s, args, truth, progress):
            yield {outs[k]: v for k, v in shown.update(update).items()}
        rest = shown.flush()
        if rest is not None:
            yield {outs[k]: v for k, v in rest.items()}

    def stop_fn(s: Session):
        return s.stop()

    clicked = run_btn.click(start, [session], [session, run_btn], queue=False, api_visibility="private")
    page.run_event = clicked.then(run_fn, [session, truth, *form], list(outs.values()), api_name="run",
                                  concurrency_id="model", concurrency_limit=1)
    enable_when_ended(run_btn, page.run_event)
    stop_btn.click(stop_fn, [session], [status], api_name="stop", queue=False)
    page.run_form, page.run_form_names = form, names

