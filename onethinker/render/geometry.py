"""Payload geometry in pixels: checked conversion through the one CoordAdapter, with notes.

Nothing here raises on a bad answer: a NaN, an out-of-frame or zero-area box, a second beyond the
video's end or a span longer than the video is clamped or skipped, and a sentence saying so goes to
:class:`Notes`, which the renderer both draws on the picture and returns as warnings.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from onethinker.coords import CoordAdapter
from onethinker.segment.base import PixelPrompt

PxBox = tuple[float, float, float, float]
PxPoint = tuple[float, float]


@dataclass
class Notes:
    """Ordered, de-duplicated warnings."""

    items: list[str] = field(default_factory=list)

    def add(self, msg: str) -> None:
        if msg not in self.items:
            self.items.append(msg)

    def extend(self, msgs) -> None:
        for m in msgs:
            self.add(m)

    def __iter__(self):
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)


def finite(v: Any) -> float | None:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def box_px(adapter: CoordAdapter, box: Any, what: str, notes: Notes) -> PxBox | None:
    """A model box in pixels of the picture, clamped to it; None (with a note) when unusable."""
    raw = adapter.box_to_pixels(box, clamp=False)
    if raw.value is None:
        notes.add(f"{what} skipped: {raw.error}")
        return None
    x1, y1, x2, y2 = raw.value
    if x2 < x1 or y2 < y1:
        notes.add(f"{what} had its corners reversed; drawn swapped")
        x1, x2 = sorted((x1, x2))
        y1, y2 = sorted((y1, y2))
    if x2 - x1 < 1e-9 or y2 - y1 < 1e-9:
        notes.add(f"{what} has zero area; skipped")
        return None
    cx1, cx2 = min(max(x1, 0.0), adapter.width), min(max(x2, 0.0), adapter.width)
    cy1, cy2 = min(max(y1, 0.0), adapter.height), min(max(y2, 0.0), adapter.height)
    if cx2 - cx1 < 0.5 or cy2 - cy1 < 0.5:
        notes.add(f"{what} lies outside the frame; skipped")
        return None
    if (cx1, cy1, cx2, cy2) != (x1, y1, x2, y2):
        notes.add(f"{what} reaches outside the frame; clamped")
    return (cx1, cy1, cx2, cy2)


def point_px(adapter: CoordAdapter, point: Any, what: str, notes: Notes) -> PxPoint | None:
    raw = adapter.point_to_pixels(point, clamp=False)
    if raw.value is None:
        notes.add(f"{what} skipped: {raw.error}")
        return None
    x, y = raw.value
    cx = min(max(x, 0.0), adapter.width - 1)
    cy = min(max(y, 0.0), adapter.height - 1)
    if (cx, cy) != (x, y) and not (0 <= x <= adapter.width and 0 <= y <= adapter.height):
        notes.add(f"{what} lies outside the image; clamped to its edge")
    return (cx, cy)


def clamp_span(start: Any, end: Any, duration: float, what: str, notes: Notes) -> tuple[float, float] | None:
    """A ``[start, end]`` span inside ``[0, duration]``; None (with a note) when unusable."""
    s, e = finite(start), finite(end)
    if s is None or e is None:
        notes.add(f"{what} [{start}, {end}] is not a pair of finite numbers; not drawn")
        return None
    if e < s:
        notes.add(f"{what} ends before it starts; drawn swapped")
        s, e = e, s
    if s >= duration:
        notes.add(f"{what} starts at {s:g} s, after the video's end ({duration:.2f} s); not drawn")
        return None
    if e < 0:
        notes.add(f"{what} ends before 0 s; not drawn")
        return None
    cs, ce = max(0.0, s), min(duration, e)
    if (cs, ce) != (s, e):
        notes.add(f"{what} [{s:g}, {e:g}] s reaches outside the video (0–{duration:.2f} s); clamped")
    return cs, ce


def clamp_time(t: Any, duration: float, what: str, notes: Notes, default: float = 0.0) -> float:
    f = finite(t)
    if f is None:
        notes.add(f"{what} {t!r} is not a finite number; using {default:g} s")
        return default
    if f < 0 or f > duration:
        c = min(max(f, 0.0), duration)
        notes.add(f"{what} {f:g} s is outside the video (0–{duration:.2f} s); using {c:.2f} s")
        return c
    return f


class BoxTrack:
    """Per-second pixel boxes, linearly interpolated in time, shown only inside ``[lo, hi]``.

    Inside the span and before the first (after the last) given second the first (last) box is held.
    """

    def __init__(self, keys: Mapping[float, PxBox], lo: float, hi: float) -> None:
        self.times = sorted(keys)
        self.boxes = [keys[t] for t in self.times]
        self.lo, self.hi = lo, hi

    def __bool__(self) -> bool:
        return bool(self.times) and self.hi >= self.lo

    def box_at(self, t: float) -> PxBox | None:
        if not self or t < self.lo - 1e-9 or t > self.hi + 1e-9:
            return None
        i = bisect.bisect_right(self.times, t)
        if i == 0:
            return self.boxes[0]
        if i == len(self.times):
            return self.boxes[-1]
        t0, t1 = self.times[i - 1], self.times[i]
        a = (t - t0) / (t1 - t0)
        b0, b1 = self.boxes[i - 1], self.boxes[i]
        return tuple(p + a * (q - p) for p, q in zip(b0, b1))  # type: ignore[return-value]


def _key_names(keys: list[tuple[float, float]]) -> str:
    """``[(key, time)]`` in words: "second 5", "seconds 5, 9", or "key 5 (4 s)", "keys 5, 9 (4, 8 s)"."""
    ks = ", ".join(f"{k:g}" for k, _ in keys)
    if all(k == t for k, t in keys):
        return f"second {ks}" if len(keys) == 1 else f"seconds {ks}"
    ts = ", ".join(f"{t:g}" for _, t in keys)
    return f"key {ks} ({ts} s)" if len(keys) == 1 else f"keys {ks} ({ts} s)"


def track_from_keys(adapter: CoordAdapter, boxes: Mapping[Any, Any], time_of: Callable[[float], float],
                    duration: float, who: str, notes: Notes, span: tuple[float, float] | None = None) -> BoxTrack:
    """Pixel track from an answer's ``{key: box}``, each key placed at ``time_of(key)`` seconds.

    ``time_of`` is the payload's own mapping (``Track.time_of``, ``SpatioTemporal.time_of``), so the
    meaning of a key is decided in one place.  Keys whose time falls outside the video (or outside
    ``span``) are skipped; notes name keys as the answer wrote them.
    """
    keys: dict[float, PxBox] = {}
    kept: list[float] = []
    beyond: list[tuple[float, float]] = []
    outside: list[tuple[float, float]] = []
    for k, b in boxes.items():
        key = finite(k)
        if key is None:
            notes.add(f"{who}: key {k!r} is not a number; skipped")
            continue
        t = time_of(key)
        if t < 0 or t > duration + 1e-6:
            beyond.append((key, t))
            continue
        if span is not None and not (span[0] - 1 <= t <= span[1] + 1):
            outside.append((key, t))
            continue
        pb = box_px(adapter, b, f"{who} box at {_key_names([(key, t)])}", notes)
        if pb is not None:
            keys[t] = pb
            kept.append(key)
    if beyond:
        verb = "is" if len(beyond) == 1 else "are"
        notes.add(f"{who}: {_key_names(beyond)} {verb} outside the video (0–{duration:.2f} s); skipped")
    if outside:
        notes.add(f"{who}: boxes at {_key_names(outside)} lie outside the answer's time span; skipped")
    if not keys:
        return BoxTrack({}, 0.0, -1.0)
    lo, hi = (min(keys), max(keys)) if span is None else span
    missing = [s for s in range(math.ceil(min(kept)), math.floor(max(kept)) + 1) if float(s) not in kept]
    noun = "seconds" if all(time_of(k) == k for k in kept) else "keys"
    if missing and len(missing) <= 8:
        notes.add(f"{who}: no box for {noun} {', '.join(map(str, missing))}; interpolated")
    elif missing:
        notes.add(f"{who}: no box for {len(missing)} {noun} inside the track; interpolated")
    return BoxTrack(keys, lo, hi)


def pixel_prompt(payload: Any, adapter: CoordAdapter, notes: Notes) -> PixelPrompt:
    """Pixel prompt (box, positive and negative points) from a ``SegmentationPrompt``; never raises."""
    box = box_px(adapter, payload.box, "segmentation box", notes)
    pos = tuple(p for i, q in enumerate(payload.positive_points or ())
                if (p := point_px(adapter, q, f"positive point {i + 1}", notes)) is not None)
    neg = tuple(p for i, q in enumerate(payload.negative_points or ())
                if (p := point_px(adapter, q, f"negative point {i + 1}", notes)) is not None)
    return PixelPrompt(box, pos, neg)
