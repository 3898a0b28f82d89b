"""What the model saw, as small pictures: the video frames it was sent (with their times) and the image
at the size it was sent, read from the engine's description of a request (``Sent.media``).

    pictures = seen_pictures(run.sent.media)      # [SeenPicture(image, kind, time, frame, size), ...]

Only the frames ``Sent`` lists are decoded (at most ``max_frames`` of them, spread evenly over the
list), one at a time, each shrunk to a thumbnail at once; nothing is encoded.  Frame times are the
engine's own (``timestamps``), so they are the times the model was told.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from onethinker.media.probe import MediaError

MAX_FRAMES = 16
MAX_SIDE = 192


@dataclass(frozen=True)
class SeenPicture:
    """One thumbnail: a sampled video frame (``time``, ``frame`` = source index) or the image."""

    image: np.ndarray  # RGB, at most MAX_SIDE pixels on the long side
    kind: str  # "video" or "image"
    time: float | None = None
    frame: int | None = None
    sent_size: tuple[int, int] | None = None  # (width, height) the model was given
    source_size: tuple[int, int] | None = None


def shown_positions(count: int, max_frames: int = MAX_FRAMES) -> list[int]:
    """Positions in a list of ``count`` frames to show when at most ``max_frames`` fit: all of them, or
    an even spread that keeps the first and the last."""
    if count <= max_frames:
        return list(range(count))
    if max_frames <= 0:
        return []
    if max_frames == 1:
        return [0]
    return sorted({round(k * (count - 1) / (max_frames - 1)) for k in range(max_frames)})


def seen_pictures(media: Sequence[dict[str, Any]], max_frames: int = MAX_FRAMES,
                  max_side: int = MAX_SIDE) -> list[SeenPicture]:
    """Thumbnails of what ``Sent.media`` lists (videos first, as sent); an item without a readable
    file of its own (an in-memory picture) is left out.  Raises :class:`MediaError` when a listed file
    cannot be read any more."""
    out: list[SeenPicture] = []
    for m in media:
        path = m.get("path")
        if not isinstance(path, (str, os.PathLike)) or not os.path.isfile(path):
            continue
        sent = _size(m, "resized_width", "resized_height")
        source = _size(m, "width", "height")
        if m.get("kind") == "video":
            out.extend(_frames(path, m, max_frames, max_side, sent, source))
        elif m.get("kind") == "image":
            from onethinker.media.images import open_image

            with open_image(path) as im:
                im = im.convert("RGB")
                im.thumbnail((max_side, max_side))
                out.append(SeenPicture(np.asarray(im), "image", sent_size=sent, source_size=source))
    return out


def _frames(path: str, m: dict, max_frames: int, max_side: int, sent, source) -> list[SeenPicture]:
    from onethinker.media.probe import open_video

    indices = [int(i) for i in m.get("frame_indices") or ()]
    times = [float(t) for t in m.get("timestamps") or ()]
    if len(times) != len(indices):
        fps = float(m.get("fps") or 0.0)
        times = [i / fps if fps > 0 else 0.0 for i in indices]
    if not indices:
        return []
    vr = open_video(path, num_threads=1)
    out = []
    for k in shown_positions(len(indices), max_frames):
        i = indices[k]
        if not 0 <= i < len(vr):
            raise MediaError(f"{os.path.basename(path)}: frame {i} is past the end of the video ({len(vr)} frames)")
        out.append(SeenPicture(_thumb(vr[i].asnumpy(), max_side), "video", times[k], i, sent, source))
    return out


def _thumb(img: np.ndarray, max_side: int) -> np.ndarray:
    h, w = img.shape[:2]
    s = max_side / max(h, w)
    if s >= 1:
        return img
    import cv2

    return cv2.resize(img, (max(1, round(w * s)), max(1, round(h * s))), interpolation=cv2.INTER_AREA)


def _size(m: dict, wk: str, hk: str) -> tuple[int, int] | None:
    w, h = m.get(wk), m.get(hk)
    return (int(w), int(h)) if isinstance(w, (int, float)) and isinstance(h, (int, float)) else None
