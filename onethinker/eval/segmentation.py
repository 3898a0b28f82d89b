"""Segmentation rows: the model's prompt → masks from a segmenter → IoU (images) or J, F, J&F (videos).

As the official post-processing (``seg_post_sam2.py``) does it:

* the prediction's ``boxes`` and ``positive_points`` / ``negative_points`` on the 0–1000 grid become
  whole pixels of the row's ``resolution`` (through :class:`~onethinker.coords.CoordAdapter`);
* an image is resized to ``resolution`` and prompted once; a video is read as ``len(frames)``
  frames, frame ``k`` at ``k / fps`` seconds, resized to ``resolution``; the key frame
  ``round(time · fps)`` is prompted and the masks propagate forward and backward from it;
* ground-truth masks are COCO RLEs, decoded with pycocotools;
* an image scores its IoU (and keeps intersection and union for the corpus cIoU); a video scores
  J (mask IoU) and F (boundary F-measure, tolerance 0.0075 × diagonal) averaged over its annotated
  frames, J&F their mean; an annotated frame without a predicted mask scores 0 on both.

Two deliberate differences: an RLE whose size is not ``resolution`` is an error for the row
(the official script silently resizes it), and a prediction without any usable prompt scores 0
(the official script leaves such rows out of the averages).
"""

from __future__ import annotations

import json
import os
import warnings
from typing import Any, Callable

import numpy as np

from onethinker.coords import CoordAdapter
from onethinker.eval.rows import RowError, SegTruth
from onethinker.rewards.metrics import boundary_f_measure, mask_inter_union, mask_iou, strict_number
from onethinker.segment.base import PixelPrompt, Segmenter

BOUNDARY_TOLERANCE = 0.0075


def decode_rle(rle: Any, width: int, height: int, where: str = "segmentation_rle") -> np.ndarray:
    """A COCO RLE (compressed string or list of run lengths) as an H×W bool mask; :class:`RowError` if unusable."""
    from pycocotools import mask as coco

    try:
        counts, size = rle["counts"], [int(v) for v in rle["size"]]
        if size != [height, width]:
            raise RowError("bad_rle", f"{where} has size {rle['size']!r} but the resolution is {width}x{height}")
        if isinstance(counts, list):
            obj = coco.frPyObjects({"counts": counts, "size": size}, height, width)
        else:
            obj = {"counts": counts.encode("utf-8") if isinstance(counts, str) else counts, "size": size}
        with warnings.catch_warnings():  # pycocotools 2.0.x vs numpy 2: a harmless DeprecationWarning per call
            warnings.simplefilter("ignore", DeprecationWarning)
            m = coco.decode(obj)
    except RowError:
        raise
    except Exception as e:  # pycocotools raises TypeError/ValueError/KeyError on bad input
        raise RowError("bad_rle", f"{where} cannot be decoded ({type(e).__name__}: {str(e)[:80]})") from None
    if m.ndim == 3:
        m = m[..., 0]
    if m.shape != (height, width):
        raise RowError("bad_rle", f"{where} decodes to {m.shape[1]}x{m.shape[0]}, expected {width}x{height}")
    return m.astype(bool)


def encode_rle(mask: np.ndarray) -> dict:
    """An H×W mask as a compressed COCO RLE ``{"size": [h, w], "counts": str}`` (what :func:`decode_rle` reads)."""
    from pycocotools import mask as coco

    rle = coco.encode(np.asfortranarray(np.asarray(mask, dtype=np.uint8)))
    return {"size": [int(v) for v in rle["size"]], "counts": rle["counts"].decode("ascii")}


def prompt_from_prediction(prediction: str, width: int, height: int) -> tuple[PixelPrompt, float]:
    """Pixel prompt and key time (s) from the answer JSON as written; what is unusable is left out."""
    try:
        obj = json.loads(prediction)
    except (ValueError, TypeError, RecursionError):
        obj = None
    if not isinstance(obj, dict):
        return PixelPrompt(), 0.0
    adapter = CoordAdapter(width, height)
    box = None
    c = adapter.box_to_pixels(obj.get("boxes"))
    if c.value is not None:
        x1, y1, x2, y2 = (float(round(v)) for v in c.value)
        box = (min(x1, x2), min(y1, y2), max(x1, x2), max(y1, y2))

    def points(key: str) -> tuple[tuple[float, float], ...]:
        pts = obj.get(key)
        out = []
        for p in pts if isinstance(pts, list) else ():
            c = adapter.point_to_pixels(p)
            if c.value is not None:
                out.append((float(round(c.value[0])), float(round(c.value[1]))))
        return tuple(out)

    t = strict_number(obj.get("time"))
    return PixelPrompt(box, points("positive_points"), points("negative_points")), (t if t is not None else 0.0)


def image_reward(pred_mask: np.ndarray, gt_mask: np.ndarray) -> dict[str, float]:
    """The official per-image record: IoU plus intersection and union (summed over rows for cIoU)."""
    inter, union = mask_inter_union(pred_mask, gt_mask)
    return {"IoU": inter / union if union else 0.0, "inter": inter, "union": union}


def video_reward(truth: SegTruth, masks: Callable[[int], np.ndarray | None]) -> dict[str, float]:
    """J, F and J&F over the annotated frames; ``masks(k)`` is the predicted mask of frame ``k`` or None."""
    js, fs = [], []
    for k, key in enumerate(truth.frames):
        rle = truth.rles.get(key)
        if not rle:
            continue
        gt = decode_rle(rle, truth.width, truth.height, f"segmentation_rle[{key!r}]")
        pred = masks(k)
        if pred is None:
            js.append(0.0)
            fs.append(0.0)
            continue
        js.append(mask_iou(pred, gt))
        fs.append(boundary_f_measure(pred, gt, BOUNDARY_TOLERANCE))
    if not js:
        return {"J": 0.0, "F": 0.0, "J&F": 0.0}
    j, f = float(np.mean(js)), float(np.mean(fs))
    return {"J": j, "F": f, "J&F": (j + f) / 2.0}


def segment_image(path: str | os.PathLike, truth: SegTruth, prompt: PixelPrompt,
                  segmenter: Segmenter) -> tuple[dict, dict]:
    """(the official reward record, the predicted mask as ``{"segmentation_rle": RLE}``)."""
    from PIL import Image

    from onethinker.media.images import open_image
    from onethinker.media.probe import MediaError

    gt = decode_rle(truth.rles[""], truth.width, truth.height)
    try:
        img = open_image(path).convert("RGB")
    except MediaError as e:
        raise RowError("missing_media", str(e)) from None
    if img.size != (truth.width, truth.height):
        img = img.resize((truth.width, truth.height), Image.BILINEAR)
    pred = _segment(lambda: segmenter.segment_image(np.array(img), prompt).mask)
    return image_reward(pred, gt), {"segmentation_rle": encode_rle(pred)}


def video_frames(path: str | os.PathLike, truth: SegTruth):
    """The annotated frame sequence: frame ``k`` is the source frame nearest ``k / fps`` s, at ``resolution``.

    Frames past the end of the file are left out (they then have no predicted mask).
    """
    from onethinker.media.frames import FramePlan, FrameSource
    from onethinker.media.probe import MediaError, open_video

    try:
        reader = open_video(path, num_threads=1)
    except MediaError as e:
        raise RowError("missing_media", str(e)) from None
    src_fps, n_src = float(reader.get_avg_fps() or 0.0), len(reader)
    if not src_fps > 0:
        raise RowError("missing_media", f"{os.path.basename(path)}: the video reports no frame rate")
    h0, w0 = reader[0].shape[:2]
    idx = [round(k * src_fps / truth.fps) for k in range(len(truth.frames))]
    idx = [i for i in idx if i < n_src]
    plan = FramePlan(tuple(idx), tuple(k / truth.fps for k in range(len(idx))), truth.fps, truth.width,
                     truth.height, src_fps, int(w0), int(h0), n_src)
    return FrameSource(plan, reader=reader, path=str(path))


def segment_video(path: str | os.PathLike, truth: SegTruth, prompt: PixelPrompt, key_time: float,
                  segmenter: Segmenter) -> tuple[dict, dict]:
    """(the official reward record, the predicted masks as ``{"segmentation_rle": {frame key: RLE}}`` for the
    annotated frames that have one)."""
    frames = video_frames(path, truth)
    key = min(max(int(round(key_time * truth.fps)), 0), len(truth.frames) - 1, len(frames) - 1)
    vm = _segment(lambda: segmenter.segment_video(frames, key, prompt))

    def mask(k: int) -> np.ndarray | None:
        return vm.mask(k) if k < vm.num_frames else None

    predicted = {}
    for k, name in enumerate(truth.frames):
        m = mask(k)
        if m is not None:
            predicted[name] = encode_rle(m)
    return video_reward(truth, mask), {"segmentation_rle": predicted}


def _segment(call: Callable[[], Any]) -> Any:
    try:
        return call()
    except RowError:
        raise
    except Exception as e:  # a model failure on one row must not end the run
        raise RowError("segmenter", f"segmentation failed ({type(e).__name__}: {str(e)[:160]})") from None


def components_of(reward: dict) -> dict[str, float]:
    """The row's components from its official segmentation record (image: iou; video: J, F, J&F)."""
    if "J&F" in reward:
        return {k: float(reward[k]) for k in ("J", "F", "J&F")}
    return {"iou": float(reward["IoU"])}


def accuracy_of(reward: dict) -> float:
    """Image: IoU; video: J&F (the official script leaves segmentation accuracy at 0 and reports these apart)."""
    return float(reward["J&F"] if "J&F" in reward else reward["IoU"])
