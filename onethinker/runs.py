"""One model run on one request: what the app keeps per session, offers as a download and judges.

A :class:`Run` holds the engine's values as they came: the :class:`~onethinker.engine.Request`, what
was sent (:class:`~onethinker.engine.Sent`), the raw text, and the :class:`~onethinker.answer.Answer`
parsed from it.  ``Run.bundle()`` is the one-file download (raw text, answer, sent, settings), and
:func:`make_record` turns one run (vote, correction) or two runs of the same request (preference)
into a :class:`~onethinker.feedback.Record`, storing the media in the feedback store.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Sequence

from onethinker.answer import Answer, parse
from onethinker.engine.base import Sent, TextStream
from onethinker.engine.request import Request
from onethinker.tasks import VIDEO, get_task

BUNDLE_VERSION = 1


@dataclass
class Run:
    """A finished (or stopped) run.  ``answer`` is ``parse(text, task, final=True)``."""

    request: Request
    sent: Sent
    text: str
    answer: Answer
    finish_reason: str | None = None  # "stop", "length", "cancelled", "error"
    completion_tokens: int | None = None
    ttft_s: float | None = None
    elapsed_s: float | None = None
    error: str | None = None  # the engine's message when generation failed part-way
    created: float = field(default_factory=time.time)

    @classmethod
    def from_stream(cls, request: Request, stream: TextStream, error: str | None = None) -> "Run":
        """The run as it stands when ``stream`` has ended (normally, stopped or failed)."""
        text = stream.text
        return cls(request, stream.sent, text, parse(text, stream.sent.task, data_type=stream.sent.data_type),
                   "error" if error else stream.finish_reason, stream.completion_tokens, stream.ttft_s,
                   stream.elapsed_s, error)

    @property
    def task(self) -> str:
        return self.sent.task

    @property
    def data_type(self) -> str:
        return self.sent.data_type

    @property
    def model(self) -> str:
        return self.sent.model

    @property
    def frame_times(self) -> tuple[float, ...]:
        """Seconds of the video frames the model saw (empty for images)."""
        for m in self.sent.media:
            if m.get("kind") == VIDEO:
                return tuple(float(t) for t in m.get("timestamps") or ())
        return ()

    @property
    def tokens_per_s(self) -> float | None:
        if not self.completion_tokens or not self.elapsed_s:
            return None
        gen_s = self.elapsed_s - (self.ttft_s or 0.0)
        return self.completion_tokens / gen_s if gen_s > 0 else None

    def media(self) -> list[tuple[str, str]]:
        """``(path, kind)`` of the request's media files, video first (the order the model saw them)."""
        out = []
        if self.request.video is not None:
            out.append((os.fspath(self.request.video), "video"))
        if self.request.image is not None and isinstance(self.request.image, (str, os.PathLike)):
            out.append((os.fspath(self.request.image), "image"))
        return out

    def settings(self) -> dict[str, Any]:
        """The request's settings: sampling, video sampling (None = official) and image pixel limits."""
        r = self.request
        return {"sampling": asdict(r.sampling),
                "video_sampling": None if r.video_sampling is None else asdict(r.video_sampling),
                "image_max_pixels": r.image_max_pixels, "image_min_pixels": r.image_min_pixels}

    def bundle(self) -> dict[str, Any]:
        """Everything about the run in plain JSON: raw text, parsed answer, what was sent, settings."""
        return {
            "version": BUNDLE_VERSION,
            "task": self.task, "data_type": self.data_type, "question": self.request.question,
            "options": list(self.request.options or ()), "model": self.model, "backend": self.sent.backend,
            "raw": self.text, "answer": self.answer.to_dict(), "sent": self.sent.to_dict(),
            "settings": self.settings(), "finish_reason": self.finish_reason,
            "completion_tokens": self.completion_tokens, "ttft_s": self.ttft_s, "elapsed_s": self.elapsed_s,
            "error": self.error,
        }

    def write_bundle(self, path: str | os.PathLike) -> str:
        with open(path, "w", encoding="utf-8") as f:
            json.dump(self.bundle(), f, ensure_ascii=False, indent=1, default=str)
        return os.fspath(path)


def parse_truth(text: str, task: str, data_type: str | None = None) -> Answer | None:
    """A reference answer typed by a person (``{"boxes": [...]}``, ``B``, ``<answer>…</answer>``).

    None for empty text; otherwise an :class:`Answer` whose ``error`` says why it cannot be used.
    """
    if not isinstance(text, str) or not text.strip():
        return None
    from onethinker.rewards import extract_answer  # the rule score() reads ground truth with

    inner = extract_answer(text)
    body = text.strip() if inner is None else inner
    return parse(f"<answer>{body}</answer>", get_task(task, data_type), data_type=data_type, extent=None)


def make_record(store: Any, runs: Sequence[Run], feedback: Any, session_id: str = "") -> Any:
    """A :class:`~onethinker.feedback.Record` for ``runs`` (one, or two of the same request) and ``feedback``.

    The media are stored in ``store`` first (content-addressed); ``session_id`` is hashed by the store.
    Raises :class:`~onethinker.feedback.FeedbackError` naming the field when the record is refused.
    """
    from onethinker.feedback import FeedbackError, Record

    if not runs or len(runs) > 2:
        raise FeedbackError("outputs", f"a record holds one or two runs, got {len(runs)}")
    first = runs[0]
    for other in runs[1:]:
        if other.sent.prompt != first.sent.prompt or other.media() != first.media():
            raise FeedbackError("outputs", "both outputs of a preference must answer the same request")
    media = tuple(store.put_media(path, kind) for path, kind in first.media())
    return Record(
        task=first.task, data_type=first.data_type, prompt=first.sent.prompt, question=first.request.question,
        outputs=tuple(r.text for r in runs), answers=tuple(r.answer for r in runs), feedback=feedback,
        options=tuple(str(o) for o in (first.request.options or ()) if str(o).strip()), media=media,
        model_id=first.model, backend=first.sent.backend,
        sampling={k: v for k, v in first.sent.sampling.items() if v is None or isinstance(v, (str, int, float, bool))},
        frame_times=first.frame_times, session=store.hash_session(session_id) if session_id else "",
    )
