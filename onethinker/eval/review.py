"""From one results row to what a reviewer sees and saves: its overlay, and a correction record.

The Inspect tab (``components/inspect.py``) shows a row of a results file: the answer and the ground
truth drawn together, ground-truth masks included (:func:`draw`), and turns a failure into training
data: the ground truth or a hand-typed answer, parsed with the row's task (:func:`correction`), on a
:class:`~onethinker.runs.Run` rebuilt from the row (:func:`as_run`) that
:func:`onethinker.runs.make_record` stores like any run of the app.  Media are only ever the ones the
row's view resolved inside the chosen media root.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from onethinker.answer import parse
from onethinker.feedback.record import Correction, FeedbackError
from onethinker.payloads import TimeSpan
from onethinker.render import RenderOptions, RenderResult, render
from onethinker.tasks import IMAGE, VIDEO

# Rows are looked at one after another: smaller, faster videos than the Run tab's
REVIEW_OPTIONS = RenderOptions(max_fps=8.0, max_side=640)


def draws(view: Any) -> bool:
    """Whether the row's task has an answer drawn on its media (coordinates or a time span)."""
    t = view.task
    return t is not None and (t.has_coordinates or t.payload is TimeSpan)


def drawing_media(view: Any) -> tuple[str, str] | None:
    """(path, kind) the answer is drawn on: the row's ``path`` (the video of a video-image row), if it
    was resolved inside the media root; None when it was refused or is missing (the view says why)."""
    if not view.media or not view.media[0].ok:
        return None
    dt = str(view.row.get("data_type") or IMAGE).strip().lower()
    return str(view.media[0].path), (VIDEO if dt.startswith(VIDEO) else IMAGE)


def draw(view: Any, options: RenderOptions = REVIEW_OPTIONS) -> RenderResult | None:
    """The prediction and the ground truth drawn together (boxes, spans, tracks; for segmentation the
    predicted prompt and, when the runner segmented the row, its predicted masks, over the annotated masks).
    None when the task draws nothing or the media is not available.  Raises :class:`~onethinker.media.probe.MediaError` for a file that cannot be decoded."""
    media = drawing_media(view)
    if media is None or not draws(view):
        return None
    path, kind = media
    truth = view.truth if view.truth is not None and view.truth.payload is not None else None
    gt, pred = view.truth_masks, getattr(view, "predicted_masks", None)
    if gt is None and pred is None:
        return render(view.answer, path, truth=truth, options=options)
    if kind == IMAGE:
        return render(view.answer, path, truth=truth, options=options,
                      truth_masks=_image_mask(gt, path) if gt is not None else None,
                      masks=_image_mask(pred, path) if pred is not None else None)
    from onethinker.media.frames import FrameSource

    src = FrameSource.open(path, options.max_fps, options.max_side)
    size = (src.plan.times, src.plan.width, src.plan.height)
    return render(view.answer, src, truth=truth, options=options,
                  truth_masks=frame_masks(gt, *size) if gt is not None else None,
                  masks=frame_masks(pred, *size) if pred is not None else None)


def _image_mask(gt: Any, path: str) -> np.ndarray | None:
    from onethinker.media.images import open_image

    mask = gt.masks.get(0)
    if mask is None:
        return None
    with open_image(path) as im:
        w, h = im.size
    return fit(mask, w, h)


def frame_masks(gt: Any, times: tuple[float, ...], width: int, height: int) -> Callable[[int], np.ndarray | None]:
    """Rendered frame index -> the annotated mask of the frame shown then (frame ``k`` of the row's
    ``frames`` list is at ``k / fps`` seconds, as the official scoring reads it), at the rendered size."""
    fps = float(gt.fps or 0.0)

    def at(i: int) -> np.ndarray | None:
        if fps <= 0 or not 0 <= i < len(times):
            return None
        m = gt.masks.get(int(round(times[i] * fps)))
        return None if m is None else fit(m, width, height)

    return at


def fit(mask: np.ndarray, width: int, height: int) -> np.ndarray:
    """``mask`` at ``width`` × ``height`` (nearest neighbour), e.g. on a video rendered smaller."""
    if mask.shape == (height, width):
        return mask
    import cv2

    return cv2.resize(mask.astype(np.uint8), (width, height), interpolation=cv2.INTER_NEAREST).astype(bool)


# ---------------------------------------------------------------------------------------------
# Corrections


def truth_text(view: Any) -> str:
    """The answer text a correction starts from: the ground truth's, else (a segmentation row, whose
    ground truth is a mask, not an answer) the prediction's, else nothing."""
    for a in (view.truth, view.answer):
        if a is not None and a.payload is not None:
            return a.payload.answer_text()
    return ""


def correction(view: Any, text: str, keep_reasoning: bool = False, comment: str = "") -> Correction:
    """The corrected answer ``text`` (``{"boxes": [...]}``, ``B``, ``3.5`` …) parsed with the row's task and
    checked as the feedback store checks it; :class:`FeedbackError` names the field that is wrong."""
    from onethinker.edit import corrected
    from onethinker.feedback.validate import check_correction, parse_correction

    t = view.task
    if t is None:
        raise FeedbackError("task", f"unknown problem_type {view.row.get('problem_type')!r}: no answer can be read")
    dt = _data_type(view)
    if not isinstance(text, str) or not text.strip():
        raise FeedbackError("feedback.correction", f"type the corrected {t.title.lower()} answer")
    if t.has_coordinates or t.payload is TimeSpan:
        payload = parse_correction(text.strip(), t, dt).payload
        check_correction(payload, t, dt, len(view.options))
    else:  # letters, numbers, text: as the Correct tab reads them
        payload = corrected(t, dt, text=text, n_options=len(view.options))
    return Correction(payload, 0, bool(keep_reasoning), comment or "")


def _data_type(view: Any) -> str:
    dt = view.row.get("data_type")
    return dt.strip().lower() if isinstance(dt, str) and dt.strip() else (VIDEO if view.task.is_video_only else IMAGE)


def as_run(view: Any, meta: dict | None = None) -> Any:
    """The row as a :class:`~onethinker.runs.Run`: its question, media (inside the media root), the
    prompt the runner sends for it, the model's output and what the row says was sent.

    Raises :class:`FeedbackError` when the row cannot be stored (media refused or missing, unknown task).
    """
    from onethinker.engine import InputError, Request, Sent, build_messages
    from onethinker.runs import Run

    t = view.task
    if t is None:
        raise FeedbackError("task", f"unknown problem_type {view.row.get('problem_type')!r}")
    dt = _data_type(view)
    for i, m in enumerate(view.media):
        if not m.ok:
            raise FeedbackError("media" if i == 0 else "media.additional_path", m.error)
    if not view.media:
        raise FeedbackError("media", "the row's media were not resolved (choose a media root)")
    paths = [m.path for m in view.media]
    image = paths[0] if dt == IMAGE else (paths[1] if len(paths) > 1 else None)
    video = paths[0] if dt != IMAGE else None
    options = view.options if t.reward == "option" and view.options else None  # as the runner sends them
    req = Request(view.question, t, options=options, image=image, video=video)
    try:
        _, prompt, messages = build_messages(req)
    except InputError as e:
        raise FeedbackError("question", str(e)) from None
    meta = meta or {}
    sent_row = view.row.get("sent") if isinstance(view.row.get("sent"), dict) else {}
    sampling = meta.get("sampling") if isinstance(meta.get("sampling"), dict) else {}
    sent = Sent(backend=str(sent_row.get("backend") or meta.get("backend") or "results file"),
                model=str(sent_row.get("model") or meta.get("model_path") or "unknown model"),
                task=t.id, data_type=dt, prompt=prompt, messages=messages,
                media=[m for m in sent_row.get("media") or [] if isinstance(m, dict)], sampling=dict(sampling))
    output = view.row.get("output")
    text = output if isinstance(output, str) else ""
    answer = view.answer if view.answer is not None and view.answer.raw == text else parse(text, t, data_type=dt)
    return Run(req, sent, text, answer, finish_reason=sent_row.get("finish_reason"))
