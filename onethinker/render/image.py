"""Still pictures: spatial grounding boxes and image segmentation (mask, box, points)."""

from __future__ import annotations

from typing import Any

import numpy as np

from onethinker.payloads import BoxAnswer, SegmentationPrompt
from onethinker.render.core import Media, RenderOptions, RenderResult, adapter_for, renderer_for
from onethinker.render.draw import Annotators, detections, footer, overlay_mask
from onethinker.render.geometry import Notes, box_px, pixel_prompt
from onethinker.rewards.metrics import box_iou


def _still(media: Media, options: RenderOptions, notes: Notes) -> tuple[np.ndarray, float | None]:
    """The picture to draw on: the image, or a video's first rendered frame (with a note)."""
    if media.image is not None:
        return media.image, None
    fr = media.video.get(0)
    notes.add("a box for a video is drawn on its first frame")
    return fr.image, fr.time


def plain(media: Media, options: RenderOptions, notes: list[str], kind: str = "image") -> RenderResult:
    """The media's picture with the notes under it (no answer to draw)."""
    n = Notes()
    n.extend(notes)
    img, _ = _still(media, options, Notes())
    h, w = img.shape[:2]
    ft = footer(w, h, options.style, [], list(n), max_notes=options.max_notes)
    return RenderResult(kind=kind, image=ft.compose(img), warnings=tuple(n), size=(w, h))


@renderer_for(BoxAnswer)
def render_box(payload: BoxAnswer, media: Media, truth: BoxAnswer | None, options: RenderOptions,
               notes: list[str] = (), **_: Any) -> RenderResult:
    n = Notes()
    n.extend(notes)
    img, _t = _still(media, options, n)
    h, w = img.shape[:2]
    src = (media.video.plan.src_width, media.video.plan.src_height) if media.is_video else (w, h)
    ad = adapter_for(w, h, src, options)
    st = options.style
    boxes, classes, labels = [], [], []
    pb = box_px(ad, payload.box, "predicted box", n)
    if pb is not None:
        boxes.append(pb), classes.append(0), labels.append("pred")
    tb = None
    if truth is not None:
        tb = box_px(ad, truth.box, "ground-truth box", n)
        if tb is not None:
            boxes.append(tb), classes.append(1), labels.append("truth")
    out = img.copy()
    ann = Annotators(st, w, h)
    if boxes:
        det = detections(boxes, classes)
        out = ann.box.annotate(out, det)
        out = ann.label.annotate(out, det, labels=labels)
    metrics: dict[str, float] = {}
    legend = [("pred", st.pred)]
    if truth is not None:
        metrics["iou"] = box_iou(list(payload.box), list(truth.box))
        legend += [("truth", st.truth), (f"IoU {metrics['iou']:.2f}", st.text)]
    ft = footer(w, h, st, legend, list(n), max_notes=options.max_notes)
    return RenderResult(kind="image", image=ft.compose(out), warnings=tuple(n), metrics=metrics, size=(w, h))


def mask_iou(a: np.ndarray, b: np.ndarray) -> float:
    """Intersection over union of two boolean masks of one size (0 when both are empty)."""
    union = int(np.count_nonzero(a | b))
    return int(np.count_nonzero(a & b)) / union if union else 0.0


def _image_mask(masks: Any, h: int, w: int, n: Notes, what: str = "mask") -> np.ndarray | None:
    m = getattr(masks, "mask", masks)
    if callable(m):
        m = m(0)
    if m is None:
        return None
    m = np.asarray(m).astype(bool)
    m = m.reshape(m.shape[-2:]) if m.ndim > 2 and int(np.prod(m.shape[:-2])) == 1 else m
    if m.shape != (h, w):
        n.add(f"{what} of shape {m.shape} does not match the image {h}×{w}; not drawn")
        return None
    return m


@renderer_for(SegmentationPrompt)
def render_segmentation(payload: SegmentationPrompt, media: Media, truth: SegmentationPrompt | None,
                        options: RenderOptions, segmenter: Any = None, masks: Any = None, truth_masks: Any = None,
                        notes: list[str] = (), **kw: Any) -> RenderResult:
    if media.is_video:
        from onethinker.render.video import render_video_segmentation

        return render_video_segmentation(payload, media, truth, options, segmenter=segmenter, masks=masks,
                                         truth_masks=truth_masks, notes=notes, **kw)
    n = Notes()
    n.extend(notes)
    img = media.image
    h, w = img.shape[:2]
    ad = adapter_for(w, h, (w, h), options)
    st = options.style
    prompt = pixel_prompt(payload, ad, n)
    if payload.time is not None:
        n.add("a key-frame time was given for an image; ignored")
    seg = None
    mask = None
    if masks is not None:
        mask = _image_mask(masks, h, w, n)
    elif segmenter is not None and not prompt.empty:
        try:
            seg = segmenter.segment_image(img, prompt)
            n.extend(seg.notes)
            mask = seg.mask
        except Exception as e:  # a backend failure must not lose the overlay
            n.add(f"segmentation failed ({type(e).__name__}: {str(e)[:120]}); prompt drawn without mask")
    else:
        n.add("no segmentation backend given: prompt drawn without a mask" if segmenter is None
              else "nothing usable to prompt the segmentation model with")
    truth_mask = None if truth_masks is None else _image_mask(truth_masks, h, w, n, "ground-truth mask")
    out = img.copy()
    ann = Annotators(st, w, h)
    truth_drawn = truth_mask is not None and overlay_mask(ann.mask, out, truth_mask, class_id=1)
    drawn = mask is not None and overlay_mask(ann.mask, out, mask)
    if mask is not None and not drawn:
        n.add("the segmentation mask is empty")
    boxes, classes, labels = [], [], []
    if prompt.box is not None:
        boxes.append(prompt.box), classes.append(0), labels.append("pred")
    metrics: dict[str, float] = {}
    legend = [("pred", st.pred)] + ([("mask", st.pred)] if drawn else []) + [("+ points", st.positive),
                                                                             ("- points", st.negative)]
    if truth is not None:
        tb = box_px(ad, truth.box, "ground-truth box", n)
        if tb is not None:
            boxes.append(tb), classes.append(1), labels.append("truth")
        metrics["box_iou"] = box_iou(list(payload.box), list(truth.box))
        legend += [("truth", st.truth), (f"box IoU {metrics['box_iou']:.2f}", st.text)]
    if truth_drawn:
        legend.append(("truth mask", st.truth))
        if mask is not None:
            metrics["mask_iou"] = mask_iou(mask, truth_mask)
            legend.append((f"mask IoU {metrics['mask_iou']:.2f}", st.text))
    if boxes:
        det = detections(boxes, classes)
        out = ann.box.annotate(out, det)
        out = ann.label.annotate(out, det, labels=labels)
    out = ann.draw_points(out, prompt.positive, prompt.negative)
    if mask is not None:
        metrics["mask_area"] = float(mask.mean())
    ft = footer(w, h, st, legend, list(n), max_notes=options.max_notes)
    return RenderResult(kind="image", image=ft.compose(out), warnings=tuple(n), metrics=metrics, size=(w, h),
                        segmentation=seg if seg is not None else mask)
