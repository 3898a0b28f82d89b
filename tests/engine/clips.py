"""Synthetic H.264 clips for engine tests and benchmarks (written with imageio-ffmpeg)."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def make_clip(path: str | Path, width: int, height: int, fps: float, seconds: float, *, preset: str = "ultrafast",
              gop: int | None = None) -> Path:
    """Write an H.264 MP4 whose frame ``i`` has a moving bar and a brightness that encodes ``i``."""
    import imageio_ffmpeg

    path = Path(path)
    n = max(1, int(round(fps * seconds)))
    params = ["-movflags", "+faststart", "-preset", preset]
    if gop:
        params += ["-g", str(gop)]
    w = imageio_ffmpeg.write_frames(str(path), (width, height), fps=fps, codec="libx264", pix_fmt_out="yuv420p",
                                    output_params=params, macro_block_size=1, quality=None, bitrate=None,
                                    ffmpeg_log_level="error")
    w.send(None)
    yy, xx = np.mgrid[0:height, 0:width]
    base = ((xx * 255) // max(1, width - 1)).astype(np.uint8)
    for i in range(n):
        frame = np.empty((height, width, 3), np.uint8)
        frame[..., 0] = base
        frame[..., 1] = (yy * 255 // max(1, height - 1)).astype(np.uint8)
        frame[..., 2] = (i * 7) % 256
        x0 = int((i / max(1, n - 1)) * (width - width // 8))
        frame[:, x0:x0 + max(2, width // 8), :] = 255
        w.send(np.ascontiguousarray(frame))
    w.close()
    return path
