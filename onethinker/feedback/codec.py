"""How a :class:`Record` is laid out in a database row, and the light view exports read.

Columns hold what one filters on (task, kind, model …) and the long texts (prompt, question); the
parsed answers are one JSON column and the rest of the record another (``body``).  Exports read
only ``body``, through :class:`Item`, and never rebuild ``Answer`` or payload objects; for that the
body carries three values computed once, when the record is written:

* ``answer_texts``: each output's parsed answer written back in the model's answer format
  (``payload.answer_text()``), or null when it did not parse;
* ``correction_text``: the same for a correction's payload;
* ``think``: the reasoning of the output the feedback is about (null for a preference).

``Answer.raw`` is not stored (it is the output text, kept once in ``body.outputs``).
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

from onethinker.answer import Answer
from onethinker.feedback.record import Correction, MediaRef, Preference, Record, feedback_from_dict
from onethinker.tasks import Task

COLUMNS = ("uid", "created", "session", "model_id", "model_revision", "backend", "task", "data_type", "kind",
           "prompt", "question", "body", "answers", "prompt_key")


_ENCODER = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":"))
_json = _ENCODER.encode


def encode(record: Record, task: Task) -> tuple[Any, ...]:
    """Row values in :data:`COLUMNS` order for a validated record (``task`` resolved by validation)."""
    answers = []
    for a in record.answers:
        d = a.to_dict()
        del d["raw"]
        answers.append(d)
    fb = record.feedback
    body = {
        "options": list(record.options),
        "media": [m.to_dict() for m in record.media],
        "sampling": dict(record.sampling),
        "frame_times": list(record.frame_times),
        "outputs": list(record.outputs),
        "feedback": fb.to_dict(),
        "answer_texts": [a.payload.answer_text() if a.ok else None for a in record.answers],  # type: ignore[union-attr]
        "correction_text": fb.payload.answer_text() if isinstance(fb, Correction) else None,
        "think": None if isinstance(fb, Preference) else record.answers[fb.output].think,
    }
    return (record.uid, record.created, record.session, record.model_id, record.model_revision, record.backend,
            task.id, record.data_type, fb.kind, record.prompt, record.question, _json(body), _json(answers),
            record.prompt_key)


def decode(rid: int, values: tuple[Any, ...]) -> Record:
    """The :class:`Record` back from a row (``values`` in :data:`COLUMNS` order)."""
    (uid, created, session, model_id, model_revision, backend, task, data_type, _kind, prompt, question, body,
     answers, _key) = values
    b = json.loads(body)
    outputs = tuple(b["outputs"])
    return Record(
        id=rid, uid=uid, created=created, session=session, model_id=model_id, model_revision=model_revision,
        backend=backend, task=task, data_type=data_type, prompt=prompt, question=question,
        options=tuple(b["options"]), media=tuple(MediaRef(**m) for m in b["media"]), sampling=b["sampling"],
        frame_times=tuple(b["frame_times"]), outputs=outputs,
        answers=tuple(Answer.from_dict({**a, "raw": outputs[i]}) for i, a in enumerate(json.loads(answers))),
        feedback=feedback_from_dict(b["feedback"]),
    )


ITEM_COLUMNS = ("id", "task", "data_type", "kind", "prompt", "question", "prompt_key", "body")


@lru_cache(maxsize=1 << 16)
def _media_ref(sha256: str, kind: str, ext: str) -> MediaRef:
    """One shared (immutable) MediaRef per medium: exports read the same media over and over."""
    return MediaRef(sha256, kind, ext)


class Item:
    """A stored record as exports read it: plain JSON values, no answer objects rebuilt."""

    __slots__ = ("id", "task", "data_type", "kind", "prompt", "question", "prompt_key", "body", "media")

    def __init__(self, row: tuple[Any, ...]) -> None:
        self.id, self.task, self.data_type, self.kind, self.prompt, self.question, self.prompt_key, body = row
        self.body: dict[str, Any] = json.loads(body)
        self.media = tuple(_media_ref(m["sha256"], m["kind"], m["ext"]) for m in self.body["media"])

    @property
    def feedback(self) -> dict[str, Any]:
        return self.body["feedback"]

    @property
    def think(self) -> str:
        """The reasoning of the output the feedback is about."""
        return self.body["think"] or ""

    def upvoted_answer(self) -> str | None:
        """The answer text of an up-voted output that parsed, else None."""
        fb = self.feedback
        if self.kind == "vote" and fb["value"] == 1:
            return self.body["answer_texts"][fb["output"]]
        return None
