"""Media paths from a file, resolved only inside a chosen media root.

A results or benchmark file is data from somewhere else: its ``path`` must not reach files outside
the media root.  Paths are relative to the root (a leading ``./`` is allowed, as the official files
write them); absolute paths, ``..`` and symbolic links that lead out of the root are refused with a
message for that row, and the rest of the file is unaffected.  Whether the file exists is a
separate question (:func:`media_file`), so a refused path and a missing file read differently.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath, PureWindowsPath

_DRIVE = re.compile(r"^[A-Za-z]:")


@dataclass(frozen=True)
class MediaPath:
    """``path`` inside the root, or ``error`` saying why the row's path was refused."""

    raw: str
    path: Path | None
    error: str | None = None
    kind: str | None = None  # "media_path" (refused) or "missing_media" (not there), with error

    @property
    def ok(self) -> bool:
        return self.error is None


def resolve_media(root: str | os.PathLike, raw: object) -> MediaPath:
    """Where ``raw`` (a row's ``path``) points inside ``root``; refused paths get ``error``. Never raises."""
    text = raw if isinstance(raw, str) else ""
    if not isinstance(raw, str) or not raw.strip():
        return MediaPath(text, None, f"no media path (got {raw!r})", "missing_field")
    rel = raw.strip().replace("\\", "/")
    while rel.startswith("./"):
        rel = rel[2:]
    if rel.startswith("/") or _DRIVE.match(rel) or PureWindowsPath(raw).is_absolute():
        return MediaPath(raw, None, f"absolute media path refused: {raw!r} (paths must be relative to the media root)",
                         "media_path")
    parts = PurePosixPath(rel).parts
    if ".." in parts:
        return MediaPath(raw, None, f"media path refused: {raw!r} leads out of the media root with '..'", "media_path")
    if not parts:
        return MediaPath(raw, None, f"no media path (got {raw!r})", "missing_field")
    base = Path(root).resolve()
    candidate = base.joinpath(*parts)
    real = candidate.resolve()  # follows every symbolic link on the way
    if real != base and base not in real.parents:
        return MediaPath(raw, None, f"media path refused: {raw!r} is a symbolic link out of the media root",
                         "media_path")
    return MediaPath(raw, real)


def media_file(root: str | os.PathLike, raw: object) -> MediaPath:
    """:func:`resolve_media` plus a check that a non-empty regular file is there."""
    m = resolve_media(root, raw)
    if not m.ok:
        return m
    if not m.path.exists():
        return MediaPath(m.raw, None, f"media file not found: {m.raw} (looked in {Path(root)})", "missing_media")
    if not m.path.is_file():
        return MediaPath(m.raw, None, f"media path {m.raw} is not a file", "missing_media")
    if m.path.stat().st_size == 0:
        return MediaPath(m.raw, None, f"media file {m.raw} is empty (0 bytes)", "missing_media")
    return m
