"""Drawing primitives over supervision, for RGB frames.

Frames in the house are RGB (decord, PIL, Gradio); supervision's annotators write ``Color.as_bgr()``
into the array, so :func:`sv_color` hands them a colour with red and blue exchanged and the pixels
come out right in RGB.  Every box, mask, label, trace and point marker goes through a supervision
annotator with one ``sv.Detections`` per frame; the footer (legend, notes, progress bar) uses
supervision's drawing helpers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import supervision as sv

RGB = tuple[int, int, int]


@dataclass(frozen=True)
class Style:
    """Colours (RGB) and sizes of the overlays; every render takes one."""

    pred: RGB = (255, 150, 0)  # orange: the model's answer
    truth: RGB = (0, 140, 255)  # blue: ground truth
    positive: RGB = (0, 230, 0)  # green: positive points
    negative: RGB = (240, 0, 0)  # red: negative points
    mask_opacity: float = 0.45
    note: RGB = (255, 230, 40)  # yellow: warnings drawn on the output
    text: RGB = (255, 255, 255)
    footer_bg: RGB = (24, 24, 24)
    bar_bg: RGB = (90, 90, 90)
    playhead: RGB = (255, 255, 255)
    key_frame: RGB = (255, 0, 255)
    line_thickness: int | None = None  # box/trace lines; default scales with the picture

    def thickness(self, width: int, height: int) -> int:
        if self.line_thickness:
            return int(self.line_thickness)
        return max(1, round(min(width, height) / 240))

    def text_scale(self, width: int) -> float:
        return float(min(0.6, max(0.3, width / 1600)))

    def line_height(self, width: int) -> int:
        return int(round(28 * self.text_scale(width))) + 4


def sv_color(rgb: Sequence[int]) -> sv.Color:
    """A supervision colour that lands as ``rgb`` in an RGB array (red/blue exchanged on purpose)."""
    r, g, b = (int(c) for c in rgb)
    return sv.Color(r=b, g=g, b=r)


def palette(*rgbs: Sequence[int]) -> sv.ColorPalette:
    return sv.ColorPalette([sv_color(c) for c in rgbs])


def detections(boxes: Sequence[Sequence[float]], class_ids: Sequence[int], masks: np.ndarray | None = None,
               tracker_ids: Sequence[int] | None = None) -> sv.Detections:
    """One ``sv.Detections`` for a frame; ``class_id`` picks the colour from the annotator's palette."""
    xyxy = np.asarray(boxes, dtype=np.float32).reshape(-1, 4)
    return sv.Detections(
        xyxy=xyxy,
        mask=None if masks is None else np.asarray(masks, dtype=bool).reshape(len(xyxy), *np.shape(masks)[-2:]),
        class_id=np.asarray(class_ids, dtype=int),
        tracker_id=None if tracker_ids is None else np.asarray(tracker_ids, dtype=int),
    )


def point_detections(points: Sequence[Sequence[float]], class_ids: Sequence[int]) -> sv.Detections:
    """Points as zero-size detections, for ``DotAnnotator`` (positive class 0, negative class 1)."""
    pts = np.asarray(points, dtype=np.float32).reshape(-1, 2)
    return sv.Detections(xyxy=np.concatenate([pts, pts], axis=1), class_id=np.asarray(class_ids, dtype=int))


def mask_box(mask: np.ndarray) -> tuple[float, float, float, float]:
    """Bounding box of a mask (much cheaper than ``np.nonzero`` on a 720p frame)."""
    rows, cols = mask.any(axis=1), mask.any(axis=0)
    if not rows.any():
        return (0.0, 0.0, 0.0, 0.0)
    y0, y1 = int(rows.argmax()), len(rows) - int(rows[::-1].argmax())
    x0, x1 = int(cols.argmax()), len(cols) - int(cols[::-1].argmax())
    return (float(x0), float(y0), float(x1), float(y1))


class Annotators:
    """The supervision annotators of one render, built once and reused for every frame."""

    def __init__(self, style: Style, width: int, height: int, trace: bool = False) -> None:
        t = style.thickness(width, height)
        pal = palette(style.pred, style.truth)
        self.style = style
        self.box = sv.BoxAnnotator(color=pal, thickness=t, color_lookup=sv.ColorLookup.CLASS)
        self.mask = sv.MaskAnnotator(color=pal, opacity=style.mask_opacity, color_lookup=sv.ColorLookup.CLASS)
        self.label = sv.LabelAnnotator(
            color=pal, text_color=sv_color((0, 0, 0)), text_scale=style.text_scale(width) * 0.8,
            text_thickness=1, text_padding=max(2, t * 2), color_lookup=sv.ColorLookup.CLASS, smart_position=True,
        )
        r = max(3, round(min(width, height) / 60))
        outline = max(1, r // 3)
        self.points = sv.DotAnnotator(color=palette(style.positive, style.negative), radius=r,
                                      color_lookup=sv.ColorLookup.CLASS, outline_thickness=outline,
                                      outline_color=sv_color((255, 255, 255)))
        self.point_reach = r + outline  # pixels a point marker reaches from its centre
        self.width, self.height = width, height
        self.trace = (
            sv.TraceAnnotator(color=pal, position=sv.Position.CENTER, trace_length=10_000, thickness=t,
                              color_lookup=sv.ColorLookup.CLASS)
            if trace else None
        )

    def draw_points(self, scene: np.ndarray, positive: Sequence[Sequence[float]],
                    negative: Sequence[Sequence[float]]) -> np.ndarray:
        """Positive (class 0) and negative (class 1) point markers, each wholly inside the picture.

        A point on the picture's edge (where out-of-range points are clamped) would show only part of
        its marker; its marker is moved inwards just enough to be seen whole.  Only the drawing moves:
        the segmentation model is prompted at the point itself.
        """
        pts = [(_inside(x, self.point_reach, self.width), _inside(y, self.point_reach, self.height))
               for x, y in (*positive, *negative)]
        if not pts:
            return scene
        classes = [0] * len(positive) + [1] * len(negative)
        return self.points.annotate(scene, point_detections(pts, classes))


def _inside(v: float, reach: int, size: int) -> float:
    """``v`` moved into ``[reach, size - 1 - reach]`` (the middle when the picture is smaller than a marker)."""
    lo, hi = reach, size - 1 - reach
    return (size - 1) / 2 if hi < lo else min(max(float(v), lo), hi)


def overlay_mask(annotator: sv.MaskAnnotator, scene: np.ndarray, mask: np.ndarray, class_id: int = 0) -> bool:
    """Translucent mask on ``scene`` in place, working only on the mask's bounding box; False if empty."""
    x0, y0, x1, y1 = (int(v) for v in mask_box(mask))
    if x1 <= x0 or y1 <= y0:
        return False
    roi = scene[y0:y1, x0:x1]
    annotator.annotate(roi, detections([(0, 0, x1 - x0, y1 - y0)], [class_id], masks=mask[None, y0:y1, x0:x1]))
    return True


def text_width(text: str, scale: float) -> int:
    import cv2

    (w, _), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
    return int(w)


def draw_text_left(scene: np.ndarray, text: str, x: int, y_center: int, rgb: Sequence[int], scale: float) -> None:
    """Left-aligned text (``sv.draw_text`` centres on its anchor)."""
    w = text_width(text, scale)
    sv.draw_text(scene, text, sv.Point(x + w / 2, y_center), text_color=sv_color(rgb), text_scale=scale,
                 text_thickness=1, text_padding=0)


def footer(width: int, height: int, style: Style, legend: Sequence[tuple[str, RGB]], notes: Sequence[str],
           bar: bool = False, max_notes: int = 4) -> "Footer":
    return Footer(width, height, style, list(legend), list(notes), bar, max_notes)


class Footer:
    """A strip under the picture: legend (coloured names, metrics), notes in yellow, optional time bar.

    The picture itself is never covered, so pixels inside it are exactly the overlay's.
    """

    def __init__(self, width: int, height: int, style: Style, legend: list[tuple[str, RGB]], notes: list[str],
                 bar: bool, max_notes: int) -> None:
        self.style = style
        self.width, self.img_height = width, height
        self.lh = style.line_height(width)
        self.scale = style.text_scale(width)
        self.legend = legend
        shown = notes[:max_notes]
        if len(notes) > max_notes:
            shown.append(f"… and {len(notes) - max_notes} more warnings")
        self.notes = [f"! {n}" for n in shown]
        self.bar_h = max(6, self.lh // 2) if bar else 0
        h = self.bar_h + (self.lh if legend else 0) + self.lh * len(self.notes) + (4 if bar else 0)
        self.height = h + (h + height) % 2  # even total height for yuv420p
        self._template: np.ndarray | None = None

    @property
    def bar_rect(self) -> tuple[int, int, int, int]:
        """x0, y0, x1, y1 of the time bar in the composed frame (picture above, footer below)."""
        m = 2
        return m, self.img_height + 2, self.width - m, self.img_height + 2 + self.bar_h

    def strip(self) -> np.ndarray:
        """A fresh copy of the footer alone (for drawing a frame's time bar on it)."""
        return self._static().copy()

    def _static(self) -> np.ndarray:
        if self._template is None:
            st = self.style
            strip = np.empty((self.height, self.width, 3), np.uint8)
            strip[:] = st.footer_bg
            y = self.bar_h + (4 if self.bar_h else 0)
            if self.legend:
                x = 4
                for name, rgb in self.legend:
                    draw_text_left(strip, name, x, y + self.lh // 2, rgb, self.scale)
                    x += text_width(name, self.scale) + 12
                y += self.lh
            for n in self.notes:
                draw_text_left(strip, n, 4, y + self.lh // 2, st.note, self.scale)
                y += self.lh
            self._template = strip
        return self._template

    def compose(self, picture: np.ndarray) -> np.ndarray:
        """Picture on top, footer below (a new array)."""
        if self.height == 0:
            return picture
        return np.concatenate([picture, self._static()], axis=0)

    def draw_bar(self, frame: np.ndarray, duration: float, t: float,
                 spans: Sequence[tuple[float, float, RGB]], marks: Sequence[tuple[float, RGB]] = ()) -> None:
        """Time bar: grey track, coloured spans (first span full height, later ones in the lower half),
        vertical marks, and a white playhead at ``t``.  ``frame`` is the composed frame or the strip alone."""
        if not self.bar_h or duration <= 0:
            return
        x0, y0, x1, y1 = self.bar_rect
        if frame.shape[0] == self.height:  # the strip alone
            y0, y1 = y0 - self.img_height, y1 - self.img_height
        span_w = x1 - x0

        def px(s: float) -> float:
            return x0 + span_w * min(max(s / duration, 0.0), 1.0)

        sv.draw_filled_rectangle(frame, sv.Rect(x0, y0, span_w, y1 - y0), sv_color(self.style.bar_bg))
        for k, (a, b, rgb) in enumerate(spans):
            top = y0 if k == 0 else y0 + (y1 - y0) // 2
            xa, xb = px(a), px(b)
            sv.draw_filled_rectangle(frame, sv.Rect(xa, top, max(1.0, xb - xa), y1 - top), sv_color(rgb))
        for s, rgb in marks:
            sv.draw_filled_rectangle(frame, sv.Rect(px(s) - 1, y0 - 2, 3, y1 - y0 + 2), sv_color(rgb))
        sv.draw_filled_rectangle(frame, sv.Rect(px(t) - 1, y0, 2, y1 - y0), sv_color(self.style.playhead))
