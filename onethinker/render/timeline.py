"""Temporal grounding: a timeline figure, a clip cut to the span, thumbnails at its start/middle/end."""

from __future__ import annotations

from typing import Any

import numpy as np

from onethinker.payloads import TimeSpan
from onethinker.render.core import (
    FrameRecord,
    Media,
    RenderOptions,
    RenderResult,
    Thumbnail,
    out_path,
    renderer_for,
)
from onethinker.render.draw import Style, draw_text_left, footer, sv_color, text_width
from onethinker.render.geometry import Notes, clamp_span
from onethinker.rewards.metrics import interval_iou


def timeline_figure(duration: float, pred: tuple[float, float] | None, truth: tuple[float, float] | None,
                    tiou: float | None, notes: list[str], style: Style, size: tuple[float, float] = (8.0, 1.8)):
    """A matplotlib Figure (no pyplot state) of the video's duration with the spans."""
    from matplotlib.figure import Figure

    rows = [("prediction", pred, style.pred)] + ([("ground truth", truth, style.truth)] if truth is not None
                                                 or tiou is not None else [])
    fig = Figure(figsize=(size[0], size[1] + 0.25 * len(notes[:4])), dpi=100)
    ax = fig.add_subplot(111)
    for k, (name, span, rgb) in enumerate(rows):
        y = len(rows) - 1 - k
        if span is not None:
            ax.broken_barh([(span[0], max(span[1] - span[0], duration * 0.002))], (y - 0.35, 0.7),
                           facecolors=[tuple(c / 255 for c in rgb)])
            ax.text(span[0], y + 0.42, f"{span[0]:.1f}–{span[1]:.1f} s", fontsize=8, va="bottom")
        else:
            ax.text(duration / 2, y, "not drawn", fontsize=8, ha="center", va="center", color="0.4")
    ax.set_yticks(range(len(rows)), [r[0] for r in reversed(rows)])
    ax.set_xlim(0, max(duration, 1e-3))
    ax.set_ylim(-0.6, len(rows) - 0.2 + 0.5)
    ax.set_xlabel("seconds")
    ax.grid(axis="x", alpha=0.3)
    title = f"video {duration:.1f} s"
    if tiou is not None:
        title += f"   ·   tIoU {tiou:.2f}"
    ax.set_title(title, fontsize=10)
    for i, msg in enumerate(notes[:4]):
        fig.text(0.01, 0.01 + 0.06 * i, f"! {msg}", fontsize=7, color=(0.7, 0.45, 0.0))
    fig.tight_layout()
    return fig


def figure_to_array(fig) -> np.ndarray:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())[..., :3].copy()


def _strip(thumbs: list[Thumbnail], style: Style, height: int) -> np.ndarray | None:
    if not thumbs:
        return None
    import cv2

    tiles = []
    for t in thumbs:
        ih, iw = t.image.shape[:2]
        w = max(2, round(iw * height / ih))
        img = cv2.resize(t.image, (w, height), interpolation=cv2.INTER_AREA)
        lh = style.line_height(max(w, 320))
        cap = np.empty((lh, w, 3), np.uint8)
        cap[:] = style.footer_bg
        txt = f"{t.label} {t.time:.2f} s"
        sc = style.text_scale(max(w, 320))
        draw_text_left(cap, txt, max(2, (w - text_width(txt, sc)) // 2), lh // 2, style.text, sc)
        tiles.append(np.concatenate([img, cap], axis=0))
        tiles.append(np.full((height + lh, 4, 3), 255, np.uint8))
    return np.concatenate(tiles[:-1], axis=1)


@renderer_for(TimeSpan)
def render_timespan(payload: TimeSpan, media: Media, truth: TimeSpan | None, options: RenderOptions,
                    progress: Any = None, out_file: str | None = None, notes: list[str] = (), **_: Any) -> RenderResult:
    n = Notes()
    n.extend(notes)
    if not media.is_video:
        from onethinker.render.image import plain

        return plain(media, options, list(n) + ["a time span needs a video to be drawn"])
    src = media.video
    plan = src.plan
    dur = plan.duration
    st = options.style
    pspan = clamp_span(payload.start, payload.end, dur, "predicted span", n)
    tspan = None if truth is None else clamp_span(truth.start, truth.end, dur, "ground-truth span", n)
    metrics: dict[str, float] = {}
    if truth is not None:
        metrics["tiou"] = interval_iou([payload.start, payload.end], [truth.start, truth.end])
    fig = timeline_figure(dur, pspan, tspan, metrics.get("tiou"), list(n), st, options.figure_size)
    fig_img = figure_to_array(fig)

    thumbs: list[Thumbnail] = []
    clip_path = None
    records: list[FrameRecord] = []
    size = None
    if pspan is not None:
        s, e = pspan
        for label, t in (("start", s), ("middle", (s + e) / 2), ("end", e)):
            fr = src.get(plan.nearest_index(t))
            thumbs.append(Thumbnail(label, fr.time, fr.image))
        ctx = max(0.0, float(options.context_s))
        sub = src.subclip(max(0.0, s - ctx), min(dur, e + ctx))
        w, h = sub.size
        size = (w, h)
        legend = [("pred", st.pred)] + ([("truth", st.truth)] if tspan else [])
        if "tiou" in metrics:
            legend.append((f"tIoU {metrics['tiou']:.2f}", st.text))
        ft = footer(w, h, st, legend, list(n), bar=True, max_notes=options.max_notes)
        spans = [(s, e, st.pred)] + ([(tspan[0], tspan[1], st.truth)] if tspan else [])
        col = sv_color(st.pred)
        thick = st.thickness(w, h) + 1
        clip_path = out_file or out_path(options, "timespan-clip")
        from onethinker.media.video_writer import VideoWriter

        import supervision as sv

        with VideoWriter(clip_path, fps=sub.plan.fps, crf=options.crf, preset=options.preset) as wr:
            for fr in sub:
                pic = fr.image if fr.image.flags.writeable else fr.image.copy()
                inside = s - 1e-6 <= fr.time <= e + 1e-6
                if inside:  # frames inside the predicted span get an orange border
                    sv.draw_rectangle(pic, sv.Rect(0, 0, w - 1, h - 1), col, thickness=thick)
                full = ft.compose(pic)
                ft.draw_bar(full, dur, fr.time, spans)
                wr.write(full)
                records.append(FrameRecord(fr.index, fr.time, None, None, False, inside))
                if progress is not None:
                    try:
                        progress(fr.index + 1, len(sub))
                    except Exception:
                        pass
    return RenderResult(kind="timeline", image=fig_img, figure=fig, clip_path=clip_path, video_path=clip_path,
                        thumbnails=tuple(thumbs), strip=_strip(thumbs, st, options.thumb_height),
                        warnings=tuple(n), metrics=metrics, frames=tuple(records), fps=src.plan.fps, size=size)
