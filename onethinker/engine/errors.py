"""The one error type the engine raises: its message names the file or model and says what to do."""

from __future__ import annotations


class EngineError(RuntimeError):
    """A request cannot be run.  ``str(error)`` is a complete sentence fit to show to a person.

    ``kind`` groups causes for callers that react differently: ``"input"`` (media, task, question),
    ``"model"`` (loading), ``"server"`` (HTTP backend), ``"generation"`` (failure while generating).
    """

    def __init__(self, message: str, kind: str = "input"):
        super().__init__(message)
        self.kind = kind


class InputError(EngineError):
    def __init__(self, message: str):
        super().__init__(message, "input")


class ModelLoadError(EngineError):
    def __init__(self, message: str):
        super().__init__(message, "model")


class ServerError(EngineError):
    def __init__(self, message: str, status: int | None = None):
        super().__init__(message, "server")
        self.status = status
