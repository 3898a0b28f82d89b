"""Corrections by hand: what a person draws on a picture, turned into an answer payload on the grid.

An editor shows a :class:`Canvas` (the image, or one video frame, at the size it is drawn), and gives
back pixels of that canvas: a box dragged with the mouse, a point clicked, a time picked on a
timeline.  These functions are the only place such pixels become model coordinates (through
:class:`~onethinker.coords.CoordAdapter`) and the only place a corrected answer is assembled
(:func:`corrected`), checked exactly as the feedback store will check it.  Errors are
:class:`~onethinker.feedback.FeedbackError` naming the field, so a form can say what to fix.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np

from onethinker.coords import CoordAdapter, CoordSystem
from onethinker.feedback.record import FeedbackError
from onethinker.payloads import BoxAnswer, Payload, SegmentationPrompt, SpatioTemporal, Text, TimeSpan, Track
from onethinker.tasks import IMAGE, MAX_TRACK_SECONDS, VIDEO, Task, get_task

FIELD = "feedback.correction"


@dataclass(frozen=True)
class Canvas:
    """The picture a person edits on: RGB pixels and, for a video frame, its time in seconds."""

    image: np.ndarray
    time: float | None = None
    duration: float | None = None  # of the video the frame comes from

    @property
    def width(self) -> int:
        return int(self.image.shape[1])

    @property
    def height(self) -> int:
        return int(self.image.shape[0])

    @property
    def adapter(self) -> CoordAdapter:
        return CoordAdapter(self.width, self.height, CoordSystem.GRID_1000)


def canvas(path: str | os.PathLike, kind: str, t: float = 0.0, max_side: int | None = 1280) -> Canvas:
    """The image at ``path``, or the video frame nearest ``t`` seconds (at most ``max_side`` pixels)."""
    if kind == IMAGE:
        from onethinker.media.images import open_image

        with open_image(path) as im:
            return Canvas(np.asarray(im.convert("RGB")))
    from onethinker.media.frames import FrameSource

    src = FrameSource.open(path, None, max_side)
    frame = src.get(src.plan.nearest_index(max(0.0, float(t))))
    return Canvas(frame.image, frame.time, src.plan.duration)


# ---------------------------------------------------------------------------------------------
# Boxes and points


def box_to_pixels(box: Sequence[float], c: Canvas) -> dict[str, int] | None:
    """A grid box as an editor box ``{xmin, ymin, xmax, ymax}`` in canvas pixels (None if unusable)."""
    px = c.adapter.box_to_pixels(box)
    if px.value is None:
        return None
    x1, y1, x2, y2 = (int(round(v)) for v in px.value)
    return {"xmin": min(x1, x2), "ymin": min(y1, y2), "xmax": max(x1, x2), "ymax": max(y1, y2)}


def box_from_pixels(box: Mapping[str, Any], c: Canvas, where: str = "boxes") -> tuple[float, float, float, float]:
    """An editor box in canvas pixels as integers on the 0–1000 grid, corners in order."""
    try:
        values = [float(box[k]) for k in ("xmin", "ymin", "xmax", "ymax")]
    except (KeyError, TypeError, ValueError):
        raise FeedbackError(f"{FIELD}.{where}", "draw one box on the picture") from None
    x1, y1, x2, y2 = values
    conv = c.adapter.box_from_pixels_int((min(x1, x2), min(y1, y2), max(x1, x2), max(y1, y2)))
    if conv.value is None:
        raise FeedbackError(f"{FIELD}.{where}", conv.error or "not a box")
    return conv.value  # type: ignore[return-value]


def point_from_pixels(x: float, y: float, c: Canvas) -> tuple[float, float] | None:
    """A click at pixel (x, y) as an integer grid point; None when it falls outside the picture."""
    if not (0 <= x <= c.width and 0 <= y <= c.height):
        return None
    conv = c.adapter.point_from_pixels((x, y))
    return None if conv.value is None else (float(round(conv.value[0])), float(round(conv.value[1])))


def prompt_picture(c: Canvas, box: Sequence[float] | None, positive: Sequence[Sequence[float]] = (),
                   negative: Sequence[Sequence[float]] = ()) -> np.ndarray:
    """The canvas with a segmentation prompt being edited drawn on it (grid box and points), same size,
    so a click on the picture is a click on the canvas.  Uses the renderer's annotators and colours."""
    from onethinker.render.draw import Annotators, Style, detections, point_detections

    img = c.image.copy()
    ann = Annotators(Style(), c.width, c.height)
    ad = c.adapter
    if box is not None:
        px = ad.box_to_pixels(box).value
        if px is not None:
            ann.box.annotate(img, detections([px], [0]))
    pts = [ad.point_to_pixels(p).value for p in (*positive, *negative)]
    classes = [0] * len(positive) + [1] * len(negative)
    kept = [(p, k) for p, k in zip(pts, classes) if p is not None]
    if kept:
        ann.points.annotate(img, point_detections([p for p, _ in kept], [k for _, k in kept]))
    return img


# ---------------------------------------------------------------------------------------------
# Track keys


def track_keys(task: str | Task, duration: float) -> list[int]:
    """The keys a person can correct: 1..N for tracking (key ``k`` at ``time_of(k)``), whole seconds
    0..duration for spatio-temporal grounding."""
    t = get_task(task)
    if t.payload is Track:
        return [k for k in range(1, MAX_TRACK_SECONDS + 1) if Track.time_of(k) <= duration + 1e-6]
    return list(range(0, int(math.floor(duration + 1e-6)) + 1))


def time_of_key(task: str | Task, key: int) -> float:
    payload = get_task(task).payload
    return (Track if payload is Track else SpatioTemporal).time_of(key)


# ---------------------------------------------------------------------------------------------
# Time spans picked on a timeline


@dataclass
class SpanPicker:
    """A timeline picture of a video's duration where a click's x gives a time in seconds."""

    duration: float
    image: np.ndarray
    x0: float  # pixel column of 0 s
    x1: float  # pixel column of ``duration``

    def time_at(self, x: float) -> float:
        if self.x1 <= self.x0:
            return 0.0
        t = (float(x) - self.x0) / (self.x1 - self.x0) * self.duration
        return round(min(max(t, 0.0), self.duration), 2)


def span_picker(duration: float, span: tuple[float, float] | None,
                truth: tuple[float, float] | None = None) -> SpanPicker:
    """The render module's timeline figure with ``span`` drawn, and its time axis in pixels."""
    from onethinker.render.draw import Style
    from onethinker.render.timeline import figure_to_array, timeline_figure

    fig = timeline_figure(duration, span, truth, None, [], Style())
    image = figure_to_array(fig)  # draws the canvas, so the transforms below are final
    ax = fig.axes[0]
    (x0, _), (x1, _) = ax.transData.transform([(0.0, 0.0), (max(duration, 1e-3), 0.0)])
    return SpanPicker(duration, image, float(x0), float(x1))


# ---------------------------------------------------------------------------------------------
# The corrected answer


def corrected(task: str | Task, data_type: str, *, text: str | None = None,
              box: Sequence[float] | None = None, boxes: Mapping[int, Sequence[float]] | None = None,
              span: tuple[float, float] | None = None, positive: Sequence[Sequence[float]] = (),
              negative: Sequence[Sequence[float]] = (), time: float | None = None, n_options: int = 0) -> Payload:
    """Assemble the corrected answer for ``task`` from the edited parts (grid coordinates, seconds).

    Text answers (letters, numbers, OCR, open-ended, math) come from ``text`` and are parsed by the
    answer parser; structured answers from the parts their payload needs.  The result is checked as
    the feedback store checks corrections; a problem raises :class:`FeedbackError` naming the field.
    """
    from onethinker.feedback.validate import check_correction, parse_correction

    t = get_task(task, data_type)
    kind = VIDEO if data_type.startswith(VIDEO) else IMAGE
    if kind not in t.media:
        raise FeedbackError("data_type", f"task {t.id!r} takes {' or '.join(t.media)}, not {data_type!r}")
    payload: Payload
    if t.payload is BoxAnswer:
        payload = BoxAnswer(_need_box(box, "boxes"))
    elif t.payload is Track:
        payload = Track({int(k): _need_box(b, f"boxes.{k}") for k, b in sorted((boxes or {}).items())})
    elif t.payload is SpatioTemporal:
        start, end = _need_span(span)
        inside = {int(k): b for k, b in (boxes or {}).items() if math.ceil(start) <= int(k) <= math.floor(end)}
        payload = SpatioTemporal(start, end, {k: _need_box(b, f"boxes.{k}") for k, b in sorted(inside.items())})
    elif t.payload is TimeSpan:
        payload = TimeSpan(*_need_span(span))
    elif t.payload is SegmentationPrompt:
        payload = SegmentationPrompt(_need_box(box, "boxes"), tuple(_pt(p) for p in positive),
                                     tuple(_pt(p) for p in negative), None if kind == IMAGE else _need_time(time))
    else:
        if text is None or not str(text).strip():
            raise FeedbackError(FIELD, f"type the corrected {t.title.lower()} answer")
        if t.payload is Text:  # free text is taken as typed: no parse can change it
            payload = Text(str(text).strip())
        else:
            payload = parse_correction(str(text).strip(), t, data_type).payload
    check_correction(payload, t, data_type, n_options)
    return payload


def _need_box(box: Any, where: str) -> tuple[float, float, float, float]:
    if box is None:
        raise FeedbackError(f"{FIELD}.{where}", "draw a box on the picture")
    try:
        b = tuple(float(v) for v in box)
    except (TypeError, ValueError):
        raise FeedbackError(f"{FIELD}.{where}", f"not a box: {box!r}") from None
    if len(b) != 4:
        raise FeedbackError(f"{FIELD}.{where}", f"a box needs 4 numbers, got {len(b)}")
    return b  # type: ignore[return-value]


def _need_span(span: Any) -> tuple[float, float]:
    try:
        start, end = (float(v) for v in span)
    except (TypeError, ValueError):
        raise FeedbackError(f"{FIELD}.time", "give the start and the end in seconds") from None
    if not (math.isfinite(start) and math.isfinite(end)):
        raise FeedbackError(f"{FIELD}.time", "start and end must be numbers of seconds")
    return start, end


def _need_time(t: Any) -> float:
    if t is None:
        raise FeedbackError(f"{FIELD}.time", "give the key frame's time in seconds")
    return float(t)


def _pt(p: Sequence[float]) -> tuple[float, float]:
    x, y = (float(v) for v in p)
    return (x, y)
