"""A colour-region segmenter for the synthetic shape scenes, standing in for SAM where no SAM weights exist.

The evaluation runner turns a segmentation answer (box, positive and negative points) into masks with a
promptable segmenter, as the official post-processing does with SAM2.  SAM2's weights cannot be downloaded
here, and the synthetic scenes need none: every shape is one flat colour on a pale background.  So this
segmenter takes the colour under the positive points, keeps the pixels of that colour connected to them
inside the (slightly widened) box, and, in a video, follows that region frame by frame from the key frame
forwards and backwards (the same-coloured region nearest to the last one).  A prompt that misses the shape
gives a wrong mask, as with SAM; it only works on flat-colour scenes, and the report says which segmenter
made its J&F.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from onethinker.segment.base import ImageMask, PixelPrompt, PxBox, VideoMasks, report

COLOUR_TOLERANCE = 60.0  # RGB distance; shape colours are far apart, H.264 noise is well inside this
BOX_MARGIN = 0.15  # the box may be a little off: search this fraction of its size around it
MAX_STEP = 0.25  # a followed region moves at most this fraction of the frame's larger side per frame


def _components(mask: np.ndarray) -> tuple[int, np.ndarray]:
    import cv2

    n, labels = cv2.connectedComponents(mask.astype(np.uint8), connectivity=8)
    return n, labels


def _inside(points, w: int, h: int) -> list[tuple[int, int]]:
    return [(int(x), int(y)) for x, y in points if 0 <= x < w and 0 <= y < h]


def _colour_near(image: np.ndarray, colour: np.ndarray) -> np.ndarray:
    d = image.astype(np.float32) - colour.astype(np.float32)
    return np.sqrt((d * d).sum(axis=2)) < COLOUR_TOLERANCE


class ColourSegmenter:
    """Segmenter (``onethinker.segment.base.Segmenter``) for flat-colour scenes; needs no model."""

    name = "colour-region"

    def segment_image(self, image: np.ndarray, prompt: PixelPrompt) -> ImageMask:
        h, w = image.shape[:2]
        pos = _inside(prompt.positive, w, h)
        if not pos and prompt.box is not None:
            x1, y1, x2, y2 = prompt.box
            pos = _inside([((x1 + x2) / 2, (y1 + y2) / 2)], w, h)
        if not pos:
            return ImageMask(np.zeros((h, w), bool), notes=["no positive point or box inside the picture"])
        colour = np.median(np.array([image[y, x] for x, y in pos], dtype=np.float32), axis=0)
        near = _colour_near(image, colour)
        if prompt.box is not None:
            near &= self._box_window(prompt.box, w, h)
        n, labels = _components(near)
        keep = {int(labels[y, x]) for x, y in pos if labels[y, x] > 0}
        return ImageMask(np.isin(labels, list(keep)) if keep else np.zeros((h, w), bool))

    @staticmethod
    def _box_window(box: PxBox, w: int, h: int) -> np.ndarray:
        x1, y1, x2, y2 = box
        mx, my = (x2 - x1) * BOX_MARGIN + 2, (y2 - y1) * BOX_MARGIN + 2
        win = np.zeros((h, w), bool)
        win[max(0, int(y1 - my)):min(h, int(np.ceil(y2 + my))), max(0, int(x1 - mx)):min(w, int(np.ceil(x2 + mx)))] = True
        return win

    def segment_video(self, frames, key_index: int, prompt: PixelPrompt,
                      boxes: Callable[[int], PxBox | None] | None = None, progress=None) -> VideoMasks:
        out = VideoMasks.for_frames(frames, key_index)
        key = out.key_index
        first = frames.get(key).image
        m = self.segment_image(first, prompt).mask
        out.set(key, m)
        out.prompted.append(key)
        done = 1
        report(progress, done, len(frames))
        if not m.any():
            out.notes.append("the prompt selects nothing on the key frame")
            for i in range(len(frames)):
                if i != key:
                    out.set(i, np.zeros_like(m))
            return out
        colour = np.median(first[m].astype(np.float32), axis=0)
        reach = MAX_STEP * max(out.width, out.height)
        for step in (1, -1):
            prev = m
            i = key + step
            while 0 <= i < len(frames):
                cur = self._follow(frames.get(i).image, colour, prev, reach)
                out.set(i, cur)
                if cur.any():
                    prev = cur
                done += 1
                report(progress, done, len(frames))
                i += step
        return out

    @staticmethod
    def _follow(image: np.ndarray, colour: np.ndarray, prev: np.ndarray, reach: float) -> np.ndarray:
        """The region of ``colour`` nearest to ``prev`` (within ``reach`` px), or nothing (the shape is gone)."""
        n, labels = _components(_colour_near(image, colour))
        if n <= 1:
            return np.zeros(prev.shape, bool)
        ys, xs = np.nonzero(prev)
        cy, cx = ys.mean(), xs.mean()
        best, best_d = 0, reach
        size = prev.sum()
        for lab in range(1, n):
            ly, lx = np.nonzero(labels == lab)
            if ly.size < max(4, size // 8):  # specks of compression noise
                continue
            d = float(np.hypot(ly.mean() - cy, lx.mean() - cx))
            if d < best_d:
                best, best_d = lab, d
        return labels == best if best else np.zeros(prev.shape, bool)

    def release(self) -> None:
        pass
