"""``@gpu(duration=…)``: ``spaces.GPU`` on a ZeroGPU Space, the undecorated function everywhere else."""

from __future__ import annotations

import os
from typing import Any, Callable


def on_zero_gpu() -> bool:
    """True on a ZeroGPU Space (which sets ``SPACES_ZERO_GPU``)."""
    return os.environ.get("SPACES_ZERO_GPU", "").strip().lower() in ("1", "true", "yes")


def gpu(fn: Callable | None = None, *, duration: "int | Callable[..., int]" = 120) -> Any:
    """Mark GPU work.  Off ZeroGPU this returns ``fn`` itself (no import of ``spaces``, no overhead).

    ``duration`` is seconds, or a function of the same arguments that returns seconds (ZeroGPU's
    dynamic duration).  Must be applied at import time, as ZeroGPU requires.
    """

    def wrap(f: Callable) -> Callable:
        if not on_zero_gpu():
            return f
        import spaces

        return spaces.GPU(f, duration=duration)

    return wrap(fn) if fn is not None else wrap
