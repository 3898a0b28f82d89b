"""Open a video or image file and say clearly what is wrong with it when it cannot be used."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


class MediaError(ValueError):
    """A media file cannot be used; the message names the file and what to do."""


@dataclass(frozen=True)
class VideoInfo:
    path: str
    num_frames: int
    fps: float
    width: int
    height: int

    @property
    def duration(self) -> float:
        return self.num_frames / self.fps if self.fps > 0 else 0.0


def check_file(path: str | os.PathLike, kind: str = "video") -> Path:
    """``path`` as a Path if it is a non-empty regular file, else :class:`MediaError` saying which it is not."""
    p = Path(path)
    if not p.exists():
        raise MediaError(f"{p}: file not found")
    if not p.is_file():
        raise MediaError(f"{p}: not a regular file")
    if p.stat().st_size == 0:
        raise MediaError(f"{p}: the file is empty (0 bytes); upload the {kind} again")
    return p


def open_video(path: str | os.PathLike, num_threads: int = 0):
    """A ``decord.VideoReader`` over ``path``; raises :class:`MediaError` with a clear message."""
    p = check_file(path)
    import decord

    try:
        vr = decord.VideoReader(str(p), num_threads=num_threads)
    except Exception as e:  # decord raises RuntimeError/DECORDError with C++ log text
        raise MediaError(
            f"{p.name}: cannot decode this file as a video ({str(e).splitlines()[0][:120]}); "
            "it may be truncated or in an unsupported format — re-encode it as H.264 MP4"
        ) from None
    if len(vr) == 0:
        raise MediaError(f"{p.name}: the video has no frames")
    return vr


def probe_video(path: str | os.PathLike) -> VideoInfo:
    """Frame count, fps and size of a video; raises :class:`MediaError` if it cannot be read."""
    vr = open_video(path)
    fps = float(vr.get_avg_fps() or 0.0)
    if not fps > 0:
        raise MediaError(f"{Path(path).name}: the video reports no frame rate")
    h, w = vr[0].shape[:2]
    return VideoInfo(str(path), len(vr), fps, int(w), int(h))
