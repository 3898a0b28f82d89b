"""What every segmentation backend takes and gives back.

Prompts are in pixels of the picture the backend is given (for video: of the rendered frames); the
renderer makes them from a ``SegmentationPrompt`` through the one ``CoordAdapter``
(``onethinker.render.geometry.pixel_prompt``).  This package knows nothing of answers or grids.
"""

from __future__ import annotations

import gc
from dataclasses import dataclass, field
from typing import Any, Callable, Protocol, Sequence

import numpy as np

Progress = Callable[[int, int], None]
PxBox = tuple[float, float, float, float]
PxPoint = tuple[float, float]


@dataclass(frozen=True)
class PixelPrompt:
    """Box and points in pixels of one picture (any of them may be missing)."""

    box: PxBox | None = None
    positive: tuple[PxPoint, ...] = ()
    negative: tuple[PxPoint, ...] = ()

    @property
    def empty(self) -> bool:
        return self.box is None and not self.positive and not self.negative

    def points_and_labels(self) -> tuple[list[list[float]], list[int]]:
        pts = [list(p) for p in self.positive] + [list(p) for p in self.negative]
        return pts, [1] * len(self.positive) + [0] * len(self.negative)

    def scaled(self, sx: float, sy: float) -> "PixelPrompt":
        return PixelPrompt(
            None if self.box is None else (self.box[0] * sx, self.box[1] * sy, self.box[2] * sx, self.box[3] * sy),
            tuple((x * sx, y * sy) for x, y in self.positive),
            tuple((x * sx, y * sy) for x, y in self.negative),
        )


@dataclass
class ImageMask:
    mask: np.ndarray  # H×W bool
    score: float | None = None
    notes: list[str] = field(default_factory=list)


class VideoMasks:
    """One mask per rendered frame, bit-packed (a 720p mask takes ~115 kB)."""

    def __init__(self, num_frames: int, width: int, height: int, key_index: int) -> None:
        self.num_frames, self.width, self.height, self.key_index = num_frames, width, height, key_index
        self._packed: dict[int, np.ndarray] = {}
        self.order: list[int] = []  # frame indices in the order the model produced them
        self.notes: list[str] = []
        self.prompted: list[int] = []  # frames that received a prompt

    @classmethod
    def for_frames(cls, frames: "FramesLike", key_index: int) -> "VideoMasks":
        """Empty masks sized to ``frames``, with the key index clamped into the video."""
        n = len(frames)
        w, h = frames.size
        return cls(n, w, h, min(max(int(key_index), 0), n - 1))

    def set(self, i: int, mask: np.ndarray) -> None:
        m = np.asarray(mask, dtype=bool)
        if m.shape != (self.height, self.width):
            raise ValueError(f"mask for frame {i} has shape {m.shape}, expected {(self.height, self.width)}")
        self._packed[i] = np.packbits(m, axis=None)
        self.order.append(i)

    def mask(self, i: int) -> np.ndarray | None:
        p = self._packed.get(i)
        if p is None:
            return None
        return np.unpackbits(p, count=self.height * self.width).reshape(self.height, self.width).astype(bool)

    __call__ = mask

    @property
    def frames(self) -> list[int]:
        return sorted(self._packed)

    @property
    def complete(self) -> bool:
        return len(self._packed) == self.num_frames


class FramesLike(Protocol):
    """What a video backend needs from a frame source (``onethinker.media.frames.FrameSource``)."""

    def __len__(self) -> int: ...

    def get(self, i: int) -> Any: ...  # .image (H×W×3 uint8 RGB)

    @property
    def size(self) -> tuple[int, int]: ...


class Segmenter(Protocol):
    name: str

    def segment_image(self, image: np.ndarray, prompt: PixelPrompt) -> ImageMask: ...

    def segment_video(self, frames: FramesLike, key_index: int, prompt: PixelPrompt,
                      boxes: Callable[[int], PxBox | None] | None = None,
                      progress: Progress | None = None) -> VideoMasks: ...

    def release(self) -> None: ...


def pick_device(device: str | None = None) -> str:
    if device:
        return device
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def free_memory() -> None:
    gc.collect()
    try:
        import torch

        if torch.cuda.is_available():
            torch.cuda.empty_cache()
    except Exception:  # pragma: no cover
        pass


def report(progress: Progress | None, done: int, total: int) -> None:
    if progress is not None:
        try:
            progress(done, total)
        except Exception:  # a broken progress callback must not break segmentation
            pass


def as_points(points: Sequence[PxPoint]) -> list[list[float]]:
    return [[float(x), float(y)] for x, y in points]
