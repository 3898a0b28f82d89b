"""The backend interface and the streamed result every backend returns.

``backend.stream(request)`` does all the preparation eagerly (so bad input raises
:class:`~onethinker.engine.errors.EngineError` at once) and returns a :class:`TextStream`: an
iterator of text deltas that also records what was actually sent (:class:`Sent`), the finish reason,
token counts and timings.  ``generate`` drains a stream into a :class:`Completion`; ``generate_many``
answers a list of requests (together, where a backend can batch them); ``cancel`` stops every stream of the
backend; ``info`` describes the backend.
"""

from __future__ import annotations

import threading
import time
import weakref
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Iterator

if TYPE_CHECKING:
    from onethinker.engine.errors import EngineError

ProgressFn = Callable[[float, str], None]  # (fraction 0..1, message)


@dataclass
class Sent:
    """What a backend actually sent to the model, so overlays and exports line up with it."""

    backend: str
    model: str
    task: str
    data_type: str
    prompt: str  # the user turn's text
    messages: list[dict]  # official-format messages (media as paths / descriptions, never pixels)
    media: list[dict]  # per item: sizes, and for videos frame indices, timestamps, patch timestamps
    sampling: dict
    chat_text: str | None = None  # the full templated text (before vision tokens are expanded), when known
    prompt_tokens: int | None = None
    extra: dict = field(default_factory=dict)  # backend specifics (e.g. HTTP body options)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Completion:
    text: str
    finish_reason: str | None  # "stop", "length", "cancelled"
    completion_tokens: int | None
    prompt_tokens: int | None
    ttft_s: float | None
    elapsed_s: float | None
    sent: Sent


class TextStream(Iterator[str]):
    """Iterator of text deltas from one request; stop it with :meth:`cancel` or :meth:`close`."""

    def __init__(self, sent: Sent, t0: float | None = None):
        self.sent = sent
        self.text = ""
        self.finish_reason: str | None = None
        self.completion_tokens: int | None = None
        self.token_ids: list[int] | None = None
        self.ttft_s: float | None = None  # call -> first non-empty delta
        self.elapsed_s: float | None = None
        self._t0 = time.perf_counter() if t0 is None else t0
        self._cancel = threading.Event()
        self._gen: Iterator[str] | None = None
        self._done = False

    def _attach(self, gen: Iterator[str]) -> "TextStream":
        self._gen = gen
        return self

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    @property
    def done(self) -> bool:
        return self._done

    def __iter__(self) -> "TextStream":
        return self

    def __next__(self) -> str:
        while True:
            if self._gen is None or self._done:
                raise StopIteration
            try:
                delta = next(self._gen)
            except StopIteration:
                self._finish()
                raise
            except BaseException:
                self._finish()
                raise
            if not delta:
                continue
            if self.ttft_s is None:
                self.ttft_s = time.perf_counter() - self._t0
            self.text += delta
            return delta

    def _finish(self) -> None:
        if not self._done:
            self._done = True
            self.elapsed_s = time.perf_counter() - self._t0
            if self.finish_reason is None and self._cancel.is_set():
                self.finish_reason = "cancelled"

    def cancel(self) -> None:
        """Ask the backend to stop; the iterator then ends promptly with ``finish_reason == "cancelled"``."""
        self._cancel.set()

    def close(self) -> None:
        """Cancel and release everything now (also what happens when the consumer abandons the stream)."""
        self._cancel.set()
        gen, self._gen = self._gen, None
        if gen is not None and hasattr(gen, "close"):
            gen.close()
        self._finish()

    def __del__(self):  # an abandoned stream must not keep a model busy
        try:
            self._cancel.set()
        except Exception:
            pass

    def result(self) -> Completion:
        """Drain the stream and return the whole completion."""
        for _ in self:
            pass
        return Completion(self.text, self.finish_reason, self.completion_tokens, self.sent.prompt_tokens,
                          self.ttft_s, self.elapsed_s, self.sent)


class Backend:
    """Common part of the backends: ``stream`` is the one method each must provide."""

    name = "base"

    def __init__(self) -> None:
        self._active: "weakref.WeakSet[TextStream]" = weakref.WeakSet()

    def stream(self, request) -> TextStream:  # pragma: no cover - interface
        raise NotImplementedError

    def generate(self, request) -> Completion:
        return self.stream(request).result()

    def generate_many(self, requests, *, batch_size: int = 1) -> "list[Completion | EngineError]":
        """One result per request, in order: its :class:`Completion`, or the ``EngineError`` it raised (one bad
        request does not cost the others theirs).  ``batch_size`` is how many requests a backend may decode
        together; this default answers them one by one, and a backend that can batch overrides it."""
        from onethinker.engine.errors import EngineError

        out: list[Completion | EngineError] = []
        for request in requests:
            try:
                out.append(self.generate(request))
            except EngineError as e:
                out.append(e)
        return out

    def cancel(self) -> None:
        """Stop every stream this backend is running."""
        for s in list(self._active):
            s.cancel()

    def info(self) -> dict[str, Any]:
        return {"backend": self.name}

    def _track(self, s: TextStream) -> TextStream:
        self._active.add(s)
        return s
