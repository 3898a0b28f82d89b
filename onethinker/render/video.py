"""Annotated H.264 videos: spatio-temporal grounding, tracking and video segmentation.

Frames stream from the decoder through the annotators into the encoder one at a time.  Per-second
boxes are placed at the time their payload gives each key (``Track.time_of``: key k at k − 1 s;
``SpatioTemporal.time_of``: key k at k s), interpolated linearly to every rendered frame and shown
only inside the answer's span; a trace follows the box centre; a bar under the picture marks the
predicted span (orange), the ground-truth span (blue, lower half), key frames and the playhead.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping

import numpy as np

from onethinker.payloads import Payload, SpatioTemporal, Track
from onethinker.coords import CoordAdapter
from onethinker.media.video_writer import VideoWriter
from onethinker.render.core import (
    FrameRecord,
    Media,
    RenderOptions,
    RenderResult,
    adapter_for,
    out_path,
    renderer_for,
)
from onethinker.render.draw import Annotators, Footer, detections, footer, overlay_mask, sv_color
from onethinker.render.geometry import (BoxTrack, Notes, box_px, clamp_span, clamp_time, pixel_prompt,
                                        track_from_keys)
from onethinker.rewards.metrics import box_iou, interval_iou, mean_iou_over_common, mean_iou_over_truth

MaskFn = Callable[[int], "np.ndarray | None"]


def track_of(payload: Payload, adapter: CoordAdapter, duration: float, who: str,
             notes: Notes) -> tuple[BoxTrack, tuple[float, float] | None]:
    """A pixel track and its time span from a Track or SpatioTemporal payload (keys timed by the payload)."""
    if isinstance(payload, SpatioTemporal):
        span = clamp_span(payload.start, payload.end, duration, f"{who} time span", notes)
        if span is None:
            return BoxTrack({}, 0.0, -1.0), None
        tr = track_from_keys(adapter, payload.boxes, payload.time_of, duration, who, notes, span)
        if not tr:
            notes.add(f"{who}: no usable box inside the span")
        return tr, span
    if not isinstance(payload, Track):
        notes.add(f"{who}: {type(payload).__name__} answers have no boxes over time; not drawn")
        return BoxTrack({}, 0.0, -1.0), None
    tr = track_from_keys(adapter, payload.boxes, payload.time_of, duration, who, notes)
    if not tr:
        notes.add(f"{who}: no usable box to draw")
        return tr, None
    return tr, (tr.lo, tr.hi)


def timed_boxes(payload: Track | SpatioTemporal) -> dict[float, list[float]]:
    """``{time in seconds: box}`` of a payload, so a Track and a SpatioTemporal compare frame by frame."""
    return {payload.time_of(k): list(v) for k, v in payload.boxes.items()}


def mask_fn(masks: Any, n_frames: int, w: int, h: int, notes: Notes, what: str = "masks") -> MaskFn | None:
    """Normalise ``masks`` (VideoMasks, mapping, sequence or callable) to ``i -> mask | None``."""
    if masks is None:
        return None
    if hasattr(masks, "mask") and callable(masks.mask):
        get = masks.mask
    elif isinstance(masks, Mapping):
        get = masks.get
    elif callable(masks):
        get = masks
    else:
        seq = masks
        get = lambda i: seq[i] if i < len(seq) else None  # noqa: E731
    bad: list[int] = []

    def fn(i: int) -> np.ndarray | None:
        try:
            m = get(i)
        except (KeyError, IndexError):
            return None
        if m is None:
            return None
        m = np.asarray(m).astype(bool, copy=False)
        if m.shape != (h, w):
            if not bad:
                notes.add(f"{what} of shape {m.shape} do not match the rendered frames ({h}×{w}); not drawn")
            bad.append(i)
            return None
        return m

    return fn


def any_mask(get_mask: MaskFn | None, n_frames: int) -> bool:
    """Whether some rendered frame has a non-empty mask (stops at the first one found).

    The legend is fixed before the first frame is encoded, so it asks here rather than after drawing.
    """
    if get_mask is None:
        return False
    for i in range(n_frames):
        m = get_mask(i)
        if m is not None and m.any():
            return True
    return False


def _encode(media: Media, options: RenderOptions, ft: Footer, draw: Callable[[Any, np.ndarray], FrameRecord],
            bar: Callable[[np.ndarray, float], None], path: str, progress: Any) -> list[FrameRecord]:
    src = media.video
    total = len(src)
    records: list[FrameRecord] = []
    with VideoWriter(path, fps=src.plan.fps, crf=options.crf, preset=options.preset) as wr:
        for fr in src:
            pic = fr.image
            if not pic.flags.writeable:
                pic = pic.copy()
            records.append(draw(fr, pic))
            strip = ft.strip()
            bar(strip, fr.time)
            wr.write_rows(pic, strip)  # picture rows then footer rows: no full-frame copy
            if progress is not None:
                try:
                    progress(fr.index + 1, total)
                except Exception:
                    pass
    return records


def _needs_video(payload: Payload, media: Media, options: RenderOptions, notes: list[str]) -> RenderResult | None:
    if media.is_video:
        return None
    from onethinker.render.image import plain

    return plain(media, options, list(notes) + [f"{type(payload).__name__} answers need a video to be drawn"])


def _frame_setup(media: Media, options: RenderOptions, notes: list[str]) -> tuple[Notes, Any, Any, CoordAdapter]:
    """Notes (seeded with the caller's), frame source, frame plan and the adapter onto rendered frames."""
    n = Notes()
    n.extend(notes)
    plan = media.video.plan
    return n, media.video, plan, adapter_for(plan.width, plan.height, (plan.src_width, plan.src_height), options)


@renderer_for(Track, SpatioTemporal)
def render_track(payload: Track | SpatioTemporal, media: Media, truth: Payload | None, options: RenderOptions,
                 masks: Any = None, progress: Any = None, out_file: str | None = None, notes: list[str] = (),
                 **_: Any) -> RenderResult:
    early = _needs_video(payload, media, options, notes)
    if early is not None:
        return early
    n, src, plan, ad = _frame_setup(media, options, notes)
    w, h, dur, st = plan.width, plan.height, plan.duration, options.style
    pred, pspan = track_of(payload, ad, dur, "prediction", n)
    gt, tspan = (BoxTrack({}, 0.0, -1.0), None) if truth is None else track_of(truth, ad, dur, "ground truth", n)
    metrics: dict[str, float] = {}
    legend = [("pred", st.pred)]
    if truth is not None:
        legend.append(("truth", st.truth))
        if isinstance(payload, SpatioTemporal) and isinstance(truth, SpatioTemporal):
            metrics["tiou"] = interval_iou([payload.start, payload.end], [truth.start, truth.end])
            metrics["mean_iou"] = mean_iou_over_common(timed_boxes(payload), timed_boxes(truth))
            legend.append((f"tIoU {metrics['tiou']:.2f}", st.text))
        else:
            metrics["mean_iou"] = mean_iou_over_truth(timed_boxes(payload), timed_boxes(truth))
        legend.append((f"mIoU {metrics['mean_iou']:.2f}", st.text))
    get_mask = mask_fn(masks, len(src), w, h, n)
    ann = Annotators(st, w, h, trace=True)
    ft = footer(w, h, st, legend, list(n), bar=True, max_notes=options.max_notes)
    spans = [(a, b, c) for s, c in ((pspan, st.pred), (tspan, st.truth)) if s is not None for a, b in [s]]

    def draw(fr: Any, pic: np.ndarray) -> FrameRecord:
        pb, tb = pred.box_at(fr.time), gt.box_at(fr.time)
        boxes, classes, ids, labels = [], [], [], []
        if pb is not None:
            boxes.append(pb), classes.append(0), ids.append(1), labels.append("pred")
        if tb is not None:
            boxes.append(tb), classes.append(1), ids.append(2), labels.append("truth")
        m = get_mask(fr.index) if get_mask is not None else None
        has = m is not None and overlay_mask(ann.mask, pic, m)
        if boxes:
            det = detections(boxes, classes, tracker_ids=ids)
            ann.trace.annotate(pic, det)
            ann.box.annotate(pic, det)
            ann.label.annotate(pic, det, labels=labels)
        return FrameRecord(fr.index, fr.time, pb, tb, has)

    def bar(full: np.ndarray, t: float) -> None:
        ft.draw_bar(full, dur, t, spans)

    path = out_file or out_path(options, type(payload).__name__.lower())
    records = _encode(media, options, ft, draw, bar, path, progress)
    return RenderResult(kind="video", video_path=path, warnings=tuple(n), metrics=metrics, frames=tuple(records),
                        fps=plan.fps, size=(w, h))


def render_video_segmentation(payload: Any, media: Media, truth: Any, options: RenderOptions, segmenter: Any = None,
                              masks: Any = None, truth_masks: Any = None, track: Payload | None = None,
                              progress: Any = None, out_file: str | None = None, notes: list[str] = (),
                              **_: Any) -> RenderResult:
    n, src, plan, ad = _frame_setup(media, options, notes)
    w, h, dur, st = plan.width, plan.height, plan.duration, options.style
    if payload.time is None:
        n.add("no key-frame time in the answer; using 0 s")
        t_key = 0.0
    else:
        t_key = clamp_time(payload.time, dur, "key-frame time", n)
    key = plan.nearest_index(t_key)
    t_key = plan.times[key]
    prompt = pixel_prompt(payload, ad, n)
    boxes_fn = None
    if track is not None:
        tr, _span = track_of(track, ad, dur, "track", n)
        if tr:
            boxes_fn = lambda i: tr.box_at(plan.times[i])  # noqa: E731
    seg = None
    get_mask: MaskFn | None = None
    if masks is not None:
        get_mask = mask_fn(masks, len(src), w, h, n)
    elif segmenter is None:
        n.add("no segmentation backend given: the prompt is drawn on the key frame without masks")
    elif prompt.empty and boxes_fn is None:
        n.add("nothing usable to prompt the segmentation model with")
    else:
        try:
            seg = segmenter.segment_video(src, key, prompt, boxes=boxes_fn, progress=progress)
            n.extend(seg.notes)
            get_mask = seg.mask
            if len(seg.frames) < len(src):
                n.add(f"masks cover {len(seg.frames)} of {len(src)} rendered frames")
        except Exception as e:  # a backend failure must not lose the overlay
            n.add(f"segmentation failed ({type(e).__name__}: {str(e)[:120]}); prompt drawn without masks")
    get_truth_mask = mask_fn(truth_masks, len(src), w, h, n, "ground-truth masks")
    ann = Annotators(st, w, h)
    legend = [("pred", st.pred)] + ([("mask", st.pred)] if any_mask(get_mask, len(src)) else []) + [
        ("+ points", st.positive), ("- points", st.negative), (f"key frame {t_key:.2f} s", st.key_frame)]
    if any_mask(get_truth_mask, len(src)):
        legend.append(("truth mask", st.truth))
    metrics: dict[str, float] = {}
    truth_key, truth_box, marks = None, None, [(t_key, st.key_frame)]
    if truth is not None:  # its box on its own key frame; the IoU of the boxes, as the reward computes it
        t_truth = 0.0 if truth.time is None else clamp_time(truth.time, dur, "ground-truth key-frame time", n)
        truth_key = plan.nearest_index(t_truth)
        truth_box = box_px(ad, truth.box, "ground-truth box", n)
        metrics["box_iou"] = box_iou(list(payload.box), list(truth.box))
        legend += [("truth", st.truth), (f"box IoU {metrics['box_iou']:.2f}", st.text)]
        marks.append((plan.times[truth_key], st.truth))
    ft = footer(w, h, st, legend, list(n), bar=True, max_notes=options.max_notes)
    key_col = sv_color(st.key_frame)
    thick = st.thickness(w, h) + 1

    def draw(fr: Any, pic: np.ndarray) -> FrameRecord:
        tm = get_truth_mask(fr.index) if get_truth_mask is not None else None
        if tm is not None:
            overlay_mask(ann.mask, pic, tm, class_id=1)
        m = get_mask(fr.index) if get_mask is not None else None
        has = m is not None and overlay_mask(ann.mask, pic, m)
        is_key = fr.index == key
        if is_key:
            import supervision as sv

            if prompt.box is not None:
                det = detections([prompt.box], [0])
                ann.box.annotate(pic, det)
            ann.draw_points(pic, prompt.positive, prompt.negative)
            sv.draw_rectangle(pic, sv.Rect(0, 0, w - 1, h - 1), key_col, thickness=thick)
        tb = truth_box if fr.index == truth_key else None
        if tb is not None:
            ann.box.annotate(pic, detections([tb], [1]))
        return FrameRecord(fr.index, fr.time, prompt.box if is_key else None, tb, has, is_key)

    def bar(full: np.ndarray, t: float) -> None:
        ft.draw_bar(full, dur, t, [], marks=marks)

    path = out_file or out_path(options, "segmentation")
    records = _encode(media, options, ft, draw, bar, path, progress)
    return RenderResult(kind="video", video_path=path, warnings=tuple(n), metrics=metrics, frames=tuple(records),
                        fps=plan.fps, size=(w, h), segmentation=seg)
