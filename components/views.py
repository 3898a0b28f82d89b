"""Turning core values into what widgets show: chat messages, status lines, overlays, "what the model saw".

No gradio here: these functions return plain values (strings, lists, arrays, paths), so they are
tested without a page.  They read parsed values (``Answer``, ``Sent``, ``RenderResult``); none of
them parses model text.
"""

from __future__ import annotations

import os
import time
from typing import Any

from onethinker.answer import Answer
from onethinker.engine import Request, Sent, gpu
from onethinker.payloads import TimeSpan
from onethinker.render import RenderOptions, RenderResult, render
from onethinker.render.seen import MAX_FRAMES, seen_pictures
from onethinker.runs import Run
from onethinker.tasks import IMAGE, VIDEO, get_task



def _render_with_masks(answer: Any, media: str, truth: Any, options: RenderOptions, segmenters: Any, video: bool,
                       progress: Any) -> tuple[RenderResult, str | None]:
    """Load the segmentation model (once) and draw; returns the render and why there are no masks, if so."""
    seg, why = segmenters.get(video)
    return render(answer, media, truth=truth, options=options, segmenter=seg, progress=progress), why


# Segmentation models run on the GPU: on a ZeroGPU Space that work must sit inside @spaces.GPU (a no-op elsewhere)
render_with_masks = gpu(_render_with_masks, duration=int(os.environ.get("ONETHINKER_GPU_DURATION", "120")))
NO_BACKEND = "no segmentation backend given"  # the renderer's note when it has no segmenter

PHASE_WORDS = {"thinking": "thinking", "answering": "answering", "done": "done"}


def chat_messages(question: str, ans: Answer | None) -> list[dict]:
    """The conversation for a ``gr.Chatbot(reasoning_tags=[("<think>", "</think>")])``.

    The reasoning goes between the tags (still open while the model thinks, which shows a spinner)
    and the answer text after them, both taken from the parsed :class:`Answer`.
    """
    msgs: list[dict] = [{"role": "user", "content": question or ""}]
    if ans is None:
        return msgs
    body = ""
    if ans.think or ans.phase == "thinking":
        body = "<think>" + ans.think + ("" if ans.phase == "thinking" else "</think>")
    if ans.answer_text:
        body += ("\n\n" if body else "") + ans.answer_text
    if body:
        msgs.append({"role": "assistant", "content": body})
    return msgs


class Rate:
    """Tokens and tokens per second while streaming (deltas count as tokens until the engine's count)."""

    def __init__(self) -> None:
        self.t0 = time.perf_counter()
        self.first: float | None = None
        self.deltas = 0

    def add(self) -> None:
        self.deltas += 1
        if self.first is None:
            self.first = time.perf_counter()

    def line(self, phase: str, model: str, tokens: int | None = None, final: str | None = None) -> str:
        n = tokens if tokens is not None else self.deltas
        now = time.perf_counter()
        rate = ""
        if self.first is not None and n > 1 and now > self.first:
            rate = f" · {(n - 1) / (now - self.first):.1f} tokens/s"
        head = final or f"⏳ {PHASE_WORDS.get(phase, phase)}"
        approx = "" if tokens is not None else "≈"
        return f"{head} · {approx}{n} tokens{rate} · `{model}`"


def finished_line(run: Run) -> str:
    reason = {"stop": "✅ done", "length": "✅ done (reached max new tokens)", "cancelled": "⏹ stopped",
              "error": "❌ generation failed"}.get(run.finish_reason or "", "✅ done")
    bits = [reason, f"{run.completion_tokens if run.completion_tokens is not None else '?'} tokens"]
    if run.tokens_per_s:
        bits.append(f"{run.tokens_per_s:.1f} tokens/s")
    if run.ttft_s is not None:
        bits.append(f"first token after {run.ttft_s:.2f} s")
    bits.append(f"`{run.model}`")
    line = " · ".join(bits)
    if run.error:
        line += f"  \n{run.error}"
    return line


def draws(task: str, data_type: str | None = None) -> bool:
    """Whether the task's answers are drawn on the media (coordinates or a time span)."""
    t = get_task(task, data_type)
    return t.has_coordinates or t.payload is TimeSpan


def drawing_media(run: Run) -> tuple[str, str] | None:
    """The medium an answer is drawn on: the video for video tasks, else the image."""
    return media_for(run.request)


def media_for(req: Request) -> tuple[str, str] | None:
    task = get_task(req.task, req.data_type)
    if req.video is not None and (task.is_video_only or req.image is None):
        return str(req.video), VIDEO
    if req.image is not None and isinstance(req.image, (str, os.PathLike)):
        return str(req.image), IMAGE
    return None


def render_run(run: Run, out_dir: str, truth: Answer | None = None, segmenters: Any = None,
               progress: Any = None) -> tuple[RenderResult | None, str | None]:
    """The full overlay of a finished run (``render``), with the reference answer beside it, and why a
    segmentation answer is drawn without masks (``segmenters``: the app's ``SegmenterSlot``) if it is."""
    media = drawing_media(run)
    if media is None or not draws(run.task, run.data_type):
        return None, None
    gt = truth if truth is not None and truth.payload is not None else None
    opts = RenderOptions(out_dir=out_dir)
    masks = get_task(run.task, run.data_type).reward.startswith("segmentation") and run.answer.payload is not None
    if not masks or segmenters is None or segmenters.name == "none":
        return render(run.answer, media[0], truth=gt, options=opts, progress=progress), None
    if segmenters.failure is not None:  # known not to load: no GPU needed to draw the box and points
        return render(run.answer, media[0], truth=gt, options=opts, progress=progress), segmenters.failure
    res, why = render_with_masks(run.answer, media[0], gt, opts, segmenters, media[1] == VIDEO, progress)
    if why is not None and segmenters.failure is None:
        segmenters.remember(why)
    return res, why


def overlay_views(res: RenderResult | None) -> tuple[Any, Any, list]:
    """(image, video path, gallery items) to show for a render."""
    if res is None:
        return None, None, []
    thumbs = [(t.image, f"{t.label} · {t.time:.2f} s") for t in res.thumbnails]
    if res.kind == "video":
        return None, res.video_path, []
    if res.kind == "timeline":
        return res.image, res.clip_path, thumbs
    return res.image, None, []


def notes(run: Run, res: RenderResult | None, truth: Answer | None, scored: Any = None,
          no_masks: str | None = None) -> str:
    """Parse problems, drawing notes and the score, in plain words (``no_masks``: why a segmentation
    answer has no masks, said once in place of the renderer's generic note)."""
    out: list[str] = []
    a = run.answer
    if a.error:
        out.append(f"**The answer could not be read:** {a.error}")
    if a.warnings:
        out.append("**Repairs made to read the answer:**\n" + "\n".join(f"- {w}" for w in a.warnings))
    if no_masks:
        out.append(no_masks)
    if res is not None and res.warnings:
        shown = [w for w in res.warnings if w not in a.warnings and not w.startswith("prediction: ")
                 and not (no_masks and w.startswith(NO_BACKEND))]
        if shown:
            out.append("**Drawing notes:**\n" + "\n".join(f"- {w}" for w in shown))
    if truth is not None and truth.error:
        out.append(f"**The reference answer cannot be used:** {truth.error}")
    if scored is not None:
        if scored.error:
            out.append(f"**Score:** not computed ({scored.error})")
        else:
            out.append(f"**Score against the reference:** {scored.overall:.3f} (accuracy {scored.accuracy:.3f}, "
                       f"format {scored.format:.0f}, structure {scored.structure:.3f})")
    if res is not None and res.metrics:
        out.append("**Overlay metrics:** " + ", ".join(f"{k} {v:.3f}" for k, v in sorted(res.metrics.items())))
    return "\n\n".join(out)


def seen_markdown(sent: Sent | None) -> str:
    """What the model was shown: sizes before and after resizing, frames and their times."""
    if sent is None:
        return ""
    lines = [f"**Backend:** {sent.backend} · **model:** `{sent.model}` · **task:** {sent.task} · "
             f"**data type:** {sent.data_type}"]
    if sent.prompt_tokens:
        lines.append(f"**Prompt tokens:** {sent.prompt_tokens}")
    for m in sent.media:
        if m.get("kind") == VIDEO:
            ts = m.get("timestamps") or []
            shown = ", ".join(f"{t:.2f}" for t in ts[:64]) + (" …" if len(ts) > 64 else "")
            lines.append(
                f"**Video:** {m.get('width')}×{m.get('height')} at {float(m.get('fps') or 0):g} fps, "
                f"{m.get('total_frames')} frames → **{m.get('num_frames')} frames** sent at "
                f"{m.get('resized_width')}×{m.get('resized_height')}"
                + (" (sampled by the server)" if m.get("sampled_by") == "server" else ""))
            lines.append(f"**Frame indices:** {', '.join(map(str, (m.get('frame_indices') or [])[:64]))}")
            lines.append(f"**Frame times (s):** {shown}")
            n = len(m.get("frame_indices") or ())
            if n > MAX_FRAMES:
                lines.append(f"The pictures show {MAX_FRAMES} of the {n} frames, spread evenly.")
        elif m.get("kind") == IMAGE:
            lines.append(f"**Image:** {m.get('width')}×{m.get('height')} → sent at "
                         f"{m.get('resized_width')}×{m.get('resized_height')}")
    return "  \n".join(lines)


def seen_gallery(sent: Sent | None) -> list[tuple[Any, str]]:
    """Thumbnails of what the model saw, captioned short enough for a thumbnail: each sent frame with its
    time in the video, the image with the size it was sent at (indices and sizes are in
    :func:`seen_markdown`)."""
    if sent is None:
        return []
    items = []
    for p in seen_pictures(sent.media):
        if p.kind == VIDEO:
            items.append((p.image, f"{p.time:.2f} s"))
        else:
            items.append((p.image, f"sent at {p.sent_size[0]}×{p.sent_size[1]}" if p.sent_size else "image"))
    return items
