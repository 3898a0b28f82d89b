"""Scenes of coloured shapes with exact ground truth: pixels, masks and boxes from one drawing.

A shape is drawn twice with the same integer polygon and no anti-aliasing: once in colour on the
picture and once as a boolean mask.  The box of a shape is the tight box of its mask, so every box,
point and mask the tasks ask about is exact, never estimated.  Everything is a pure function of a
``numpy.random.Generator``; nothing here touches the file system.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
from PIL import Image, ImageDraw

# Saturated, well-separated colours (names are what questions and captions say).
COLOURS: dict[str, tuple[int, int, int]] = {
    "red": (220, 40, 40),
    "green": (40, 170, 60),
    "blue": (40, 80, 220),
    "yellow": (235, 205, 30),
    "purple": (150, 60, 190),
}
SHAPES = ("square", "circle", "triangle", "diamond")

# Backgrounds stay pale and low in contrast so that no shape colour is ever mistaken for them.
_BACKGROUNDS = ((236, 236, 236), (222, 228, 236), (240, 232, 220), (226, 236, 226))

PxBox = tuple[int, int, int, int]  # x1, y1, x2, y2 with x2, y2 exclusive (mask columns / rows)


@dataclass(frozen=True)
class Shape:
    """One shape: kind, colour name, centre (pixels, floats allowed) and size (pixels, side or diameter)."""

    kind: str
    colour: str
    cx: float
    cy: float
    size: int

    @property
    def name(self) -> str:
        return f"{self.colour} {self.kind}"

    def at(self, cx: float, cy: float) -> "Shape":
        return replace(self, cx=cx, cy=cy)

    def polygon(self) -> list[tuple[int, int]]:
        """Integer outline; a circle is a 32-gon so masks and pixels agree exactly."""
        r = self.size / 2.0
        cx, cy = self.cx, self.cy
        if self.kind == "square":
            pts = [(cx - r, cy - r), (cx + r, cy - r), (cx + r, cy + r), (cx - r, cy + r)]
        elif self.kind == "triangle":
            pts = [(cx, cy - r), (cx + r, cy + r), (cx - r, cy + r)]
        elif self.kind == "diamond":
            pts = [(cx, cy - r), (cx + r, cy), (cx, cy + r), (cx - r, cy)]
        elif self.kind == "circle":
            angles = [2 * math.pi * i / 32 for i in range(32)]
            pts = [(cx + r * math.cos(a), cy + r * math.sin(a)) for a in angles]
        else:
            raise ValueError(f"unknown shape kind {self.kind!r}; known: {SHAPES}")
        return [(int(round(x)), int(round(y))) for x, y in pts]


def mask_of(shape: Shape, width: int, height: int) -> np.ndarray:
    """The exact H×W boolean mask of ``shape`` (what :func:`draw` colours)."""
    im = Image.new("1", (width, height), 0)
    ImageDraw.Draw(im).polygon(shape.polygon(), fill=1, outline=1)
    return np.array(im, dtype=bool)


def box_of(mask: np.ndarray) -> PxBox | None:
    """Tight pixel box of a mask (x2/y2 exclusive); None for an empty mask."""
    cols = np.flatnonzero(mask.any(axis=0))
    rows = np.flatnonzero(mask.any(axis=1))
    if cols.size == 0:
        return None
    return int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1


@dataclass(frozen=True)
class Background:
    colour: tuple[int, int, int]
    texture: str  # "plain" | "stripes" | "checker" | "noise"
    seed: int

    def pixels(self, width: int, height: int) -> np.ndarray:
        base = np.empty((height, width, 3), dtype=np.int16)
        base[:] = self.colour
        yy, xx = np.mgrid[0:height, 0:width]
        if self.texture == "stripes":
            base += (((xx + yy) // 8) % 2 * 10)[..., None].astype(np.int16)
        elif self.texture == "checker":
            base -= (((xx // 16) + (yy // 16)) % 2 * 10)[..., None].astype(np.int16)
        elif self.texture == "noise":
            rng = np.random.default_rng(self.seed)
            base += rng.integers(-8, 9, size=(height, width, 1), dtype=np.int16)
        return np.clip(base, 0, 255).astype(np.uint8)


def random_background(rng: np.random.Generator) -> Background:
    colour = _BACKGROUNDS[int(rng.integers(len(_BACKGROUNDS)))]
    texture = ("plain", "plain", "stripes", "checker", "noise")[int(rng.integers(5))]
    return Background(colour, texture, int(rng.integers(1 << 31)))


def draw(background: np.ndarray, shapes: list[Shape]) -> tuple[np.ndarray, list[np.ndarray]]:
    """Paint ``shapes`` in order on a copy of ``background``; returns the picture and each shape's
    *visible* mask (later shapes cover earlier ones)."""
    height, width = background.shape[:2]
    out = background.copy()
    masks: list[np.ndarray] = []
    for s in shapes:
        m = mask_of(s, width, height)
        out[m] = COLOURS[s.colour]
        for earlier in masks:
            earlier &= ~m
        masks.append(m)
    return out, masks


def place_shapes(rng: np.random.Generator, width: int, height: int, n: int, *,
                 min_size: int = 24, max_size: int = 56, distinct: str = "name") -> list[Shape]:
    """``n`` shapes that do not overlap (boxes at least 4 px apart) and lie fully inside the picture.

    ``distinct``: "name" makes every (colour, kind) pair unique, so "the red circle" names one
    shape; "colour" additionally makes colours unique.
    """
    shapes: list[Shape] = []
    used_names, used_colours = set(), set()
    for _ in range(400):
        if len(shapes) == n:
            break
        size = int(rng.integers(min_size, max_size + 1))
        colour = list(COLOURS)[int(rng.integers(len(COLOURS)))]
        kind = SHAPES[int(rng.integers(len(SHAPES)))]
        if (colour, kind) in used_names or (distinct == "colour" and colour in used_colours):
            continue
        r = size / 2 + 2
        cx = float(rng.uniform(r, width - r))
        cy = float(rng.uniform(r, height - r))
        cand = Shape(kind, colour, round(cx, 1), round(cy, 1), size)
        if any(_too_close(cand, s) for s in shapes):
            continue
        shapes.append(cand)
        used_names.add((colour, kind))
        used_colours.add(colour)
    if len(shapes) < n:
        raise ValueError(f"could not place {n} shapes on {width}×{height}; use a larger picture or fewer shapes")
    return shapes


def _too_close(a: Shape, b: Shape, gap: float = 4.0) -> bool:
    ra, rb = a.size / 2, b.size / 2
    return abs(a.cx - b.cx) < ra + rb + gap and abs(a.cy - b.cy) < ra + rb + gap
