"""Browser-playable H.264 MP4 writing through imageio-ffmpeg's bundled ffmpeg.

OpenCV on this stack writes only mp4v (browsers will not play it), so every video the house shows is
encoded here: libx264, yuv420p, ``+faststart`` (the index goes at the front so playback starts before
the download ends).  Frames are piped to the encoder as they are produced, through a queue of at most
``queue`` frames (default 2) that a background thread drains, so encoding overlaps with drawing;
nothing holds the whole video in memory.  A frame handed to ``write`` must not be changed afterwards
(the queue still refers to it); pass ``queue=0`` to send synchronously.

    with VideoWriter("out.mp4", fps=16) as w:
        for frame in frames:          # H×W×3 uint8 RGB
            w.write(frame)

:func:`probe_encoded` reads back what a file actually contains (codec, pixel format, size, frame count,
duration), for tests and for checking uploads.
"""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import numpy as np


class VideoWriteError(RuntimeError):
    """The encoder could not be started or failed while writing; the message says why."""


def ffmpeg_exe() -> str:
    """Path of the ffmpeg binary bundled with imageio-ffmpeg."""
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


class VideoWriter:
    """Streams RGB frames into an H.264 MP4.

    ``size`` (width, height) is taken from the first frame when not given; every later frame must
    have that size.  Odd sizes are padded by one pixel at the right/bottom (yuv420p needs even
    sizes).  ``crf`` (0–51, lower is better) and ``preset`` (ultrafast … veryslow) are x264's.
    """

    def __init__(
        self,
        path: str | os.PathLike,
        fps: float,
        size: tuple[int, int] | None = None,
        *,
        crf: int = 23,
        preset: str = "veryfast",
        pix_fmt_in: str = "rgb24",
        threads: int | None = None,
        queue: int = 2,
    ) -> None:
        if not (isinstance(fps, (int, float)) and np.isfinite(fps) and fps > 0):
            raise ValueError(f"fps must be a positive number, got {fps!r}")
        self.path = str(path)
        self.fps = float(fps)
        self.size = size
        self.crf = int(crf)
        self.preset = preset
        self.pix_fmt_in = pix_fmt_in
        self.threads = threads
        self.frames_written = 0
        self._gen = None
        self._closed = False
        self._qsize = max(0, int(queue))
        self._q = None
        self._thread = None
        self._error: BaseException | None = None

    # -- context manager -------------------------------------------------------------------
    def __enter__(self) -> "VideoWriter":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()

    # -- writing ---------------------------------------------------------------------------
    def _start(self, width: int, height: int) -> None:
        import imageio_ffmpeg

        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        out = [
            "-crf", str(self.crf),
            "-preset", self.preset,
            "-movflags", "+faststart",
            "-vf", "pad=ceil(iw/2)*2:ceil(ih/2)*2",
        ]
        if self.threads:
            out += ["-threads", str(int(self.threads))]
        self._gen = imageio_ffmpeg.write_frames(
            self.path,
            (int(width), int(height)),
            pix_fmt_in=self.pix_fmt_in,
            pix_fmt_out="yuv420p",
            fps=self.fps,
            quality=None,
            codec="libx264",
            macro_block_size=1,
            ffmpeg_log_level="error",
            output_params=out,
        )
        try:
            self._gen.send(None)
        except Exception as e:  # pragma: no cover - ffmpeg missing or broken
            raise VideoWriteError(f"{self.path}: cannot start the H.264 encoder ({e})") from None
        if self._qsize:
            import queue
            import threading

            self._q = queue.Queue(maxsize=self._qsize)
            self._thread = threading.Thread(target=self._pump, name="h264-writer", daemon=True)
            self._thread.start()

    def _pump(self) -> None:
        """Background sender: pipe writes (which block while ffmpeg encodes) overlap with drawing."""
        while True:
            blocks = self._q.get()
            if blocks is None:
                return
            if self._error is not None:
                continue  # drain
            try:
                for b in blocks:
                    self._gen.send(b)
            except BaseException as e:
                self._error = e

    def _send(self, blocks: list[np.ndarray]) -> None:
        if self._error is not None:
            err, self._error = self._error, None
            self.abort()
            raise VideoWriteError(f"{self.path}: the encoder stopped while writing ({err})") from None
        if self._q is not None:
            self._q.put(blocks)
            return
        try:
            for b in blocks:
                self._gen.send(b)
        except (OSError, StopIteration, RuntimeError) as e:
            self.abort()
            raise VideoWriteError(f"{self.path}: the encoder stopped while writing ({e})") from None

    def _join(self) -> None:
        if self._thread is not None:
            self._q.put(None)
            self._thread.join()
            self._thread = None

    def write(self, frame: np.ndarray) -> None:
        frame = np.asarray(frame)
        if frame.ndim != 3 or frame.shape[2] != 3:
            raise ValueError(f"a frame must be H×W×3, got shape {frame.shape}")
        if frame.dtype != np.uint8:
            frame = np.clip(frame, 0, 255).astype(np.uint8)
        self._emit([frame])

    def write_rows(self, *blocks: np.ndarray) -> None:
        """One frame given as row blocks stacked top to bottom (e.g. picture, then a footer strip),
        sent to the encoder one after the other without building the whole frame."""
        if len(blocks) == 1:
            return self.write(blocks[0])
        bs = [np.asarray(b) for b in blocks]
        w = bs[0].shape[1]
        if any(b.ndim != 3 or b.shape[1] != w or b.shape[2] != 3 or b.dtype != np.uint8 for b in bs):
            raise ValueError("row blocks must be uint8 arrays H×W×3 of one width")
        self._emit(bs)

    def _emit(self, blocks: list[np.ndarray]) -> None:
        """Send one frame (uint8 row blocks of one width) to the encoder, starting it on the first frame."""
        if self._closed:
            raise VideoWriteError(f"{self.path}: writer is closed")
        w, h = blocks[0].shape[1], sum(b.shape[0] for b in blocks)
        if self._gen is None:
            if self.size is None:
                self.size = (w, h)
            self._start(*self.size)
        if (w, h) != tuple(self.size):
            raise ValueError(f"frame size {w}×{h} differs from the video size {self.size[0]}×{self.size[1]}")
        self._send([np.ascontiguousarray(b) for b in blocks])
        self.frames_written += 1

    def close(self) -> str:
        """Finish the file; returns its path.  Closing a writer that got no frames is an error."""
        if self._closed:
            return self.path
        self._closed = True
        if self._gen is None:
            raise VideoWriteError(f"{self.path}: no frames were written")
        self._join()
        if self._error is not None:
            err, self._error = self._error, None
            self.abort()
            raise VideoWriteError(f"{self.path}: the encoder stopped while writing ({err})") from None
        try:
            self._gen.close()
        except Exception as e:  # imageio-ffmpeg raises on a non-zero exit
            raise VideoWriteError(f"{self.path}: the encoder failed to finish ({e})") from None
        return self.path

    def abort(self) -> None:
        """Stop the encoder and remove the partial file."""
        self._closed = True
        if self._thread is not None and self._thread is not threading_current():
            self._error = self._error or RuntimeError("aborted")
            self._join()
        if self._gen is not None:
            try:
                self._gen.close()
            except Exception:
                pass
        try:
            os.remove(self.path)
        except OSError:
            pass


def threading_current():
    import threading

    return threading.current_thread()


def write_video(path: str | os.PathLike, frames: Iterable[np.ndarray], fps: float, **kw) -> str:
    """Encode an iterable of RGB frames (consumed lazily) to ``path``; returns the path."""
    with VideoWriter(path, fps, **kw) as w:
        for f in frames:
            w.write(f)
    return w.path


@dataclass(frozen=True)
class EncodedInfo:
    codec: str
    pix_fmt: str
    width: int
    height: int
    fps: float
    num_frames: int
    duration: float
    faststart: bool


def probe_encoded(path: str | os.PathLike) -> EncodedInfo:
    """What the file really holds, as ffmpeg decodes it (codec, pixel format, frames, duration)."""
    import imageio_ffmpeg

    p = str(path)
    proc = subprocess.run([ffmpeg_exe(), "-hide_banner", "-i", p], capture_output=True, text=True)
    m = re.search(r"Stream #\S+.*?Video: (\w+).*?, (\w+).*?(\d{1,5})x(\d{1,5})", proc.stderr)
    if not m:
        raise VideoWriteError(f"{p}: no video stream found ({proc.stderr.strip().splitlines()[-1:]})")
    fps_m = re.search(r"([\d.]+) fps", proc.stderr)
    n, secs = imageio_ffmpeg.count_frames_and_secs(p)
    with open(p, "rb") as f:
        head = f.read(1 << 20)
    moov, mdat = head.find(b"moov"), head.find(b"mdat")
    return EncodedInfo(
        codec=m.group(1),
        pix_fmt=m.group(2),
        width=int(m.group(3)),
        height=int(m.group(4)),
        fps=float(fps_m.group(1)) if fps_m else 0.0,
        num_frames=int(n),
        duration=float(secs),
        faststart=moov != -1 and (mdat == -1 or moov < mdat),
    )
