"""Open a video or image file and say clearly what is wrong with it when it cannot be used."""

from __future__ import annotations

import os
import stat
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


def check_file(path: str | os.PathLike, kind: str = "video", max_bytes: int | None = None) -> Path:
    """``path`` as a Path if it is a non-empty regular file (after following links) of at most ``max_bytes``.

    Only ``stat`` is called, never ``open``: opening a named pipe blocks until someone writes to it, and a
    device such as ``/dev/zero`` never ends, so both are refused before anything reads them.
    """
    p = Path(path)
    try:
        st = p.stat()
    except FileNotFoundError:
        raise MediaError(f"{p}: file not found") from None
    except OSError as e:
        raise MediaError(f"{p}: cannot read the file ({e.strerror or e})") from None
    check_stat(p, st, kind, max_bytes)
    return p


def check_stat(p: str | os.PathLike, st: os.stat_result, kind: str, max_bytes: int | None = None) -> None:
    """Raise :class:`MediaError` unless ``st`` is a non-empty regular file of at most ``max_bytes``."""
    if not stat.S_ISREG(st.st_mode):
        raise MediaError(f"{p}: not a regular file ({file_type(st.st_mode)}); use the {kind} file itself")
    if st.st_size == 0:
        raise MediaError(f"{p}: the file is empty (0 bytes); upload the {kind} again")
    if max_bytes is not None and st.st_size > max_bytes:
        raise MediaError(f"{p}: {st.st_size:,} bytes is {over_limit(kind, max_bytes)}")


def over_limit(kind: str, max_bytes: int) -> str:
    """The end of a "too large" message: the limit and what to do about it."""
    advice = "shorten or re-encode it" if kind == "video" else "downscale or compress it"
    return f"over the {format_bytes(max_bytes)} limit for {'an' if kind == 'image' else 'a'} {kind}; {advice}"


def file_type(mode: int) -> str:
    """What a non-regular file is, in words, for error messages."""
    kinds = ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a named pipe"), (stat.S_ISCHR, "a character device"),
             (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))
    return next((name for test, name in kinds if test(mode)), "an unusual file type")


def format_bytes(n: int) -> str:
    """``n`` bytes in the largest binary unit that keeps it at least 1 (``"50 MiB"``, ``"1.5 GiB"``)."""
    for unit, size in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= size:
            return f"{n / size:.3g} {unit}"
    return f"{n} bytes"


def open_video(path: str | os.PathLike, num_threads: int = 0):
    """A ``decord.VideoReader`` over ``path``; raises :class:`MediaError` with a clear message."""
    p = check_file(path)
    import decord

    try:
        vr = decord.VideoReader(str(p), num_threads=num_threads)
    except Exception as e:  # decord raises RuntimeError/DECORDError with C++ log text
        detail = str(e).splitlines()[0].replace(str(p), p.name)[:120]  # the full path would crowd out the reason
        raise MediaError(
            f"{p.name}: cannot decode this file as a video ({detail}); "
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
