"""Typed answer payloads: one small frozen dataclass per answer shape.

A payload holds the answer as the model meant it, in model coordinates (the 0–1000 grid for
OneThinker), after the display repairs the parser made (those are listed in ``Answer.warnings``).
Every payload knows how to

* serialise itself to plain JSON (``to_json`` / :func:`payload_from_json`, lossless), and
* write itself back in the answer format the model was trained on (``answer_text``), which is what
  exports put inside ``<answer>…</answer>``.

Rendering and scoring dispatch on these types; nothing else in the house invents answer shapes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, ClassVar

Box = tuple[float, float, float, float]
Point = tuple[float, float]

_PAYLOAD_TYPES: dict[str, type["Payload"]] = {}


def _num_text(v: float) -> str:
    """Write a number the way a model would: integers without a trailing '.0'."""
    return str(int(v)) if float(v).is_integer() else repr(float(v))


def _num_json(v: float) -> int | float:
    return int(v) if float(v).is_integer() else float(v)


def _box_json(b: Box) -> list[int | float]:
    return [_num_json(v) for v in b]


class Payload:
    """Base class; subclasses register themselves under ``type_name``."""

    type_name: ClassVar[str] = ""

    def __init_subclass__(cls, **kw: Any) -> None:
        super().__init_subclass__(**kw)
        if cls.type_name:
            _PAYLOAD_TYPES[cls.type_name] = cls

    def to_json(self) -> dict[str, Any]:
        raise NotImplementedError

    @classmethod
    def _from_fields(cls, d: dict[str, Any]) -> "Payload":
        raise NotImplementedError

    def answer_text(self) -> str:
        """The payload in the model's own answer format (what goes between the answer tags)."""
        raise NotImplementedError


def payload_types() -> dict[str, type[Payload]]:
    return dict(_PAYLOAD_TYPES)


def payload_from_json(d: dict[str, Any]) -> Payload:
    """Inverse of ``Payload.to_json``.  Raises ``ValueError`` naming the problem."""
    if not isinstance(d, dict) or "type" not in d:
        raise ValueError("payload JSON must be an object with a 'type' field")
    cls = _PAYLOAD_TYPES.get(d["type"])
    if cls is None:
        raise ValueError(f"unknown payload type {d['type']!r}; known: {sorted(_PAYLOAD_TYPES)}")
    try:
        return cls._from_fields(d)
    except (KeyError, TypeError, ValueError, IndexError) as e:
        raise ValueError(f"malformed {d['type']} payload: {e}") from None


# ---------------------------------------------------------------------------------------------
# Question answering


@dataclass(frozen=True)
class OptionLetter(Payload):
    type_name: ClassVar[str] = "option"
    letter: str

    def to_json(self) -> dict[str, Any]:
        return {"type": self.type_name, "letter": self.letter}

    @classmethod
    def _from_fields(cls, d: dict[str, Any]) -> "OptionLetter":
        return cls(str(d["letter"]))

    def answer_text(self) -> str:
        return self.letter


@dataclass(frozen=True)
class Number(Payload):
    type_name: ClassVar[str] = "number"
    value: float

    def to_json(self) -> dict[str, Any]:
        return {"type": self.type_name, "value": self.value}

    @classmethod
    def _from_fields(cls, d: dict[str, Any]) -> "Number":
        return cls(float(d["value"]))

    def answer_text(self) -> str:
        return _num_text(self.value)


@dataclass(frozen=True)
class Text(Payload):
    """Free text: OCR transcription, open-ended answer, caption."""

    type_name: ClassVar[str] = "text"
    text: str

    def to_json(self) -> dict[str, Any]:
        return {"type": self.type_name, "text": self.text}

    @classmethod
    def _from_fields(cls, d: dict[str, Any]) -> "Text":
        return cls(str(d["text"]))

    def answer_text(self) -> str:
        return self.text


@dataclass(frozen=True)
class MathExpression(Payload):
    """A final math result: a number or a LaTeX expression, kept as written."""

    type_name: ClassVar[str] = "math"
    text: str

    def to_json(self) -> dict[str, Any]:
        return {"type": self.type_name, "text": self.text}

    @classmethod
    def _from_fields(cls, d: dict[str, Any]) -> "MathExpression":
        return cls(str(d["text"]))

    def answer_text(self) -> str:
        return self.text


# ---------------------------------------------------------------------------------------------
# Grounding


@dataclass(frozen=True)
class TimeSpan(Payload):
    """Temporal grounding: ``{"time": [start_s, end_s]}``."""

    type_name: ClassVar[str] = "time_span"
    start: float
    end: float

    def to_json(self) -> dict[str, Any]:
        return {"type": self.type_name, "start": self.start, "end": self.end}

    @classmethod
    def _from_fields(cls, d: dict[str, Any]) -> "TimeSpan":
        return cls(float(d["start"]), float(d["end"]))

    def answer_text(self) -> str:
        return json.dumps({"time": [_num_json(self.start), _num_json(self.end)]})


@dataclass(frozen=True)
class BoxAnswer(Payload):
    """Spatial grounding: ``{"boxes": [x1, y1, x2, y2]}``."""

    type_name: ClassVar[str] = "box"
    box: Box

    def to_json(self) -> dict[str, Any]:
        return {"type": self.type_name, "box": list(self.box)}

    @classmethod
    def _from_fields(cls, d: dict[str, Any]) -> "BoxAnswer":
        return cls(_box(d["box"]))

    def answer_text(self) -> str:
        return json.dumps({"boxes": _box_json(self.box)})


def _box(v: Any) -> Box:
    b = tuple(float(x) for x in v)
    if len(b) != 4:
        raise ValueError(f"a box needs 4 numbers, got {len(b)}")
    return b  # type: ignore[return-value]


def _point(v: Any) -> Point:
    p = tuple(float(x) for x in v)
    if len(p) != 2:
        raise ValueError(f"a point needs 2 numbers, got {len(p)}")
    return p  # type: ignore[return-value]


def _boxes_json(boxes: dict[int, Box]) -> dict[str, list[float]]:
    return {str(k): list(v) for k, v in boxes.items()}


def _boxes_from(d: dict[str, Any]) -> dict[int, Box]:
    return {int(k): _box(v) for k, v in d.items()}


@dataclass(frozen=True)
class SpatioTemporal(Payload):
    """Spatio-temporal grounding: a span plus one box per integer second inside it."""

    type_name: ClassVar[str] = "spatio_temporal"
    start: float
    end: float
    boxes: dict[int, Box] = field(default_factory=dict)

    @staticmethod
    def time_of(key: float) -> float:
        """Seconds into the video of the box under ``key``: keys are absolute seconds (key k is t = k s)."""
        return float(key)

    def to_json(self) -> dict[str, Any]:
        return {"type": self.type_name, "start": self.start, "end": self.end, "boxes": _boxes_json(self.boxes)}

    @classmethod
    def _from_fields(cls, d: dict[str, Any]) -> "SpatioTemporal":
        return cls(float(d["start"]), float(d["end"]), _boxes_from(d["boxes"]))

    def answer_text(self) -> str:
        return json.dumps(
            {
                "time": [_num_json(self.start), _num_json(self.end)],
                "boxes": {str(k): _box_json(v) for k, v in sorted(self.boxes.items())},
            }
        )


@dataclass(frozen=True)
class Track(Payload):
    """Tracking: one box per second, keys 1..N (N ≤ 32); key 1 is the first frame."""

    type_name: ClassVar[str] = "track"
    boxes: dict[int, Box] = field(default_factory=dict)

    @staticmethod
    def time_of(key: float) -> float:
        """Seconds into the video of the box under ``key``: key k is the frame at t = k − 1 s.

        In the official OneThinker tracking data the question gives the object's box in the first
        frame and the answer repeats it under key "1"; so key 1 is t = 0 s, key 2 is t = 1 s, ….
        Everything that places a tracking box in time asks this method, never the key itself.
        """
        return float(key) - 1.0

    def to_json(self) -> dict[str, Any]:
        return {"type": self.type_name, "boxes": _boxes_json(self.boxes)}

    @classmethod
    def _from_fields(cls, d: dict[str, Any]) -> "Track":
        return cls(_boxes_from(d["boxes"]))

    def answer_text(self) -> str:
        return json.dumps({"boxes": {str(k): _box_json(v) for k, v in sorted(self.boxes.items())}})


@dataclass(frozen=True)
class SegmentationPrompt(Payload):
    """Segmentation: a box, positive and negative points for SAM; ``time`` (s) of the key frame for video."""

    type_name: ClassVar[str] = "segmentation"
    box: Box
    positive_points: tuple[Point, ...]
    negative_points: tuple[Point, ...]
    time: float | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "type": self.type_name,
            "box": list(self.box),
            "positive_points": [list(p) for p in self.positive_points],
            "negative_points": [list(p) for p in self.negative_points],
            "time": self.time,
        }

    @classmethod
    def _from_fields(cls, d: dict[str, Any]) -> "SegmentationPrompt":
        t = d.get("time")
        return cls(
            _box(d["box"]),
            tuple(_point(p) for p in d["positive_points"]),
            tuple(_point(p) for p in d["negative_points"]),
            None if t is None else float(t),
        )

    def answer_text(self) -> str:
        obj: dict[str, Any] = {}
        if self.time is not None:
            obj["time"] = _num_json(self.time)
        obj["boxes"] = _box_json(self.box)
        obj["positive_points"] = [[_num_json(c) for c in p] for p in self.positive_points]
        obj["negative_points"] = [[_num_json(c) for c in p] for p in self.negative_points]
        return json.dumps(obj)


def coordinate_fields(payload: Payload) -> list[tuple[str, float]]:
    """Every image coordinate in ``payload``, each with the answer-format field it sits in.

    E.g. ``[("boxes[0]", 120.0), …]`` for a box, ``("boxes.3[2]", 410.0)`` for second 3 of a track,
    ``("positive_points[1][0]", 350.0)`` for a segmentation point.  Callers use it to check ranges or
    convert coordinates and to name the exact field in a message; payloads without coordinates
    (letters, numbers, text, time spans) have none.
    """
    def box(prefix: str, b: Box) -> list[tuple[str, float]]:
        return [(f"{prefix}[{i}]", float(v)) for i, v in enumerate(b)]

    if isinstance(payload, BoxAnswer):
        return box("boxes", payload.box)
    if isinstance(payload, (Track, SpatioTemporal)):
        return [f for sec, b in sorted(payload.boxes.items()) for f in box(f"boxes.{sec}", b)]
    if isinstance(payload, SegmentationPrompt):
        fields = box("boxes", payload.box)
        for name, points in (("positive_points", payload.positive_points),
                             ("negative_points", payload.negative_points)):
            fields += [(f"{name}[{i}][{j}]", float(v)) for i, p in enumerate(points) for j, v in enumerate(p)]
        return fields
    return []
