"""Short low-resolution videos where shapes appear, move in straight lines and disappear.

Each shape lives in its own horizontal lane, so shapes never overlap and a shape's mask in any frame
is its whole outline.  A shape is visible on every frame whose time ``t`` satisfies
``appear <= t <= disappear`` (both ends inclusive, on the frame grid), and moves linearly from
``start`` to ``end`` over that interval.  Frame ``i`` is at ``t = i / fps``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from train.synthetic.scene import COLOURS, SHAPES, Background, PxBox, Shape, box_of, mask_of, random_background


@dataclass(frozen=True)
class Mover:
    shape: Shape  # kind, colour and size; its centre is ``start``
    appear: float
    disappear: float
    start: tuple[float, float]
    end: tuple[float, float]

    @property
    def name(self) -> str:
        return self.shape.name

    def visible(self, t: float) -> bool:
        return self.appear - 1e-9 <= t <= self.disappear + 1e-9

    def at(self, t: float) -> Shape:
        span = self.disappear - self.appear
        a = 0.0 if span <= 0 else min(max((t - self.appear) / span, 0.0), 1.0)
        return self.shape.at(self.start[0] + a * (self.end[0] - self.start[0]),
                             self.start[1] + a * (self.end[1] - self.start[1]))

    @property
    def direction(self) -> str:
        dx, dy = self.end[0] - self.start[0], self.end[1] - self.start[1]
        horiz = "right" if dx > 0 else "left"
        if abs(dy) > abs(dx):
            return "down" if dy > 0 else "up"
        return horiz


@dataclass(frozen=True)
class VideoScene:
    width: int
    height: int
    fps: int
    duration: int  # seconds; frames at 0, 1/fps, … < duration
    background: Background
    movers: tuple[Mover, ...]

    @property
    def num_frames(self) -> int:
        return self.fps * self.duration

    @property
    def last_time(self) -> float:
        return (self.num_frames - 1) / self.fps

    def time(self, i: int) -> float:
        return i / self.fps

    def frame_index(self, t: float) -> int:
        return min(max(int(round(t * self.fps)), 0), self.num_frames - 1)

    @cached_property
    def _bg(self) -> np.ndarray:
        return self.background.pixels(self.width, self.height)

    def frame(self, i: int) -> np.ndarray:
        out = self._bg.copy()
        t = self.time(i)
        for m in self.movers:
            if m.visible(t):
                out[mask_of(m.at(t), self.width, self.height)] = COLOURS[m.shape.colour]
        return out

    def mask(self, mover: Mover, i: int) -> np.ndarray:
        t = self.time(i)
        if not mover.visible(t):
            return np.zeros((self.height, self.width), dtype=bool)
        return mask_of(mover.at(t), self.width, self.height)

    def box(self, mover: Mover, t: float) -> PxBox | None:
        """Pixel box of ``mover`` on the frame at time ``t`` (None when it is not visible there)."""
        return box_of(self.mask(mover, self.frame_index(t)))


VIDEO_SIZES = ((160, 128), (192, 144), (128, 128), (176, 144))


def random_video(rng: np.random.Generator, *, n_shapes: int, fps: int = 4,
                 durations: tuple[int, ...] = (4, 5, 6, 7, 8), whole: tuple[int, ...] = (),
                 partial: tuple[int, ...] = ()) -> VideoScene:
    """A scene of ``n_shapes`` movers with distinct (colour, kind) names, one lane each.

    Movers whose index is in ``whole`` are visible on every frame; those in ``partial`` appear after
    the start or vanish before the end, visible for at least 1.5 s; the rest are random.
    """
    width, height = VIDEO_SIZES[int(rng.integers(len(VIDEO_SIZES)))]
    duration = int(durations[int(rng.integers(len(durations)))])
    last = (fps * duration - 1) / fps
    lane_h = height / n_shapes
    names: set[tuple[str, str]] = set()
    movers = []
    for k in range(n_shapes):
        while True:
            colour = list(COLOURS)[int(rng.integers(len(COLOURS)))]
            kind = SHAPES[int(rng.integers(len(SHAPES)))]
            if (colour, kind) not in names:
                names.add((colour, kind))
                break
        biggest = min(min(width, height) * 2 // 5, int(lane_h) - 6)  # large shapes, inside their lane
        size = int(rng.integers(max(18, biggest // 2), max(19, biggest)))
        r = size / 2 + 2
        y_lo, y_hi = k * lane_h + r, (k + 1) * lane_h - r
        ys = rng.uniform(y_lo, max(y_lo, y_hi), size=2)
        xs = rng.uniform(r, width - r, size=2)
        if abs(xs[1] - xs[0]) < width / 4:  # make the motion visible
            xs[1] = width - r if xs[0] < width / 2 else r
        if k in whole:
            appear, disappear = 0.0, last
        else:
            appear, disappear = _interval(rng, last, partial=k in partial)
        movers.append(Mover(Shape(kind, colour, round(float(xs[0]), 1), round(float(ys[0]), 1), size),
                            appear, disappear, (round(float(xs[0]), 1), round(float(ys[0]), 1)),
                            (round(float(xs[1]), 1), round(float(ys[1]), 1))))
    return VideoScene(width, height, fps, duration, random_background(rng), tuple(movers))


def _interval(rng: np.random.Generator, last: float, partial: bool) -> tuple[float, float]:
    """A visibility interval on the half-second grid, at least 1.5 s long, inside [0, last]."""
    steps = int(last * 2)  # half seconds
    while True:
        a, b = sorted(int(v) for v in rng.integers(0, steps + 1, size=2))
        if b - a < 3:
            continue
        if partial and a == 0 and b == steps:
            continue
        return a / 2.0, min(b / 2.0, last)
