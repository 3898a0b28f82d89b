"""The Correct tab: fix the last run's answer by hand, see it drawn, then save it as a Correction.

Boxes are drawn or dragged in ``gradio_image_annotation`` on the image or on a frame (a slider walks
the seconds of a track, or picks the frame a box about a video is drawn on); segmentation points are
clicked on the picture with a ± switch; a time span is typed or picked on the timeline; other answers
are typed.  :class:`Edit` holds the parts on the 0–1000 grid; every pixel ↔ grid step and the assembly
of the answer is ``onethinker.edit``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import gradio as gr
from gradio_image_annotation import image_annotator

from components import views
from components.context import AppContext, Session
from onethinker import edit as E
from onethinker.feedback import Correction, FeedbackError
from onethinker.media.probe import MediaError
from onethinker.payloads import BoxAnswer, SegmentationPrompt, SpatioTemporal, TimeSpan, Track
from onethinker.render import RenderOptions, render
from onethinker.runs import Run, make_record
from onethinker.tasks import VIDEO, get_task

EDITORS = {BoxAnswer: "box", Track: "track", SpatioTemporal: "track", TimeSpan: "span", SegmentationPrompt: "seg"}


@dataclass
class Edit:
    """A correction in progress: the run it corrects and the answer's parts (grid, seconds)."""

    run: Run
    kind: str  # "box", "track", "span", "seg", "text"
    media: tuple[str, str] | None
    duration: float | None = None
    box: tuple | None = None
    boxes: dict[int, tuple] = field(default_factory=dict)
    span: tuple[float, float] | None = None
    positive: list[tuple] = field(default_factory=list)
    negative: list[tuple] = field(default_factory=list)
    time: float | None = None  # the video frame shown: a box's, or a video segmentation's key frame
    key: int | None = None  # the track key shown
    canvas: E.Canvas | None = None
    picker: E.SpanPicker | None = None

    @property
    def task(self) -> str:
        return self.run.task

    # -- set-up --------------------------------------------------------------------------------
    @classmethod
    def of(cls, run: Run) -> "Edit":
        task = get_task(run.task, run.data_type)
        e = cls(run, EDITORS.get(task.payload, "text"), views.drawing_media(run))
        p = run.answer.payload
        if isinstance(p, BoxAnswer):
            e.box = p.box
        elif isinstance(p, (Track, SpatioTemporal)):
            e.boxes = dict(p.boxes)
        if isinstance(p, (TimeSpan, SpatioTemporal)):
            e.span = (p.start, p.end)
        if isinstance(p, SegmentationPrompt):
            e.box, e.positive, e.negative, e.time = p.box, list(p.positive_points), list(p.negative_points), p.time
        if e.media is not None and e.kind != "text":
            e.canvas = E.canvas(e.media[0], e.media[1], e._canvas_time())
            e.duration = e.canvas.duration
        if e.kind == "track":
            keys = E.track_keys(task, e.duration or 0.0)
            e.key = min(e.boxes) if e.boxes else (keys[0] if keys else 0)
            e._load_canvas()
        if task.payload is SpatioTemporal or e.kind == "span":
            e.span = e.span or (0.0, round(e.duration or 0.0, 2))
        if e.kind == "span" and e.duration:
            e.picker = E.span_picker(e.duration, e.span)
        if e.kind in ("seg", "box") and e.on_video and e.time is None:
            e.time = 0.0
        return e

    @property
    def on_video(self) -> bool:
        return self.media is not None and self.media[1] == VIDEO

    def frame_words(self) -> str:
        """Which frame a box about a video is drawn on ('' for an image, or a track's own seconds)."""
        if self.kind != "box" or not self.on_video or self.canvas is None or self.canvas.time is None:
            return ""
        return f"drawn on the frame at {self.canvas.time:.2f} s"

    def _canvas_time(self) -> float:
        if self.kind == "track" and self.key is not None:
            return E.time_of_key(self.task, self.key)
        return float(self.time or 0.0)

    def _load_canvas(self) -> None:
        if self.media is not None and self.media[1] == VIDEO:
            self.canvas = E.canvas(self.media[0], VIDEO, self._canvas_time())

    # -- what the widgets show -----------------------------------------------------------------
    def current_box(self) -> tuple | None:
        return self.boxes.get(self.key) if self.kind == "track" else self.box

    def annotator_value(self) -> dict | None:
        if self.canvas is None or self.kind not in ("box", "track", "seg"):
            return None
        box = self.current_box()
        px = None if box is None else E.box_to_pixels(box, self.canvas)
        boxes = [] if px is None else [{**px, "label": "answer"}]  # a colour tuple does not survive the round trip
        return {"image": self.canvas.image, "boxes": boxes}

    def points_picture(self):
        if self.canvas is None or self.kind != "seg":
            return None
        return E.prompt_picture(self.canvas, self.box, self.positive, self.negative)

    def keys(self) -> list[int]:
        return E.track_keys(self.task, self.duration or 0.0) if self.kind == "track" else []

    def summary(self) -> str:
        t = get_task(self.task, self.run.data_type)
        now = self.run.answer.answer_text or "(no answer)"
        how = {"box": "Drag or redraw the box.",
               "track": "Pick a second with the slider and drag or redraw its box; clear the box to drop that second.",
               "box-video": "Pick the frame to draw on with the slider, then drag or redraw the box (the answer is "
                            "one box on the 0–1000 grid, whichever frame it is drawn on).",
               "span": "Type the start and end, or click on the timeline (the switch says which one a click sets).",
               "seg": "Drag or redraw the box; click the picture to add points (the switch says + or −).",
               "text": "Type the right answer."}["box-video" if self.kind == "box" and self.on_video else self.kind]
        return f"**Correcting** a {t.title.lower()} answer by `{self.run.model}`: `{now[:300]}`  \n{how}"

    # -- edits ---------------------------------------------------------------------------------
    def set_box(self, value: dict | None) -> None:
        if self.canvas is None:
            return
        boxes = (value or {}).get("boxes") or []
        current = self.current_box()
        if boxes and current is not None and _same_pixels(boxes[-1], E.box_to_pixels(current, self.canvas)):
            return  # the box as shown, unmoved: keep its exact grid values (pixels are coarser than the grid)
        grid = E.box_from_pixels(boxes[-1], self.canvas) if boxes else None
        if self.kind == "track":
            if grid is None:
                self.boxes.pop(self.key, None)
            else:
                self.boxes[self.key] = grid
        else:
            self.box = grid

    def set_key(self, key: int) -> None:
        self.key = int(key)
        self._load_canvas()

    def set_time(self, t: float) -> None:
        self.time = max(0.0, float(t or 0.0))
        self._load_canvas()

    def click(self, x: float, y: float, positive: bool) -> bool:
        p = None if self.canvas is None else E.point_from_pixels(x, y, self.canvas)
        if p is None:
            return False
        (self.positive if positive else self.negative).append(p)
        return True

    def set_span(self, start: float | None, end: float | None) -> None:
        """A missing number (a field being typed) keeps the current value."""
        old = self.span or (0.0, 0.0)
        self.span = (old[0] if start is None else float(start), old[1] if end is None else float(end))
        if self.kind == "span" and self.duration:
            self.picker = E.span_picker(self.duration, self.span)

    def pick(self, x: float, which: str) -> None:
        if self.picker is None:
            return
        t = self.picker.time_at(x)
        start, end = self.span or (0.0, 0.0)
        self.set_span(t, end) if which == "start" else self.set_span(start, t)

    def payload(self, text: str | None):
        """The corrected answer; raises FeedbackError naming the field."""
        return E.corrected(self.task, self.run.data_type, text=text, box=self.box, boxes=self.boxes,
                           span=self.span, positive=self.positive, negative=self.negative, time=self.time,
                           n_options=len(self.run.request.options or ()))


def _same_pixels(box: dict, shown: dict | None) -> bool:
    return shown is not None and all(round(float(box.get(k, -1))) == shown[k] for k in shown)


# ------------------------------------------------------------------------------------------------
# Handlers


LOAD_KEYS = ("summary", "annot", "points", "timeline", "key", "frame", "box_group", "seg_group", "span_group",
             "text", "start", "end", "seg_time")


def start(session: Session) -> dict[str, Any]:
    """Open an editor on the session's last run; returns widget values keyed by :data:`LOAD_KEYS`."""
    run = session.run
    session.correction = None
    session.edit = None
    hidden = {k: gr.update(visible=False) for k in ("key", "frame", "box_group", "seg_group", "span_group", "text")}
    if run is None:
        return {"summary": "Run the model first (Run tab); its answer can then be corrected here.", **hidden}
    try:
        e = Edit.of(run)
    except (MediaError, OSError) as err:
        return {"summary": f"⚠️ The media cannot be shown for editing: {err}", **hidden}
    session.edit = e
    keys = e.keys()
    span = e.span or (None, None)
    p = run.answer.payload
    text = p.answer_text() if p is not None else (run.answer.answer_text or "")
    return {
        "summary": e.summary(), "annot": e.annotator_value(), "points": e.points_picture(),
        "timeline": None if e.picker is None else e.picker.image,
        "key": gr.update(visible=e.kind == "track", minimum=keys[0] if keys else 0,
                         maximum=keys[-1] if keys else 1, value=e.key if e.key is not None else 0),
        "frame": frame_slider(e),
        "box_group": gr.update(visible=e.kind in ("box", "track", "seg")),
        "seg_group": gr.update(visible=e.kind == "seg"),
        "span_group": gr.update(visible=e.span is not None),
        "text": gr.update(visible=e.kind == "text", value=text),
        "start": span[0], "end": span[1],
        "seg_time": gr.update(value=e.time if e.time is not None else 0.0, visible=e.kind == "seg" and e.on_video),
    }


def frame_slider(e: Edit) -> Any:
    """The frame slider of a box about a video: over the video's seconds, its label naming the frame shown."""
    if e.kind != "box" or not e.on_video or e.canvas is None:
        return gr.update(visible=False)
    return gr.update(visible=True, minimum=0.0, maximum=max(round(e.duration or 0.0, 2), 0.1),
                     value=e.time or 0.0, label=f"Frame to draw on (s): box {e.frame_words()}")


def confirm(ctx: AppContext, session: Session, text: str | None) -> tuple[str, Any, Any]:
    """Build and draw the corrected answer; it is what Save will store."""
    e = session.edit
    session.correction = None
    if e is None:
        return "⚠️ Nothing to correct: run the model first.", None, None
    try:
        payload = e.payload(text)
    except FeedbackError as err:
        return f"❌ {err}", None, None
    session.correction = payload
    where = f" ({e.frame_words()})" if e.frame_words() else ""
    msg = f"Corrected answer: `{payload.answer_text()}`{where} — check the drawing, then **Save correction**."
    if e.media is None or e.kind == "text":
        return msg, None, None
    # a box about a video is shown on the frame it was drawn on (the renderer would take the first frame)
    media = e.canvas.image if e.frame_words() else e.media[0]
    try:
        res = render(payload, media, options=RenderOptions(out_dir=str(ctx.outputs.root)))
    except (MediaError, OSError) as err:
        return f"{msg}  \n⚠️ cannot draw it: {err}", None, None
    ctx.outputs.prune()
    image, video, _ = views.overlay_views(res)
    return msg, image, video


def save(ctx: AppContext, session: Session, keep_reasoning: bool, comment: str) -> str:
    e, payload = session.edit, session.correction
    if e is None:
        return "⚠️ Nothing to correct: run the model first."
    if payload is None:
        return "⚠️ Press **Show corrected answer** first and check it; then save."
    try:
        rec = make_record(ctx.store, [e.run], Correction(payload, 0, bool(keep_reasoning), comment or ""), session.id)
        rid = ctx.store.add(rec)
    except FeedbackError as err:
        return f"❌ Not saved — {err}"
    except (MediaError, OSError) as err:
        return f"❌ Not saved — the media could not be stored: {err}"
    where = f" ({e.frame_words()})" if e.frame_words() else ""
    return f"✅ Saved correction as record #{rid}: `{payload.answer_text()}`{where}"


def edited(session: Session) -> None:
    session.correction = None  # what was confirmed is no longer what the form says


# ------------------------------------------------------------------------------------------------
# Layout


def build(ctx: AppContext, page: Any) -> None:
    session = page.session
    with gr.Tab("Correct", id="correct"):
        with gr.Row():
            summary = gr.Markdown("Run the model first (Run tab); its answer can then be corrected here.",
                                  elem_id="correct-summary")
            reload_btn = gr.Button("Correct the last run", size="sm", scale=0, elem_id="correct-reload")
        key = gr.Slider(0, 1, step=1, value=0, label="Second (track key)", visible=False, elem_id="correct-key")
        frame = gr.Slider(0, 1, step=0.1, value=0, label="Frame to draw on (s)", visible=False,
                          elem_id="correct-frame")
        with gr.Group(visible=False) as box_group:
            annot = image_annotator(label="Box (drag a corner, or draw a new one)", single_box=True,
                                    disable_edit_boxes=True, sources=[], image_type="numpy", height=420,
                                    show_download_button=False, elem_id="correct-box")
        with gr.Group(visible=False) as seg_group:
            with gr.Row():
                sign = gr.Radio(["+ positive", "− negative"], value="+ positive", label="A click adds",
                                elem_id="correct-sign")
                seg_time = gr.Number(0.0, label="Key frame (s, videos)", elem_id="correct-seg-time")
                clear_pts = gr.Button("Clear points", elem_id="correct-clear-points")
            points = gr.Image(label="Click to add a point", interactive=False, elem_id="correct-points")
        with gr.Group(visible=False) as span_group:
            with gr.Row():
                start_s = gr.Number(None, label="Start (s)", elem_id="correct-start")
                end_s = gr.Number(None, label="End (s)", elem_id="correct-end")
                which = gr.Radio(["start", "end"], value="start", label="A click on the timeline sets",
                                 elem_id="correct-which")
            timeline = gr.Image(label="Timeline (click to pick a time)", interactive=False, elem_id="correct-timeline")
        text = gr.Textbox(label="Corrected answer", visible=False, elem_id="correct-text")
        with gr.Row():
            keep = gr.Checkbox(False, label="The reasoning was sound: keep it in front of the corrected answer")
            comment = gr.Textbox(label="Comment (optional)", elem_id="correct-comment")
        with gr.Row():
            show_btn = gr.Button("Show corrected answer", elem_id="correct-show")
            save_btn = gr.Button("Save correction", variant="primary", elem_id="correct-save")
        status = gr.Markdown(elem_id="correct-status")
        shown_img = gr.Image(label="Corrected answer drawn", interactive=False, visible=False, elem_id="correct-shown")
        shown_vid = gr.Video(label="Corrected answer drawn", interactive=False, visible=False,
                             elem_id="correct-shown-video")

    cheap = dict(concurrency_id="edit", concurrency_limit=8, api_visibility="private")
    widgets = dict(zip(LOAD_KEYS, [summary, annot, points, timeline, key, frame, box_group, seg_group, span_group,
                                   text, start_s, end_s, seg_time]))

    def load(s: Session):
        return {widgets[k]: v for k, v in start(s).items()}

    page.run_event.then(load, [session], list(widgets.values()), **cheap)
    reload_btn.click(load, [session], list(widgets.values()), api_name="correct_start", concurrency_id="edit",
                     concurrency_limit=8)

    def on_box(s: Session, value):
        if s.edit is not None:
            try:
                s.edit.set_box(value)
            except FeedbackError as err:
                return f"❌ {err}"
            edited(s)
        return gr.skip()

    def on_key(s: Session, k):
        if s.edit is None or s.edit.kind != "track":
            return gr.skip()
        s.edit.set_key(int(k))
        return s.edit.annotator_value()

    def on_frame(s: Session, t):
        e = s.edit
        if e is None or not e.frame_words():
            return gr.skip(), gr.skip()
        e.set_time(t)
        edited(s)  # the confirmation showed another frame
        return e.annotator_value(), frame_slider(e)

    def on_click(s: Session, sgn: str, evt: gr.SelectData):
        e = s.edit
        if e is None or e.kind != "seg":
            return gr.skip(), gr.skip()
        x, y = evt.index[0], evt.index[1]
        if not e.click(x, y, sgn.startswith("+")):
            return gr.skip(), "⚠️ That click is outside the picture."
        edited(s)
        return e.points_picture(), ""

    def on_clear(s: Session):
        if s.edit is None:
            return gr.skip()
        s.edit.positive, s.edit.negative = [], []
        edited(s)
        return s.edit.points_picture()

    def on_seg_time(s: Session, t):
        if s.edit is None or s.edit.kind != "seg" or s.edit.media is None or s.edit.media[1] != VIDEO:
            return gr.skip(), gr.skip()
        s.edit.set_time(t)
        edited(s)
        return s.edit.annotator_value(), s.edit.points_picture()

    def on_span(s: Session, a, b):
        if s.edit is None:
            return gr.skip()
        s.edit.set_span(a, b)
        edited(s)
        return s.edit.picker.image if s.edit.picker is not None else gr.skip()

    def on_pick(s: Session, w: str, evt: gr.SelectData):
        e = s.edit
        if e is None or e.picker is None:
            return gr.skip(), gr.skip(), gr.skip()
        e.pick(evt.index[0], w)
        edited(s)
        return e.span[0], e.span[1], e.picker.image

    annot.change(on_box, [session, annot], [status], **cheap)
    key.release(on_key, [session, key], [annot], **cheap)
    frame.release(on_frame, [session, frame], [annot, frame], **cheap)
    points.select(on_click, [session, sign], [points, status], **cheap)
    clear_pts.click(on_clear, [session], [points], **cheap)
    # user edits only (.input / .submit / .blur): the values set when an editor opens must not echo back
    for ev in (seg_time.submit, seg_time.blur):
        ev(on_seg_time, [session, seg_time], [annot, points], **cheap)
    for comp in (start_s, end_s):
        comp.input(on_span, [session, start_s, end_s], [timeline], **cheap)
    timeline.select(on_pick, [session, which], [start_s, end_s, timeline], **cheap)
    text.input(lambda s: edited(s), [session], None, **cheap)
    def show(s: Session, t: str | None):
        msg, image, video = confirm(ctx, s, t)
        return msg, gr.update(value=image, visible=image is not None), gr.update(value=video, visible=video is not None)

    show_btn.click(show, [session, text], [status, shown_img, shown_vid],
                   api_name="show_correction", concurrency_id="edit", concurrency_limit=8)
    save_btn.click(lambda s, k, c: save(ctx, s, k, c), [session, keep, comment], [status], api_name="save_correction",
                   concurrency_id="feedback", concurrency_limit=8)
