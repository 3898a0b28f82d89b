"""The ``segment-anything`` package (SAM v1) as a second backend.

Images: box + points through ``SamPredictor``.  Video: SAM v1 cannot carry a mask from frame to
frame, so when a track is available (per-frame boxes, e.g. interpolated from a tracking answer)
every rendered frame is prompted with its box (the key frame also with the points); otherwise only
the key frame is segmented, and the result says so in its notes.
"""

from __future__ import annotations

import os
import threading
from typing import Any, Callable

import numpy as np

from onethinker.segment.base import (
    FramesLike,
    ImageMask,
    PixelPrompt,
    Progress,
    PxBox,
    VideoMasks,
    free_memory,
    pick_device,
    report,
)

MODEL_TYPES = ("vit_h", "vit_l", "vit_b")


def guess_model_type(checkpoint: str) -> str:
    """``vit_h``/``vit_l``/``vit_b`` from the file name (sam_vit_b_01ec64.pth → vit_b); default vit_h."""
    name = os.path.basename(checkpoint).lower()
    for t in MODEL_TYPES:
        if t in name:
            return t
    return "vit_h"


class SamV1Segmenter:
    name = "segment-anything"

    def __init__(self, checkpoint: str | os.PathLike | None = None, model_type: str | None = None,
                 device: str | None = None, *, model: Any = None) -> None:
        self.checkpoint = None if checkpoint is None else str(checkpoint)
        self.model_type = model_type
        self.device = pick_device(device)
        self.model = model
        self._predictor = None
        self._lock = threading.Lock()

    def _load(self):
        if self._predictor is None:
            from segment_anything import SamPredictor, sam_model_registry

            if self.model is None:
                if not self.checkpoint:
                    raise ValueError("segment-anything needs the path of a SAM checkpoint (.pth)")
                if not os.path.isfile(self.checkpoint):
                    raise ValueError(f"{self.checkpoint}: SAM checkpoint not found")
                mt = self.model_type or guess_model_type(self.checkpoint)
                if mt not in sam_model_registry:
                    raise ValueError(f"unknown SAM model type {mt!r}; known: {sorted(sam_model_registry)}")
                self.model = sam_model_registry[mt](checkpoint=self.checkpoint)
            self.model.to(self.device).eval()
            self._predictor = SamPredictor(self.model)
        return self._predictor

    def load(self, video: bool = False) -> None:
        """Load the model now rather than on first use (one model serves images and videos); raises what
        loading raises, so a caller can tell a load failure from a failed segmentation."""
        with self._lock:
            self._load()

    def release(self) -> None:
        self._predictor = None
        self.model = None if self.checkpoint else self.model
        free_memory()

    def _predict(self, predictor: Any, prompt: PixelPrompt) -> tuple[np.ndarray, float]:
        pts, labels = prompt.points_and_labels()
        masks, scores, _ = predictor.predict(
            point_coords=np.asarray(pts, dtype=np.float32) if pts else None,
            point_labels=np.asarray(labels, dtype=np.int64) if pts else None,
            box=None if prompt.box is None else np.asarray(prompt.box, dtype=np.float32),
            multimask_output=False,
        )
        return masks[0].astype(bool), float(scores[0])

    def segment_image(self, image: np.ndarray, prompt: PixelPrompt) -> ImageMask:
        h, w = image.shape[:2]
        if prompt.empty:
            return ImageMask(np.zeros((h, w), bool), None, ["no usable box or point: nothing to segment"])
        import torch

        with self._lock, torch.inference_mode():
            p = self._load()
            p.set_image(np.ascontiguousarray(image[..., :3]), image_format="RGB")
            mask, score = self._predict(p, prompt)
            p.reset_image()
        return ImageMask(mask, score)

    def segment_video(self, frames: FramesLike, key_index: int, prompt: PixelPrompt,
                      boxes: Callable[[int], PxBox | None] | None = None,
                      progress: Progress | None = None) -> VideoMasks:
        import torch

        result = VideoMasks.for_frames(frames, key_index)
        n, key = result.num_frames, result.key_index
        if boxes is None:
            todo = [key]
            result.notes.append("segment-anything cannot propagate masks and no track was given: "
                                "only the key frame is segmented")
        else:
            todo = [i for i in range(n) if i == key or boxes(i) is not None]
            result.notes.append("segment-anything: every frame is prompted with the track's box (no propagation)")
            if len(todo) < n:
                result.notes.append(f"segment-anything: {n - len(todo)} of {n} frames have no track box; left unmasked")
        if prompt.empty and boxes is None:
            result.notes.append("no usable box or point on the key frame: nothing to segment")
            return result
        try:
            with self._lock, torch.inference_mode():
                pred = self._load()
                report(progress, 0, len(todo))
                for done, i in enumerate(todo, 1):
                    fp = prompt if i == key else PixelPrompt(box=boxes(i))  # type: ignore[misc]
                    if fp.empty and boxes is not None:
                        fp = PixelPrompt(box=boxes(i))
                    if fp.empty:
                        continue
                    pred.set_image(np.ascontiguousarray(frames.get(i).image), image_format="RGB")
                    mask, _ = self._predict(pred, fp)
                    result.set(i, mask)
                    result.prompted.append(i)
                    report(progress, done, len(todo))
                pred.reset_image()
        finally:
            free_memory()
        return result
