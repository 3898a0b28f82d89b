"""Atomic replacement of an export folder.

An export is written into a hidden temporary folder beside its destination and only then put in
place, so a crash (or a refused record, or a full disk) at any moment leaves the previous export as
it was.  POSIX cannot swap two directories in one step, so the swap is two renames
(``out`` → ``.out.old-…``, then ``.out.tmp-…`` → ``out``); if a crash falls between them, the next
export (or :func:`recover`) moves the old folder back first.  A lock file serialises exports to
the same destination across processes.  A destination that exists but is not an export made here
(no ``export.json`` manifest) is never replaced: a typo in ``--out`` must not delete someone's folder.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import tempfile
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

MANIFEST = "export.json"


class ExportError(RuntimeError):
    """The export could not be written; the previous export is untouched."""


def _siblings(out: Path, tag: str) -> list[Path]:
    return sorted(out.parent.glob(f".{out.name}.{tag}-*"))


def recover(out: Path) -> None:
    """Undo a swap cut short by a crash and remove temporary folders of crashed exports (caller holds the lock)."""
    backups = _siblings(out, "old")
    if backups and not out.exists():
        os.rename(backups[-1], out)
        backups = backups[:-1]
    for stale in backups + _siblings(out, "tmp"):
        shutil.rmtree(stale, ignore_errors=True)


@contextmanager
def _locked(out: Path) -> Iterator[None]:
    with open(out.parent / f".{out.name}.lock", "a+b") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


@contextmanager
def staged_folder(out: str | os.PathLike) -> Iterator[Path]:
    """Yield an empty temporary folder; on normal exit it replaces ``out`` atomically, on error it is removed."""
    dest = Path(out).absolute()
    dest.parent.mkdir(parents=True, exist_ok=True)
    with _locked(dest):
        recover(dest)
        if dest.exists() and (not dest.is_dir() or (any(dest.iterdir()) and not (dest / MANIFEST).is_file())):
            raise ExportError(f"{dest} exists and is not a feedback export (no {MANIFEST}); "
                              "refusing to replace it — choose another --out")
        tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.tmp-", dir=dest.parent))
        try:
            yield tmp
            _fsync_tree(tmp)
            if dest.exists():
                old = dest.parent / f".{dest.name}.old-{uuid.uuid4().hex}"
                os.rename(dest, old)
                os.rename(tmp, dest)
                shutil.rmtree(old, ignore_errors=True)
            else:
                os.rename(tmp, dest)
            _fsync_dir(dest.parent)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise


def _fsync_tree(root: Path) -> None:
    """Flush file contents before the rename publishes them (else a power cut could publish empty files)."""
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            fd = os.open(os.path.join(dirpath, name), os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        _fsync_dir(Path(dirpath))


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
