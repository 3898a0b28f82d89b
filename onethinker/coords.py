"""The one place where model coordinates become pixels and back.

OneThinker (Qwen3-VL family) writes boxes and points as integers on a 0–1000 grid relative to the
image's width and height.  Qwen2.5-VL-style models instead write absolute pixels of the *resized*
image they were shown.  Mixing the two is the most common bug in this field, so every overlay,
correction and export goes through :class:`CoordAdapter`.

Conversions never raise: a malformed box or point comes back as ``Converted(value=None, error=...)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import Enum
from typing import Any, NamedTuple, Sequence

GRID_SIZE = 1000


class CoordSystem(str, Enum):
    """How a model writes coordinates."""

    GRID_1000 = "grid1000"  # Qwen3-VL / OneThinker: 0..1000 relative to width/height
    PIXELS = "pixels"  # Qwen2.5-VL: absolute pixels of the image as the model saw it


def coord_system_for_model(model_id: str | None) -> CoordSystem:
    """Guess the convention from a model id or path (Qwen2.5-VL and Qwen2-VL write pixels)."""
    name = (model_id or "").lower().replace("_", "").replace("-", "").replace(".", "")
    if "qwen25vl" in name or "qwen2vl" in name:
        return CoordSystem.PIXELS
    return CoordSystem.GRID_1000


class Converted(NamedTuple):
    """Result of a conversion: ``value`` is None exactly when ``error`` says why."""

    value: tuple[float, ...] | None
    clamped: bool = False
    error: str | None = None


def _finite_numbers(values: Any, n: int, what: str) -> tuple[tuple[float, ...] | None, str | None]:
    if isinstance(values, (str, bytes)) or not isinstance(values, Sequence) and not hasattr(values, "__len__"):
        return None, f"{what} must be a list of {n} numbers, got {type(values).__name__}"
    try:
        items = list(values)
    except TypeError:
        return None, f"{what} must be a list of {n} numbers, got {type(values).__name__}"
    if len(items) != n:
        return None, f"{what} must have {n} numbers, got {len(items)}"
    out = []
    for v in items:
        if isinstance(v, bool):
            return None, f"{what} has a boolean where a number belongs"
        try:
            f = float(v)
        except (TypeError, ValueError):
            return None, f"{what} has a non-number {v!r}"
        if not math.isfinite(f):
            return None, f"{what} has a non-finite value {v!r}"
        out.append(f)
    return tuple(out), None


@dataclass(frozen=True)
class CoordAdapter:
    """Converts boxes ``[x1, y1, x2, y2]`` and points ``[x, y]`` between model space and pixels.

    ``width``/``height`` are the pixel size of the picture being drawn on (the original image or
    video frame).  For :attr:`CoordSystem.PIXELS`, ``model_width``/``model_height`` are the size of
    the resized input the model saw (defaults to the original size).
    """

    width: float
    height: float
    system: CoordSystem = CoordSystem.GRID_1000
    model_width: float | None = None
    model_height: float | None = None

    @classmethod
    def for_model(cls, model_id: str | None, width: float, height: float, **kw: Any) -> "CoordAdapter":
        return cls(width, height, coord_system_for_model(model_id), **kw)

    # -- scale factors: model unit -> pixel ------------------------------------------------------
    def _scale(self) -> tuple[float, float]:
        if self.system is CoordSystem.GRID_1000:
            return self.width / GRID_SIZE, self.height / GRID_SIZE
        mw = self.model_width or self.width
        mh = self.model_height or self.height
        return self.width / mw, self.height / mh

    def _model_extent(self) -> tuple[float, float]:
        if self.system is CoordSystem.GRID_1000:
            return float(GRID_SIZE), float(GRID_SIZE)
        return float(self.model_width or self.width), float(self.model_height or self.height)

    def _check_size(self) -> str | None:
        for name, v in (("width", self.width), ("height", self.height)):
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v <= 0:
                return f"image {name} must be a positive number, got {v!r}"
        return None

    def _convert(self, values: Any, n: int, what: str, to_pixels: bool, clamp: bool) -> Converted:
        err = self._check_size()
        if err:
            return Converted(None, False, err)
        nums, err = _finite_numbers(values, n, what)
        if err:
            return Converted(None, False, err)
        sx, sy = self._scale()
        if not to_pixels:
            sx, sy = 1 / sx, 1 / sy
        out = [v * (sx if i % 2 == 0 else sy) for i, v in enumerate(nums)]
        clamped = False
        if clamp:
            limit_x, limit_y = (self.width, self.height) if to_pixels else self._model_extent()
            for i, v in enumerate(out):
                hi = limit_x if i % 2 == 0 else limit_y
                c = min(max(v, 0.0), hi)
                if c != v:
                    clamped = True
                    out[i] = c
        return Converted(tuple(out), clamped, None)

    def box_to_pixels(self, box: Any, clamp: bool = True) -> Converted:
        return self._convert(box, 4, "box", True, clamp)

    def box_from_pixels(self, box: Any, clamp: bool = True) -> Converted:
        return self._convert(box, 4, "box", False, clamp)

    def point_to_pixels(self, point: Any, clamp: bool = True) -> Converted:
        return self._convert(point, 2, "point", True, clamp)

    def point_from_pixels(self, point: Any, clamp: bool = True) -> Converted:
        return self._convert(point, 2, "point", False, clamp)

    def box_from_pixels_int(self, box: Any) -> Converted:
        """Pixels -> model space rounded to integers, the form a model writes (for corrections)."""
        c = self.box_from_pixels(box)
        return c if c.value is None else c._replace(value=tuple(float(round(v)) for v in c.value))
