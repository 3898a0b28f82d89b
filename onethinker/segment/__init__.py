"""Segmentation backends that turn a box and points (in pixels) into masks.

``get_segmenter("sam2")`` (transformers SAM2, default checkpoint ``facebook/sam2.1-hiera-large``) or
``get_segmenter("segment-anything", checkpoint="sam_vit_b.pth")`` (SAM v1).  Both load lazily on first
use, run on CUDA when present and on CPU otherwise, and report progress as ``progress(done, total)``.
"""

from __future__ import annotations

from typing import Any

from onethinker.segment.base import ImageMask, PixelPrompt, Segmenter, VideoMasks

BACKENDS = ("sam2", "segment-anything")


def get_segmenter(backend: str = "sam2", **kw: Any) -> Segmenter:
    """A backend by name: ``sam2`` (kw: checkpoint, device, dtype) or ``segment-anything``/``sam1``
    (kw: checkpoint path, model_type, device).  Nothing is loaded until first use."""
    b = backend.strip().lower().replace("_", "-")
    if b in ("sam2", "sam2.1", "transformers"):
        from onethinker.segment.sam2 import Sam2Segmenter

        return Sam2Segmenter(**kw)
    if b in ("segment-anything", "sam1", "sam", "sam-v1"):
        from onethinker.segment.sam1 import SamV1Segmenter

        return SamV1Segmenter(**kw)
    raise ValueError(f"unknown segmentation backend {backend!r}; known: {BACKENDS}")


__all__ = ["BACKENDS", "get_segmenter", "ImageMask", "PixelPrompt", "Segmenter", "VideoMasks"]
