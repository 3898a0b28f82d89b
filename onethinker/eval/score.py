"""Scoring one row from the model's output, with the reward code's metrics (no second copy).

The row keeps every field it came with and gets the official ones: ``prediction`` (the text inside
``<answer>``, or the whole output when there is none), ``accuracy`` and ``components`` (``tiou``,
``iou``, ``miou_inter``, ``miou_gt``; for segmentation ``iou`` or ``J``/``F``/``J&F``, plus the
official ``reward``/``status`` record and ``predicted_answer_norm``); and ours: ``format`` (1 when
the output is ``<think>…</think><answer>…</answer>``) and ``error`` (None, or kind and message).

``accuracy`` is the OneThinker reward's accuracy term (:func:`onethinker.rewards.score`), which for
these tasks is the official evaluation metric: option letter, number to two decimals, mean relative
accuracy, 1 − WER, mean ROUGE-1/2/L F, math equivalence, tIoU, box IoU, ½ tIoU + ½ mIoU over the
common seconds, mean IoU over the ground-truth seconds.
"""

from __future__ import annotations

import json
import os
from contextlib import nullcontext
from pathlib import Path
from typing import Any, Callable, Mapping

from onethinker.eval import segmentation as seg
from onethinker.eval.aggregate import compute_metrics
from onethinker.eval.files import ResultsFile, gc_paused, read_rows, write_results
from onethinker.eval.paths import media_file
from onethinker.eval.rows import (
    COMPONENTS, ERROR_KINDS, PREDICTED_MASKS, RowError, RowSpec, check_row, data_type_of, problem_type_of,
)
from onethinker.rewards import extract_answer, format_reward, score
from onethinker.rewards import metrics as M
from onethinker.segment.base import Segmenter
from onethinker.tasks import UnknownTaskError, get_task


def prediction_of(output: str) -> str:
    """The official reading: the text inside the first ``<answer>…</answer>``, else the whole output."""
    inner = extract_answer(output)
    return inner if inner else output.strip()


def _json_object(text: str) -> dict:
    try:
        v = json.loads(text)
    except (ValueError, RecursionError):
        return {}
    return v if isinstance(v, dict) else {}


def components(kind: str, accuracy: float, prediction: str, truth: Any) -> dict[str, float]:
    """The official components of a coordinate task ({} for question answering).

    For temporal and spatial grounding and tracking the reward's accuracy *is* the component (tIoU,
    box IoU, mean IoU over the truth's seconds); spatio-temporal grounding records its two halves.
    """
    if kind == "tiou":
        return {"tiou": accuracy}
    if kind == "box_iou":
        return {"iou": accuracy}
    if kind == "track":
        return {"miou_gt": accuracy}
    if kind == "spatio_temporal":
        p = _json_object(prediction)
        return {"tiou": M.interval_iou(p.get("time"), truth.get("time")),
                "miou_inter": M.mean_iou_over_common(p.get("boxes"), truth.get("boxes"))}
    return {}


def _reward_kind(row: Mapping, spec: RowSpec | None) -> str | None:
    """The row's reward kind, also when it failed before its task was checked."""
    if spec is not None:
        return spec.task.reward
    try:
        return get_task(problem_type_of(row), data_type_of(row) or None).reward
    except UnknownTaskError:
        return None


def failed(row: Mapping, error: RowError, spec: RowSpec | None = None) -> dict:
    """The row with score 0 and its error; components at 0 so it counts as a miss in every R@t."""
    out = dict(row)
    output = row.get("output")
    kind = _reward_kind(row, spec)
    out.update(prediction=prediction_of(output) if isinstance(output, str) else "", accuracy=0.0,
               components={c: 0.0 for c in COMPONENTS.get(kind or "", ())},
               format=format_reward(output) if isinstance(output, str) else 0.0, error=error.to_json())
    if kind == "segmentation_image":
        out.update(predicted_answer_norm=out["prediction"], reward={"IoU": 0.0, "inter": 0, "union": 0},
                   status=f"error: {error.message}")
    elif kind == "segmentation_video":
        out.update(predicted_answer_norm=out["prediction"], reward={"J": 0.0, "F": 0.0, "J&F": 0.0},
                   status=f"error: {error.message}")
    return out


def score_row(row: Mapping, *, media_root: str | os.PathLike | None = None, segmenter: Segmenter | None = None,
              spec: RowSpec | None = None) -> dict:
    """``row`` (which has ``output``) scored; never raises for bad data, which ends up in ``error``.

    Segmentation rows are segmented when a ``segmenter`` and ``media_root`` are given; otherwise the
    official ``reward`` record already in the row (from our runner or ``seg_post_sam2.py``) is kept,
    and without one the row is marked ``not_segmented``.
    """
    try:
        spec = spec or check_row(row)
        output = row.get("output")
        if not isinstance(output, str):
            raise _earlier_error(row) or RowError("no_output", "the row has no model output to score")
        if spec.segmentation:
            return _score_segmentation(row, spec, output, media_root, segmenter)
        s = score(output, spec.text, spec.task, spec.data_type)
        if s.error:
            raise RowError("malformed_solution", s.error)
        prediction = prediction_of(output)
        accuracy = float(s.accuracy)
        out = dict(row)
        out.update(prediction=prediction, accuracy=accuracy,
                   components=components(spec.task.reward, accuracy, prediction, spec.truth), format=s.format,
                   error=None)
        return out
    except RowError as e:
        return failed(row, e, spec)


def _earlier_error(row: Mapping) -> RowError | None:
    """The error that kept a row from being generated (kept when the row is scored again)."""
    e = row.get("error")
    if isinstance(e, dict) and e.get("kind") in ERROR_KINDS:
        return RowError(e["kind"], str(e.get("message") or ""))
    return None


def _score_segmentation(row: Mapping, spec: RowSpec, output: str, media_root, segmenter) -> dict:
    prediction = prediction_of(output)
    truth = spec.truth
    if segmenter is not None and media_root is not None:
        m = media_file(media_root, row.get("path"))
        if not m.ok:
            raise RowError(m.kind, m.error)
        prompt, key_time = seg.prompt_from_prediction(prediction, truth.width, truth.height)
        if spec.data_type == "image":
            reward, predicted = seg.segment_image(m.path, truth, prompt, segmenter)
        else:
            reward, predicted = seg.segment_video(m.path, truth, prompt, key_time, segmenter)
    else:
        predicted = row.get(PREDICTED_MASKS)  # scored before: the masks of that scoring stay with its reward
        reward = stored_reward(row, spec)
        if reward is None:
            raise RowError("not_segmented", "segmentation row not scored: give a segmenter and a media root "
                                            "(python -m onethinker.eval score --segmenter sam2 --media-root DIR)")
    out = dict(row)
    out.update(prediction=prediction, predicted_answer_norm=prediction, accuracy=seg.accuracy_of(reward),
               components=seg.components_of(reward), format=format_reward(output), error=None, reward=reward,
               status="ok")
    if predicted is not None:
        out[PREDICTED_MASKS] = predicted
    return out


def stored_reward(row: Mapping, spec: RowSpec) -> dict | None:
    """The official per-row segmentation record, if the row has a complete one for its data type."""
    r = row.get("reward")
    if not isinstance(r, dict) or row.get("status", "ok") != "ok":
        return None
    keys = ("J", "F", "J&F") if spec.data_type != "image" else ("IoU",)
    if any(M.strict_number(r.get(k)) is None for k in keys):
        return None
    if spec.data_type == "image":
        return {"IoU": M.strict_number(r["IoU"]), "inter": int(M.strict_number(r.get("inter")) or 0),
                "union": int(M.strict_number(r.get("union")) or 0)}
    return {k: M.strict_number(r[k]) for k in keys}


def score_rows(rows: list[Mapping], *, media_root: str | os.PathLike | None = None,
               segmenter: Segmenter | None = None, progress: Callable[[int, int], None] | None = None) -> list[dict]:
    """Every row scored again from its ``output`` (see :func:`score_row`); ``progress(done, total)``."""
    out = []
    total = len(rows)
    step = max(1, total // 200)
    with gc_paused() if segmenter is None else nullcontext():  # a segmenter's model may need the collector
        for i, row in enumerate(rows, 1):
            out.append(score_row(row, media_root=media_root, segmenter=segmenter))
            if progress and (i % step == 0 or i == total):
                progress(i, total)
    return out


def score_file(path: str | os.PathLike, out: str | os.PathLike | None = None, *,
               media_root: str | os.PathLike | None = None, segmenter: Segmenter | None = None,
               progress: Callable[[int, int], None] | None = None) -> ResultsFile:
    """Re-score a results file from any source without a model; write it to ``out`` when given.

    The rows keep their fields (``output``, ``sent`` …); ``prediction``, ``accuracy``,
    ``components``, ``format`` and ``error`` are recomputed, and the metrics from all rows.
    """
    src = read_rows(path)
    rows = score_rows(src.results, media_root=media_root, segmenter=segmenter, progress=progress)
    meta = {**src.meta, "scored_by": "onethinker.eval score", "scored_from": os.fspath(path)}
    result = ResultsFile(Path(out) if out else src.path, rows, compute_metrics(rows), meta, True)
    if out is not None:
        write_results(out, result.results, result.metrics, result.meta)
    return result
