"""Optional sync of exports to a Hugging Face dataset repo (for a Space, whose disk is not kept).

Off by default.  It turns on only when both a repo id and a token are configured
(``ONETHINKER_SYNC_REPO`` and ``HF_TOKEN`` or ``ONETHINKER_SYNC_TOKEN``; ``ONETHINKER_SYNC_EVERY_MIN``
sets the period, default 10 minutes).  Then, every period, :class:`ExportSync` re-exports the formats
into ``<folder>/<format>`` if the database has new records, and asks ``huggingface_hub``'s
``CommitScheduler`` to push the folder.  Exports swap folders while holding the scheduler's lock,
so a push never sees half an export.  The scheduling logic takes the upload as a plain function,
which is how the tests run it without a network.
"""

from __future__ import annotations

import logging
import os
import threading
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

from onethinker.feedback.exports import ExportOptions, export
from onethinker.feedback.store import FeedbackStore

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SyncConfig:
    repo_id: str | None = None
    token: str | None = None
    every_minutes: float = 10.0
    formats: tuple[str, ...] = ("sft", "rl", "dpo")
    path_in_repo: str = "exports"
    private: bool = True

    @property
    def enabled(self) -> bool:
        return bool(self.repo_id and self.token)

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> "SyncConfig":
        every = env.get("ONETHINKER_SYNC_EVERY_MIN", "10")
        try:
            minutes = float(every)
        except ValueError:
            raise ValueError(f"ONETHINKER_SYNC_EVERY_MIN must be a number of minutes, got {every!r}") from None
        if minutes <= 0:
            raise ValueError("ONETHINKER_SYNC_EVERY_MIN must be positive")
        return cls(env.get("ONETHINKER_SYNC_REPO") or None,
                   env.get("ONETHINKER_SYNC_TOKEN") or env.get("HF_TOKEN") or None, minutes)


class ExportSync:
    """Re-export when the store changed, then call ``upload()``; on a timer thread or by hand."""

    def __init__(self, store: FeedbackStore, folder: str | os.PathLike, upload: Callable[[], Any], *,
                 every_s: float = 600.0, formats: tuple[str, ...] = ("sft", "rl", "dpo"),
                 lock: Any = None, options: ExportOptions = ExportOptions()) -> None:
        self.store, self.folder, self.upload = store, Path(folder), upload
        self.every_s, self.formats, self.options = every_s, formats, options
        self._lock = lock if lock is not None else nullcontext()
        self._done = -1  # store revision last exported and uploaded
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.runs = 0  # completed syncs
        self.errors = 0  # failed attempts (logged; the next tick tries again)

    def run_once(self) -> bool:
        """Export and upload if there are records the last sync did not carry; True when it synced."""
        revision = self.store.revision()
        if revision == self._done:
            return False
        with self._lock:
            for fmt in self.formats:
                export(self.store, fmt, self.folder / fmt, self.options)
        self.upload()
        self._done = revision
        self.runs += 1
        return True

    def _tick(self) -> None:
        try:
            self.run_once()
        except Exception:  # a failed push must not end the loop: the next tick retries
            self.errors += 1
            log.exception("feedback sync failed; will retry in %.0f s", self.every_s)

    def _loop(self) -> None:
        while not self._stop.wait(self.every_s):
            self._tick()

    def start(self) -> "ExportSync":
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="feedback-sync", daemon=True)
            self._thread.start()
        return self

    def stop(self, final_sync: bool = True) -> None:
        """Stop the timer; by default sync one last time so nothing recorded before shutdown is left behind."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        if final_sync:
            self._tick()


def start_sync(store: FeedbackStore, folder: str | os.PathLike, config: SyncConfig | None = None,
               scheduler_factory: Callable[..., Any] | None = None) -> ExportSync | None:
    """Start syncing when configured; returns None (and touches no network) when it is not.

    ``scheduler_factory`` defaults to ``huggingface_hub.CommitScheduler``; the scheduler uploads,
    :class:`ExportSync` decides when there is something new to export.
    """
    config = config or SyncConfig.from_env()
    if not config.enabled:
        return None
    if scheduler_factory is None:
        from huggingface_hub import CommitScheduler as scheduler_factory  # noqa: N813
    Path(folder).mkdir(parents=True, exist_ok=True)
    scheduler = scheduler_factory(
        repo_id=config.repo_id, repo_type="dataset", folder_path=str(folder), path_in_repo=config.path_in_repo,
        every=config.every_minutes, token=config.token, private=config.private,
        ignore_patterns=[".*", "**/.*"],  # lock files and half-written temporary folders
    )
    sync = ExportSync(store, folder, upload=lambda: scheduler.trigger().result(), every_s=config.every_minutes * 60,
                      formats=config.formats, lock=scheduler.lock)
    return sync.start()
