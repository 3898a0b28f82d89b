"""What one judgement looks like: a :class:`Record` holding the request, the model's outputs and one
piece of feedback (:class:`Vote`, :class:`Preference` or :class:`Correction`).

Parsed answers are kept as :class:`onethinker.answer.Answer` and corrections as answer payloads, so
nothing downstream ever re-parses a widget's value.  ``to_dict``/``from_dict`` give a plain JSON form
(for files, APIs and tests; the database layout is :mod:`onethinker.feedback.codec`); ``from_dict``
raises :class:`FeedbackError` naming the field that is wrong.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, ClassVar, Mapping, Union

from onethinker.answer import Answer, Payload, payload_from_json


class FeedbackError(ValueError):
    """A record that cannot be stored; ``field`` names the offending field (``"feedback.correction.boxes[2]"``)."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


def utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


@dataclass(frozen=True)
class MediaRef:
    """A stored medium, addressed by the sha256 of its bytes (see :class:`~onethinker.feedback.media.MediaStore`)."""

    sha256: str
    kind: str  # "image" or "video"
    ext: str  # ".png", ".mp4" … chosen from the file's content, never from an uploaded name

    @property
    def filename(self) -> str:
        return f"{self.sha256}{self.ext}"

    def to_dict(self) -> dict[str, str]:
        return {"sha256": self.sha256, "kind": self.kind, "ext": self.ext}


@dataclass(frozen=True)
class Vote:
    """Thumbs up (+1) or down (−1) on ``outputs[output]``."""

    value: int
    output: int = 0
    comment: str = ""
    kind: ClassVar[str] = "vote"

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "value": self.value, "output": self.output, "comment": self.comment}


@dataclass(frozen=True)
class Preference:
    """Which of two outputs is better: ``outputs[chosen]`` over the other one."""

    chosen: int
    comment: str = ""
    kind: ClassVar[str] = "preference"

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "chosen": self.chosen, "comment": self.comment}


@dataclass(frozen=True)
class Correction:
    """A corrected answer for ``outputs[output]``, as a payload of the task's type (0–1000 grid).

    What an SFT export puts in front of the corrected answer is never invented:

    * ``rationale``: reasoning the reviewer wrote for the corrected answer, meant to be trained on;
    * else ``keep_reasoning``: the reviewer judged the model's own reasoning sound, so it is kept;
    * else the correction teaches no reasoning and goes to the ``rl`` / ``eval`` exports only.

    ``comment`` is a note for people (why it was corrected); it is never trained on.
    """

    payload: Payload
    output: int = 0
    keep_reasoning: bool = False
    comment: str = ""
    rationale: str = ""
    kind: ClassVar[str] = "correction"

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "payload": self.payload.to_json(),
            "output": self.output,
            "keep_reasoning": self.keep_reasoning,
            "comment": self.comment,
            "rationale": self.rationale,
        }


Feedback = Union[Vote, Preference, Correction]
FEEDBACK_KINDS = ("vote", "preference", "correction")


def same_output(a: str, b: str) -> bool:
    """Two outputs a preference cannot tell apart (equal but for surrounding whitespace)."""
    return a.strip() == b.strip()


def prompt_key(prompt: str, media_hashes: "list[str] | tuple[str, ...]") -> str:
    """Identifies "the same request": same exact prompt and same media bytes (sha256 of both)."""
    h = hashlib.sha256(prompt.encode("utf-8"))
    for m in media_hashes:
        h.update(b"\0" + m.encode("ascii"))
    return h.hexdigest()


def new_uid() -> str:
    return uuid.uuid4().hex


@dataclass(frozen=True)
class Record:
    """One judged request.  ``id`` is set by the store; ``uid`` makes a retried write idempotent."""

    task: str
    data_type: str
    prompt: str  # the exact user text the model saw
    question: str
    outputs: tuple[str, ...]  # raw model outputs (two for a preference)
    answers: tuple[Answer, ...]  # the parsed outputs, one per output
    feedback: Feedback
    options: tuple[str, ...] = ()
    media: tuple[MediaRef, ...] = ()
    model_id: str = ""
    model_revision: str = ""
    backend: str = ""
    sampling: Mapping[str, Any] = field(default_factory=dict)
    frame_times: tuple[float, ...] = ()  # seconds of the video frames the model saw
    session: str = ""  # FeedbackStore.hash_session(...) of the session or user id, never the raw id
    uid: str = field(default_factory=new_uid)
    created: str = field(default_factory=utc_now)
    id: int | None = None

    @property
    def prompt_key(self) -> str:
        return prompt_key(self.prompt, [m.sha256 for m in self.media])

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "uid": self.uid, "created": self.created, "session": self.session,
            "model_id": self.model_id, "model_revision": self.model_revision, "backend": self.backend,
            "task": self.task, "data_type": self.data_type, "prompt": self.prompt, "question": self.question,
            "options": list(self.options), "media": [m.to_dict() for m in self.media],
            "sampling": dict(self.sampling), "frame_times": list(self.frame_times),
            "outputs": list(self.outputs), "answers": [a.to_dict() for a in self.answers],
            "feedback": self.feedback.to_dict(),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "Record":
        """Inverse of :meth:`to_dict`; checks shapes only (see :func:`~onethinker.feedback.validate.validate`)."""
        if not isinstance(d, Mapping):
            raise FeedbackError("record", f"must be a JSON object, got {type(d).__name__}")
        text = {k: _text(d, k) for k in ("task", "data_type", "prompt", "question")}
        meta = {k: _text(d, k, "") for k in ("model_id", "model_revision", "backend", "session")}
        if d.get("uid") is not None:
            meta["uid"] = _text(d, "uid")
        if d.get("created") is not None:
            meta["created"] = _text(d, "created")
        sampling = d.get("sampling") or {}
        if not isinstance(sampling, Mapping):
            raise FeedbackError("sampling", "must be an object of settings")
        return cls(
            **text, **meta,
            options=tuple(_text_list(d, "options")),
            outputs=tuple(_text_list(d, "outputs")),
            media=tuple(_media(m, f"media[{i}]") for i, m in enumerate(_list(d, "media"))),
            answers=tuple(_answer(a, f"answers[{i}]") for i, a in enumerate(_list(d, "answers"))),
            feedback=feedback_from_dict(d.get("feedback")),
            sampling=dict(sampling),
            frame_times=tuple(_number(v, f"frame_times[{i}]") for i, v in enumerate(_list(d, "frame_times"))),
            id=d.get("id") if isinstance(d.get("id"), int) else None,
        )


def feedback_from_dict(d: Any) -> Feedback:
    if not isinstance(d, Mapping):
        raise FeedbackError("feedback", "must be an object with a 'kind'")
    kind = d.get("kind")
    comment = d.get("comment") or ""
    if not isinstance(comment, str):
        raise FeedbackError("feedback.comment", "must be text")
    if kind == "vote":
        return Vote(_int(d.get("value"), "feedback.value"), _int(d.get("output", 0), "feedback.output"), comment)
    if kind == "preference":
        return Preference(_int(d.get("chosen"), "feedback.chosen"), comment)
    if kind == "correction":
        try:
            payload = payload_from_json(d.get("payload"))
        except ValueError as e:
            raise FeedbackError("feedback.correction", str(e)) from None
        keep = d.get("keep_reasoning", False)
        if not isinstance(keep, bool):
            raise FeedbackError("feedback.keep_reasoning", "must be true or false")
        rationale = d.get("rationale") or ""  # absent in records written before rationales existed
        if not isinstance(rationale, str):
            raise FeedbackError("feedback.rationale", "must be text")
        return Correction(payload, _int(d.get("output", 0), "feedback.output"), keep, comment, rationale)
    raise FeedbackError("feedback.kind", f"must be one of {FEEDBACK_KINDS}, got {kind!r}")


# -- shape helpers: each names the field it reads --------------------------------------------


def _text(d: Mapping[str, Any], key: str, default: str | None = None) -> str:
    v = d.get(key, default)
    if v is None and default is not None:
        v = default
    if not isinstance(v, str):
        raise FeedbackError(key, f"must be text, got {type(v).__name__}")
    return v


def _list(d: Mapping[str, Any], key: str) -> list[Any]:
    v = d.get(key)
    if v is None:
        return []
    if not isinstance(v, (list, tuple)):
        raise FeedbackError(key, f"must be a list, got {type(v).__name__}")
    return list(v)


def _text_list(d: Mapping[str, Any], key: str) -> list[str]:
    items = _list(d, key)
    for i, v in enumerate(items):
        if not isinstance(v, str):
            raise FeedbackError(f"{key}[{i}]", f"must be text, got {type(v).__name__}")
    return items


def _int(v: Any, name: str) -> int:
    if isinstance(v, bool) or not isinstance(v, int):
        raise FeedbackError(name, f"must be an integer, got {v!r}")
    return v


def _number(v: Any, name: str) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise FeedbackError(name, f"must be a number, got {v!r}")
    return float(v)


def _media(m: Any, name: str) -> MediaRef:
    if not isinstance(m, Mapping):
        raise FeedbackError(name, "must be an object with sha256, kind and ext")
    try:
        return MediaRef(_text(m, "sha256"), _text(m, "kind"), _text(m, "ext"))
    except FeedbackError as e:
        raise FeedbackError(f"{name}.{e.field}", e.problem) from None


def _answer(a: Any, name: str) -> Answer:
    try:
        return Answer.from_dict(a)
    except ValueError as e:
        raise FeedbackError(name, str(e)) from None
