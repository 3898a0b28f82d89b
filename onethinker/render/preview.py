"""A still picture of what an answer says so far, cheap enough to redraw while the model is writing.

    pic = preview(parse(text_so_far, task, final=False), "clip.mp4", source=frames)   # RenderResult | None

A box, a segmentation prompt or a time span is drawn as soon as the parser yields it; a track or a
spatio-temporal answer is drawn on the frame of its latest completed key, so the track grows in
front of the user.  Every drawing goes through :func:`~onethinker.render.render` (a box or prompt
on one still frame) or the timeline figure, so the preview and the final overlay agree.  Nothing
here encodes video: one frame is decoded per call.
"""

from __future__ import annotations

from typing import Any

from onethinker.answer.answer import Answer
from onethinker.media.frames import FrameSource
from onethinker.payloads import BoxAnswer, Payload, SegmentationPrompt, SpatioTemporal, TimeSpan, Track
from onethinker.render.core import RenderOptions, RenderResult, render


def key_time(payload: Track | SpatioTemporal, key: int) -> float:
    """Seconds into the video of a per-second key (the payload's one mapping: key "1" of a track is 0 s)."""
    return float(payload.time_of(key))


def preview(answer: Answer | Payload | None, media: Any, *, source: FrameSource | None = None,
            options: RenderOptions | None = None) -> RenderResult | None:
    """The answer so far drawn on one picture; None when there is nothing to draw yet.

    ``media``: the image (path or array) or the video path; ``source``: an open
    :class:`FrameSource` of that video, to reuse between calls (opened here when missing).
    """
    payload = answer.payload if isinstance(answer, Answer) else answer
    if payload is None:
        return None
    opts = options or RenderOptions()
    if isinstance(payload, (Track, SpatioTemporal)):
        if not payload.boxes:
            return None
        key = max(payload.boxes)
        t = key_time(payload, key)
        src = source or FrameSource.open(media, opts.max_fps, opts.max_side)
        frame = src.get(src.plan.nearest_index(t))
        res = render(BoxAnswer(payload.boxes[key]), frame.image, options=opts)
        res.warnings = (f"{len(payload.boxes)} box(es) so far; latest at {t:g} s",) + res.warnings
        return res
    if isinstance(payload, TimeSpan):
        return _timeline(payload, media, source, opts)
    if isinstance(payload, SegmentationPrompt) and (source is not None or _is_video(media)):
        src = source or FrameSource.open(media, opts.max_fps, opts.max_side)
        frame = src.get(src.plan.nearest_index(payload.time or 0.0))
        return render(payload, frame.image, options=opts)
    if isinstance(payload, (BoxAnswer, SegmentationPrompt)):
        if source is not None:  # a box about a video is drawn on its first frame, as render does
            return render(payload, source.get(0).image, options=opts)
        return render(payload, media, options=opts)
    return None


def _is_video(media: Any) -> bool:
    from pathlib import Path

    from onethinker.render.core import IMAGE_SUFFIXES

    return isinstance(media, (str, Path)) and Path(media).suffix.lower() not in IMAGE_SUFFIXES


def _timeline(payload: TimeSpan, media: Any, source: FrameSource | None, opts: RenderOptions) -> RenderResult:
    from onethinker.render.geometry import Notes, clamp_span
    from onethinker.render.timeline import figure_to_array, timeline_figure

    src = source or FrameSource.open(media, opts.max_fps, opts.max_side)
    notes = Notes()
    span = clamp_span(payload.start, payload.end, src.plan.duration, "predicted span", notes)
    fig = timeline_figure(src.plan.duration, span, None, None, list(notes), opts.style, opts.figure_size)
    return RenderResult(kind="timeline", image=figure_to_array(fig), figure=fig, warnings=tuple(notes))
