"""Synthetic media and pixel checks for the render tests."""

from __future__ import annotations

import numpy as np

from onethinker.media.video_writer import write_video

GREY = 80


def make_video(path, n=24, w=96, h=64, fps=8.0, grey=GREY, marker=False) -> str:
    """A flat grey clip; with ``marker`` the top-left 8×8 block encodes the frame index in its red value."""

    def frames():
        for i in range(n):
            f = np.full((h, w, 3), grey, np.uint8)
            if marker:
                f[:8, :8] = (min(255, 8 * i), 0, 0)
            yield f

    return write_video(str(path), frames(), fps=fps)


def decode(path) -> list[np.ndarray]:
    import imageio_ffmpeg

    gen = imageio_ffmpeg.read_frames(str(path))
    meta = next(gen)
    w, h = meta["size"]
    return [np.frombuffer(b, np.uint8).reshape(h, w, 3) for b in gen]


def near(px, rgb, tol=60) -> bool:
    return bool(np.abs(np.asarray(px, int) - np.asarray(rgb, int)).max() <= tol)


def colour_mask(img: np.ndarray, rgb, tol=60) -> np.ndarray:
    return np.abs(img.astype(int) - np.asarray(rgb, int)).max(axis=-1) <= tol


def moving_square_video(path, n, w, h, fps, side, x0, y0, speed, grey=GREY) -> str:
    """A white ``side``-pixel square on grey whose left edge is at ``x0 + speed·t`` (t = i / fps), top at ``y0``."""

    def frames():
        for i in range(n):
            f = np.full((h, w, 3), grey, np.uint8)
            x = int(round(x0 + speed * i / fps))
            f[y0:y0 + side, x:x + side] = 255
            yield f

    return write_video(str(path), frames(), fps=fps)
