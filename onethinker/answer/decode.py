"""Answer text -> typed payload, tolerant of what real models write.

One decoder per payload type (see :data:`DECODERS`).  A decoder never raises: it returns the payload
with the list of repairs it made, or no payload and an error that says what was wrong.  Repairs are
for display only; rewards read the answer text strictly (onethinker.rewards).
"""

from __future__ import annotations

import ast
import json
import math
import re
from dataclasses import dataclass, field
from typing import Any, Callable

from onethinker.payloads import (
    Box,
    BoxAnswer,
    MathExpression,
    Number,
    OptionLetter,
    Payload,
    Point,
    SegmentationPrompt,
    SpatioTemporal,
    Text,
    TimeSpan,
    Track,
)
from onethinker.coords import GRID_SIZE

Extent = tuple[float, float] | None  # (width, height) of model space for clamping; None: no clamping
GRID_EXTENT: Extent = (float(GRID_SIZE), float(GRID_SIZE))
POINTS_PER_SIGN = 3
MAX_TRACK_SECONDS = 32


MAX_WARNINGS = 20  # distinct repairs listed; a stuck model's 3,000 bad keys would otherwise give 3,000


@dataclass
class Decoded:
    payload: Payload | None = None
    error: str | None = None
    warnings: list[str] = field(default_factory=list)
    unlisted: int = 0  # distinct warnings beyond MAX_WARNINGS
    _seen: set[str] = field(default_factory=set, repr=False)

    def __post_init__(self) -> None:
        self._seen.update(self.warnings)

    def warn(self, msg: str) -> None:
        if msg in self._seen:  # a set: checking a list made thousands of warnings quadratic
            return
        self._seen.add(msg)
        if len(self.warnings) < MAX_WARNINGS:
            self.warnings.append(msg)
        else:
            self.unlisted += 1

    def all_warnings(self) -> tuple[str, ...]:
        more = (f"… and {self.unlisted} more warnings of the same kinds",) if self.unlisted else ()
        return (*self.warnings, *more)

    def fail(self, msg: str) -> "Decoded":
        self.payload, self.error = None, msg
        return self


@dataclass(frozen=True)
class DecodeContext:
    extent: Extent = GRID_EXTENT
    video: bool = False  # segmentation: the video variant needs a key time
    partial: bool = False  # the answer is still streaming


# ---------------------------------------------------------------------------------------------
# Lenient JSON

# Every pattern here is linear in the text: no two unbounded quantifiers over the same characters
# sit next to each other, and searches start only where a match can begin (tests/core/test_robustness.py).
_FENCE = re.compile(r"```[a-zA-Z0-9_-]*\s*(.*?)(?:```|\Z)", re.DOTALL)
_TRAILING_COMMA = re.compile(r",\s*([}\]])")
_FLOAT_DIGITS = 308  # an integer written with more digits may not fit in a float


def _int_or_float(digits: str) -> int | float:
    """JSON integers too long for a float become floats (inf when out of range), so they read as
    "not a finite number" instead of overflowing later or hitting Python's int-conversion limit."""
    return int(digits) if len(digits) <= _FLOAT_DIGITS else float(digits)


def _loads(s: str) -> Any:
    """``json.loads`` that never lets an integer outgrow a float; raises ValueError or RecursionError."""
    return json.loads(s, parse_int=_int_or_float)


def clip(value: Any, n: int = 40) -> str:
    """``repr`` of a value from model text, cut to ``n`` characters for messages."""
    r = repr(value) if not isinstance(value, str) or len(value) <= 4 * n else repr(value[: 4 * n])
    return r if len(r) <= n else r[: n - 1] + "…"


def load_json_lenient(text: str, out: Decoded) -> Any:
    """Parse JSON the way a forgiving reader would; records each repair in ``out``.

    Returns the value, or ``None`` after ``out.fail`` when nothing works.
    """
    s = text.strip()
    if "```" in s:
        m = _FENCE.search(s)
        if m:
            s = m.group(1).strip()
            out.warn("removed a code fence around the JSON")
    try:
        return _loads(s)
    except RecursionError:
        out.fail("answer JSON is nested too deeply")
        return None
    except ValueError as e:
        first_error = e
    starts = [i for i in (s.find("{"), s.find("[")) if i >= 0]
    if starts:
        start = min(starts)
        end = max(s.rfind("}"), s.rfind("]"))
        if end > start and (start > 0 or end < len(s) - 1):
            s = s[start : end + 1]
            out.warn("ignored text around the JSON")
            try:
                return _loads(s)
            except (ValueError, RecursionError):
                pass
    fixed = _TRAILING_COMMA.sub(r"\1", s)
    if fixed != s:
        try:
            value = _loads(fixed)
            out.warn("removed trailing commas from the JSON")
            return value
        except (ValueError, RecursionError):
            pass
    if len(s) < 200_000 and ("'" in s or "(" in s):
        try:
            value = ast.literal_eval(fixed)
            out.warn("read Python-style literal (single quotes or tuples) as JSON")
            return value
        except Exception:  # literal_eval raises many types on junk; all mean "not a literal"
            pass
    out.fail(f"answer is not valid JSON ({first_error.msg} at character {first_error.pos})"
             if isinstance(first_error, json.JSONDecodeError) else "answer is not valid JSON")
    return None


# ---------------------------------------------------------------------------------------------
# Numbers, boxes, points


def as_number(v: Any, what: str, out: Decoded) -> float | None:
    if isinstance(v, bool) or v is None:
        return None
    try:
        if isinstance(v, (int, float)):
            f = float(v)
        elif isinstance(v, str):
            f = float(v.strip().replace(",", ""))
        else:
            return None
    except (ValueError, OverflowError):  # not a number, or an integer (from a Python literal) beyond floats
        return None
    if isinstance(v, str):
        out.warn(f"{what}: numbers written as strings were read as numbers")
    if not math.isfinite(f):
        return None
    return f


def _numbers(v: Any, n: int, what: str, out: Decoded) -> tuple[float, ...] | str:
    if not isinstance(v, (list, tuple)):
        return f"{what} must be a list of {n} numbers, got {type(v).__name__}"
    if len(v) != n:
        return f"{what} must have {n} numbers, got {len(v)}"
    nums = []
    for x in v:
        f = as_number(x, what, out)
        if f is None:
            inf = isinstance(x, float) and math.isinf(x)  # Infinity, or a JSON integer of 309+ digits
            return f"{what} has a value that is not a finite number: {clip(x)}" + (
                " (infinite, or too many digits)" if inf else "")
        nums.append(f)
    return tuple(nums)


def _clamp(values: list[float], extent: Extent, what: str, out: Decoded) -> None:
    if extent is None:
        return
    for i, v in enumerate(values):
        hi = extent[i % 2]
        c = min(max(v, 0.0), hi)
        if c != v:
            values[i] = c
            out.warn(f"{what}: coordinates outside 0..{int(extent[0]) if extent[0] == extent[1] else 'the image'} were clamped")


def as_box(v: Any, what: str, ctx: DecodeContext, out: Decoded) -> Box | str:
    if isinstance(v, (list, tuple)) and len(v) >= 1 and isinstance(v[0], (list, tuple)):
        if len(v) > 1:
            out.warn(f"{what}: several boxes given; kept the first")
        else:
            out.warn(f"{what}: box was nested in an extra list")
        v = v[0]
    nums = _numbers(v, 4, what, out)
    if isinstance(nums, str):
        return nums
    x1, y1, x2, y2 = nums
    if x1 > x2 or y1 > y2:
        out.warn(f"{what}: corners were given in reverse order and were swapped")
        x1, x2 = min(x1, x2), max(x1, x2)
        y1, y2 = min(y1, y2), max(y1, y2)
    vals = [x1, y1, x2, y2]
    _clamp(vals, ctx.extent, what, out)
    if vals[0] == vals[2] or vals[1] == vals[3]:
        out.warn(f"{what}: box has zero area")
    return tuple(vals)  # type: ignore[return-value]


def as_point(v: Any, what: str, ctx: DecodeContext, out: Decoded) -> Point | str:
    nums = _numbers(v, 2, what, out)
    if isinstance(nums, str):
        return nums
    vals = list(nums)
    _clamp(vals, ctx.extent, what, out)
    return tuple(vals)  # type: ignore[return-value]


_SECOND = re.compile(r"[a-zA-Z_ ]*(-?\d+(?:\.\d*)?)\s*(?:s|sec|secs|seconds?)?")
MAX_KEY_CHARS = 24  # longer keys are not seconds (and never reach int(), which refuses 4,300+ digits)


def as_second(key: Any, out: Decoded) -> int | None:
    """A per-second key: '3' -> 3; '3.0', 3.2, '3s' are repaired with a warning."""
    s = str(key).strip()
    m = _SECOND.fullmatch(s) if len(s) <= MAX_KEY_CHARS else None
    if not m:
        out.warn(f"ignored box under key {clip(key)}: not a whole-second key")
        return None
    if s.isdigit():
        n = int(s)
        if str(n) != s:
            out.warn(f"key {key!r} read as {n}")
        return n
    n = int(round(float(m.group(1))))
    if n < 0:
        out.warn(f"ignored box under negative key {key!r}")
        return None
    out.warn(f"key {key!r} read as {n}")
    return n


def _boxes_by_second(v: Any, ctx: DecodeContext, out: Decoded) -> dict[int, Box] | str:
    if isinstance(v, list):
        if v and all(isinstance(b, (list, tuple)) and len(b) == 4 for b in v):
            out.warn("boxes were given as a list; numbered them 1, 2, 3, …")
            v = {str(i + 1): b for i, b in enumerate(v)}
        else:
            return "'boxes' must map each second to a box [x1, y1, x2, y2]"
    if not isinstance(v, dict):
        return f"'boxes' must map each second to a box, got {type(v).__name__}"
    boxes: dict[int, Box] = {}
    for key, raw in v.items():
        sec = as_second(key, out)
        if sec is None:
            continue
        b = as_box(raw, f"box at key {key}", ctx, out)
        if isinstance(b, str):
            out.warn(f"ignored key {key}: {b}")
            continue
        if sec in boxes:
            out.warn(f"key {sec} appears twice; kept the first box")
            continue
        boxes[sec] = b
    return dict(sorted(boxes.items()))


def _span(v: Any, out: Decoded) -> tuple[float, float] | str:
    nums = _numbers(v, 2, "'time'", out)
    if isinstance(nums, str):
        return nums
    s, e = nums
    if s > e:
        out.warn("time span was given end-first and was swapped")
        s, e = e, s
    if s < 0:
        out.warn("negative start time was clamped to 0")
        s = 0.0
        e = max(e, 0.0)
    return s, e


def _get(obj: dict, *keys: str) -> Any:
    for k in keys:
        if k in obj:
            return obj[k]
    return None


# ---------------------------------------------------------------------------------------------
# One decoder per payload type


_LEADING_LETTER = re.compile(r"[\(\[]?([A-Z])[\)\].:](?:\s|$)")
# "answer: B", "Option (C)": the colon or dash is optional, but written as a group so the spaces on
# either side of it are never split two ways (which made "answer" + many spaces quadratic).
_LETTER_AFTER_WORD = re.compile(r"\b(?i:option|answer(?:\s+is)?)\s*(?:[:\-]\s*)?\(?([A-Z])\b")


def decode_option(text: str, ctx: DecodeContext, out: Decoded) -> Decoded:
    s = text.strip()
    m = re.fullmatch(r"[\(\[]?\s*([A-Za-z])\s*[\)\].:]?", s)
    if not m:
        m = _LEADING_LETTER.match(s) or _LETTER_AFTER_WORD.search(s)
        if not m:
            return out.fail(f"expected a single option letter such as 'B', got {s[:80]!r}" if s else "empty answer")
        out.warn("took the option letter out of a longer answer")
    letter = m.group(1)
    if letter.islower():
        out.warn("option letter was lower-case")
    out.payload = OptionLetter(letter.upper())
    return out


_NUMBER = re.compile(r"[-+]?(?:\d[\d,]*\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")


def decode_number(text: str, ctx: DecodeContext, out: Decoded) -> Decoded:
    s = text.strip()
    if not s:
        return out.fail("empty answer")
    v = as_number(s.replace(" ", ""), "answer", Decoded())
    if v is None:
        found = [m.group(0) for m in _NUMBER.finditer(s) if any(c.isdigit() for c in m.group(0))]
        if len(found) != 1:
            return out.fail(f"expected one number, got {s[:80]!r}")
        v = as_number(found[0], "answer", Decoded())
        if v is None:
            return out.fail(f"expected one number, got {s[:80]!r}")
        out.warn("took the number out of a longer answer")
    out.payload = Number(v)
    return out


def decode_text(text: str, ctx: DecodeContext, out: Decoded) -> Decoded:
    s = text.strip()
    if not s:
        return out.fail("empty answer")
    out.payload = Text(s)
    return out


def decode_math(text: str, ctx: DecodeContext, out: Decoded) -> Decoded:
    s = text.strip()
    if not s:
        return out.fail("empty answer")
    out.payload = MathExpression(s)
    return out


def _json_object(text: str, out: Decoded, example: str) -> dict | None:
    if not text.strip():
        out.fail("empty answer")
        return None
    obj = load_json_lenient(text, out)
    if out.error:
        return None
    if not isinstance(obj, dict):
        out.fail(f"answer must be a JSON object like {example}, got {type(obj).__name__}")
        return None
    return obj


def decode_time_span(text: str, ctx: DecodeContext, out: Decoded) -> Decoded:
    s = text.strip()
    if s.startswith("["):  # a bare [s, e] list
        obj: Any = load_json_lenient(s, out)
        if out.error:
            return out
        out.warn("time span was given without the 'time' key")
        obj = {"time": obj}
    else:
        obj = _json_object(text, out, '{"time": [start, end]}')
        if obj is None:
            return out
    raw = _get(obj, "time", "span", "timestamps")
    if raw is None:
        return out.fail("answer has no 'time' field")
    span = _span(raw, out)
    if isinstance(span, str):
        return out.fail(span)
    out.payload = TimeSpan(*span)
    return out


def decode_box(text: str, ctx: DecodeContext, out: Decoded) -> Decoded:
    obj = _json_object(text, out, '{"boxes": [x1, y1, x2, y2]}')
    if obj is None:
        return out
    raw = _get(obj, "boxes", "box", "bbox", "bbox_2d")
    if raw is None:
        return out.fail("answer has no 'boxes' field")
    b = as_box(raw, "'boxes'", ctx, out)
    if isinstance(b, str):
        return out.fail(b)
    out.payload = BoxAnswer(b)
    return out


# Streaming previews: complete '"3": [a, b, c, d]' items and a complete '"time": [s, e]'.
# A key starts after a delimiter and is at most MAX_KEY_CHARS long, so a long run of digits or
# letters is read once, not once per position (the unbounded form was quadratic).
_PARTIAL_BOX = re.compile(r"""(?<![^\s{,"'])["']?([^"'{},\s:\[\]]{1,%d})["']?\s*:\s*\[([^\[\]]*)\]"""
                          % MAX_KEY_CHARS)
_PARTIAL_TIME = re.compile(r"""["']time["']\s*:\s*\[([^\[\]]*)\]""")


def _partial_boxes(text: str, ctx: DecodeContext, out: Decoded) -> dict[int, Box]:
    boxes: dict[int, Box] = {}
    start = text.find("boxes")
    for m in _PARTIAL_BOX.finditer(text, max(start, 0)):
        if m.group(1) in ("time", "boxes"):
            continue
        sec = as_second(m.group(1), Decoded())
        if sec is None or sec in boxes:
            continue
        parts = [p.strip().strip("'\"") for p in m.group(2).split(",")]
        b = as_box(parts, "box", ctx, Decoded())
        if not isinstance(b, str):
            boxes[sec] = b
    return boxes


def _decode_partial(text: str, ctx: DecodeContext, out: Decoded, with_span: bool) -> Decoded:
    boxes = _partial_boxes(text, ctx, out)
    if with_span:
        m = _PARTIAL_TIME.search(text)
        span = _span([p.strip() for p in m.group(1).split(",")], Decoded()) if m else None
        if not isinstance(span, tuple):
            return out  # nothing to preview before the span is known
        out.payload = SpatioTemporal(span[0], span[1], boxes)
    else:
        out.payload = Track(boxes)
    return out


def _missing_seconds(first: int, last: int, boxes: dict[int, Box], shown: int = 8) -> tuple[list[int], int]:
    """The first ``shown`` seconds in ``first..last`` without a box, and how many there are in all.

    Work is bounded by the number of boxes, not by the span: a span of 1e300 s must not hang.
    """
    inside = sum(1 for s in boxes if first <= s <= last)
    total = max(0, last - first + 1) - inside
    listed: list[int] = []
    s = first
    while len(listed) < min(shown, total):
        if s not in boxes:
            listed.append(s)
        s += 1
    return listed, total


def _listed(seconds: list[int], total: int | None = None, shown: int = 8) -> str:
    total = len(seconds) if total is None else total
    head = ", ".join(map(str, seconds[:shown]))
    return f"[{head}]" if total <= shown else f"[{head}, …] ({total} in all)"


def decode_spatio_temporal(text: str, ctx: DecodeContext, out: Decoded) -> Decoded:
    if ctx.partial:
        return _decode_partial(text, ctx, out, with_span=True)
    obj = _json_object(text, out, '{"time": [s, e], "boxes": {"<second>": [x1, y1, x2, y2]}}')
    if obj is None:
        return out
    raw_span = _get(obj, "time", "span")
    if raw_span is None:
        return out.fail("answer has no 'time' field")
    span = _span(raw_span, out)
    if isinstance(span, str):
        return out.fail(span)
    raw_boxes = _get(obj, "boxes", "bboxes")
    if raw_boxes is None:
        return out.fail("answer has no 'boxes' field")
    boxes = _boxes_by_second(raw_boxes, ctx, out)
    if isinstance(boxes, str):
        return out.fail(boxes)
    outside = [s for s in boxes if not (math.floor(span[0]) <= s <= math.ceil(span[1]))]
    if outside:
        out.warn(f"boxes at seconds {_listed(outside)} lie outside the time span")
    missing, n_missing = _missing_seconds(math.ceil(span[0]), math.floor(span[1]), boxes)
    if n_missing:
        out.warn(f"no box for seconds {_listed(missing, n_missing)} inside the span")
    out.payload = SpatioTemporal(span[0], span[1], boxes)
    return out


def decode_track(text: str, ctx: DecodeContext, out: Decoded) -> Decoded:
    if ctx.partial:
        return _decode_partial(text, ctx, out, with_span=False)
    obj = _json_object(text, out, '{"boxes": {"1": [x1, y1, x2, y2], ...}}')
    if obj is None:
        return out
    raw = _get(obj, "boxes", "bboxes", "track")
    if raw is None:
        return out.fail("answer has no 'boxes' field")
    boxes = _boxes_by_second(raw, ctx, out)
    if isinstance(boxes, str):
        return out.fail(boxes)
    if not boxes:
        return out.fail("'boxes' holds no usable box")
    if len(boxes) > MAX_TRACK_SECONDS or max(boxes) > MAX_TRACK_SECONDS:
        out.warn(f"track goes beyond {MAX_TRACK_SECONDS} seconds")
    out.payload = Track(boxes)
    return out


def _points(v: Any, sign: str, ctx: DecodeContext, out: Decoded) -> tuple[Point, ...] | str:
    if v is None:
        return f"answer has no '{sign}_points' field"
    if not isinstance(v, (list, tuple)):
        return f"'{sign}_points' must be a list of [x, y] points"
    if len(v) == 2 and all(isinstance(c, (int, float, str)) and not isinstance(c, bool) for c in v):
        out.warn(f"'{sign}_points' was a single point, not a list of points")
        v = [v]
    pts: list[Point] = []
    for raw in v:
        p = as_point(raw, f"{sign} point", ctx, out)
        if isinstance(p, str):
            out.warn(f"ignored a {sign} point: {p}")
            continue
        pts.append(p)
    if len(pts) > POINTS_PER_SIGN:
        out.warn(f"{len(pts)} {sign} points given; kept the first {POINTS_PER_SIGN}")
        pts = pts[:POINTS_PER_SIGN]
    elif len(pts) < POINTS_PER_SIGN:
        out.warn(f"only {len(pts)} usable {sign} points (expected {POINTS_PER_SIGN})")
    return tuple(pts)


def decode_segmentation(text: str, ctx: DecodeContext, out: Decoded) -> Decoded:
    obj = _json_object(text, out, '{"boxes": [...], "positive_points": [...], "negative_points": [...]}')
    if obj is None:
        return out
    raw_box = _get(obj, "boxes", "box", "bbox")
    if raw_box is None:
        return out.fail("answer has no 'boxes' field")
    b = as_box(raw_box, "'boxes'", ctx, out)
    if isinstance(b, str):
        return out.fail(b)
    pos = _points(_get(obj, "positive_points", "positive"), "positive", ctx, out)
    neg = _points(_get(obj, "negative_points", "negative"), "negative", ctx, out)
    for pts in (pos, neg):
        if isinstance(pts, str):
            return out.fail(pts)
    t: float | None = None
    if ctx.video:
        raw_t = obj.get("time")
        if isinstance(raw_t, (list, tuple)) and len(raw_t) == 1:
            raw_t = raw_t[0]
            out.warn("'time' was a one-element list")
        t = as_number(raw_t, "'time'", out)
        if t is None:
            return out.fail("video segmentation needs a numeric 'time' (seconds of the key frame)")
        if t < 0:
            out.warn("negative key time was clamped to 0")
            t = 0.0
    elif "time" in obj:
        out.warn("ignored 'time' in an image answer")
    out.payload = SegmentationPrompt(b, pos, neg, t)  # type: ignore[arg-type]
    return out


DECODERS: dict[type[Payload], Callable[[str, DecodeContext, Decoded], Decoded]] = {
    OptionLetter: decode_option,
    Number: decode_number,
    Text: decode_text,
    MathExpression: decode_math,
    TimeSpan: decode_time_span,
    BoxAnswer: decode_box,
    SpatioTemporal: decode_spatio_temporal,
    Track: decode_track,
    SegmentationPrompt: decode_segmentation,
}

STREAMING_PREVIEW = (SpatioTemporal, Track)  # payloads previewed before the answer closes
