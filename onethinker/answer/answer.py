"""The value that flows through the house: a parsed model response."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal

from onethinker.payloads import Payload, payload_from_json

Phase = Literal["thinking", "answering", "done"]
PHASES: tuple[str, ...] = ("thinking", "answering", "done")


@dataclass(frozen=True)
class Answer:
    """A model response split into reasoning and a typed answer.

    ``payload`` is None when the answer is not there yet (streaming) or could not be repaired, in
    which case ``error`` says what was wrong.  ``warnings`` lists every repair made for display
    (swapped corners, clamped coordinates, fenced JSON …); rewards never see those repairs.
    While a tracking or spatio-temporal answer streams, ``payload`` holds the seconds completed so far.
    """

    task: str
    phase: Phase
    think: str = ""
    answer_text: str | None = None
    payload: Payload | None = None
    error: str | None = None
    warnings: tuple[str, ...] = ()
    raw: str = ""
    data_type: str | None = None

    @property
    def ok(self) -> bool:
        return self.payload is not None and self.error is None

    @property
    def is_final(self) -> bool:
        return self.phase == "done"

    # -- JSON round trip ----------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {
            "task": self.task,
            "phase": self.phase,
            "think": self.think,
            "answer_text": self.answer_text,
            "payload": None if self.payload is None else self.payload.to_json(),
            "error": self.error,
            "warnings": list(self.warnings),
            "raw": self.raw,
            "data_type": self.data_type,
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, allow_nan=False)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Answer":
        """Rebuild an answer from :meth:`to_dict`.  Raises ``ValueError`` naming the bad field."""
        if not isinstance(d, dict):
            raise ValueError(f"an answer must be a JSON object, got {type(d).__name__}")
        for key in ("task", "phase"):
            if not isinstance(d.get(key), str):
                raise ValueError(f"answer field {key!r} must be a string")
        if d["phase"] not in PHASES:
            raise ValueError(f"answer field 'phase' must be one of {PHASES}, got {d['phase']!r}")
        payload = d.get("payload")
        warnings = d.get("warnings") or []
        if not isinstance(warnings, list):
            raise ValueError("answer field 'warnings' must be a list")
        return cls(
            task=d["task"],
            phase=d["phase"],  # type: ignore[arg-type]
            think=str(d.get("think") or ""),
            answer_text=d.get("answer_text"),
            payload=None if payload is None else payload_from_json(payload),
            error=d.get("error"),
            warnings=tuple(str(w) for w in warnings),
            raw=str(d.get("raw") or ""),
            data_type=d.get("data_type"),
        )

    @classmethod
    def from_json(cls, text: str) -> "Answer":
        try:
            d = json.loads(text)
        except (TypeError, ValueError) as e:
            raise ValueError(f"answer JSON does not parse: {e}") from None
        return cls.from_dict(d)
