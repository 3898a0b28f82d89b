"""The evaluation row: what the official files hold, what we check before spending a generation on it.

Input rows (official ``eval_*.json``) carry ``problem_id``, ``problem``, ``problem_type``,
``data_type`` (image | video | video-image), ``path``, ``additional_path`` (the image of a
video-image row), ``options`` and ``solution`` (usually wrapped in ``<answer>``).  Segmentation
rows have no usable ``solution``; they carry ``resolution`` {width, height}, ``fps`` (video) and
``segmentation_output``: ``{"segmentation_rle": RLE}`` for an image, ``{"frames": [keys in order],
"segmentation_rle": {key: RLE}}`` for a video.

A row that cannot be scored gets ``error = {"kind": ..., "message": ...}`` (kinds in
:data:`ERROR_KINDS`) and accuracy 0; it still counts in every mean, and the run goes on.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Mapping

from onethinker.rewards import extract_answer, score
from onethinker.rewards.metrics import box4, strict_number, strict_numbers
from onethinker.tasks import DATA_TYPES, IMAGE, Task, UnknownTaskError, get_task

ERROR_KINDS = {
    "missing_field": "a field the row needs is missing or empty",
    "bad_field": "a field has a value of the wrong kind",
    "unknown_problem_type": "problem_type is not a known task",
    "malformed_solution": "the ground truth cannot be read",
    "bad_rle": "a ground-truth mask (RLE) cannot be decoded or has the wrong size",
    "missing_media": "the image or video file is missing, empty or unreadable",
    "media_path": "the media path was refused (absolute, '..', or a link out of the media root)",
    "engine": "the model or server failed on this row",
    "no_output": "a results row without model output",
    "segmenter": "the segmentation model failed on this row",
    "not_segmented": "a segmentation row that was not segmented (no segmenter given)",
}

# Per reward kind, the components the official script records (names as it writes them).
COMPONENTS = {
    "tiou": ("tiou",),
    "box_iou": ("iou",),
    "spatio_temporal": ("tiou", "miou_inter"),
    "track": ("miou_gt",),
    "segmentation_image": ("iou",),
    "segmentation_video": ("J", "F", "J&F"),
}


class RowError(Exception):
    """Why a row cannot be scored; ``kind`` is one of :data:`ERROR_KINDS`."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind, self.message = kind, message

    def to_json(self) -> dict[str, str]:
        return {"kind": self.kind, "message": self.message}


@dataclass(frozen=True)
class RowSpec:
    """What :func:`check_row` learned: the task, and the ground truth ready to score against."""

    task: Task
    problem_type: str  # as the file writes it, stripped (the key of the per-type metrics)
    data_type: str  # image | video | video-image
    truth: Any  # the solution text, its JSON object for coordinate tasks, or SegTruth
    text: str = ""  # the solution text as the scorer reads it (inside <answer>); "" for segmentation

    @property
    def segmentation(self) -> bool:
        return self.task.reward.startswith("segmentation")


# A segmentation row's predicted masks, written by the runner beside its reward (not an official field): the
# shape of ``segmentation_output`` — {"segmentation_rle": RLE} for an image, {"segmentation_rle": {frame key: RLE}}
# for a video — so the Inspect tab draws the prediction's masks over the ground truth's.
PREDICTED_MASKS = "predicted_segmentation"


@dataclass(frozen=True)
class SegTruth:
    """A segmentation row's ground truth: the picture size and the RLE of each annotated frame."""

    width: int
    height: int
    fps: float | None  # video only
    frames: tuple[str, ...]  # frame keys in order (video); () for an image
    rles: Mapping[str, Any]  # frame key -> RLE (video); {"": RLE} for an image


def problem_type_of(row: Mapping) -> str:
    v = row.get("problem_type")
    return v.strip() if isinstance(v, str) else ""


def data_type_of(row: Mapping) -> str:
    v = row.get("data_type")
    return v.strip().lower() if isinstance(v, str) else ""


def truth_text(solution: Any) -> str | None:
    """The ground truth as the official script reads it: the text inside ``<answer>`` if any."""
    if isinstance(solution, bool) or solution is None:
        return None
    if isinstance(solution, (int, float)):
        return str(solution) if math.isfinite(solution) else None
    if not isinstance(solution, str):
        return None
    inner = extract_answer(solution)
    return (inner or solution).strip()


def check_row(row: Mapping) -> RowSpec:
    """The row's task and ground truth, or :class:`RowError` naming what is wrong.  Media are not checked."""
    ptype = problem_type_of(row)
    if not ptype:
        raise RowError("missing_field", "problem_type is missing")
    dtype = data_type_of(row)
    if not dtype:
        raise RowError("missing_field", "data_type is missing (image, video or video-image)")
    if dtype not in DATA_TYPES:
        raise RowError("bad_field", f"data_type {row.get('data_type')!r} is not one of {', '.join(DATA_TYPES)}")
    try:
        task = get_task(ptype, dtype)
    except UnknownTaskError:
        raise RowError("unknown_problem_type", f"unknown problem_type {ptype!r}") from None
    if dtype == IMAGE and task.is_video_only:
        raise RowError("bad_field", f"{ptype} needs a video, but data_type is image")
    if task.reward.startswith("segmentation"):
        return RowSpec(task, ptype, dtype, _seg_truth(row, dtype))
    text = _solution_text(row)
    return RowSpec(task, ptype, dtype, _solution(text, task, ptype, dtype), text)


# ---------------------------------------------------------------------------------------------
# Ground truth of the question-answering and coordinate tasks


def _solution_text(row: Mapping) -> str:
    if "solution" not in row or row["solution"] is None or row["solution"] == "":
        raise RowError("missing_field", "solution is missing")
    text = truth_text(row["solution"])
    if not text:
        raise RowError("malformed_solution", f"solution {row['solution']!r} is not text with an answer")
    return text


def _solution(text: str, task: Task, ptype: str, dtype: str) -> Any:
    kind = task.reward
    if kind in ("tiou", "box_iou", "spatio_temporal", "track"):
        return _json_truth(text, kind, ptype)
    if kind in ("number_exact", "relative_accuracy"):
        if strict_number(text.replace(",", "")) is None:
            raise RowError("malformed_solution", f"{ptype} solution must be a number, got {text[:80]!r}")
    elif kind == "option" and not _readable_option(text, task):
        raise RowError("malformed_solution", f"{ptype} solution must be one option letter, got {text[:80]!r}")
    return text


@lru_cache(maxsize=256)
def _readable_option(text: str, task: Task) -> bool:
    """Whether the scorer can match this letter at all (scored against itself, it must score 1)."""
    return score(f"<answer>{text}</answer>", text, task).accuracy == 1.0


def _json_truth(text: str, kind: str, ptype: str) -> dict:
    import orjson

    try:
        gt = orjson.loads(text)
    except orjson.JSONDecodeError:
        raise RowError("malformed_solution", f"{ptype} solution is not JSON: {text[:80]!r}") from None
    if not isinstance(gt, dict):
        raise RowError("malformed_solution", f"{ptype} solution must be a JSON object, got {text[:80]!r}")
    if kind in ("tiou", "spatio_temporal") and strict_numbers(gt.get("time"), 2) is None:
        raise RowError("malformed_solution", f'{ptype} solution needs "time": [start, end], got {text[:80]!r}')
    if kind == "box_iou" and box4(gt.get("boxes")) is None:
        raise RowError("malformed_solution", f'{ptype} solution needs "boxes": [x1, y1, x2, y2], got {text[:80]!r}')
    if kind in ("spatio_temporal", "track"):
        boxes = gt.get("boxes")
        if not isinstance(boxes, dict) or not boxes or any(box4(b) is None for b in boxes.values()):
            raise RowError("malformed_solution",
                           f'{ptype} solution needs "boxes": {{"<second>": [x1, y1, x2, y2], ...}}, got {text[:80]!r}')
    return gt


# ---------------------------------------------------------------------------------------------
# Ground truth of segmentation rows


def _positive_int(v: Any) -> int | None:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v <= 0 or v != int(v):
        return None
    return int(v)


def _seg_truth(row: Mapping, dtype: str) -> SegTruth:
    res = row.get("resolution")
    if not isinstance(res, dict):
        raise RowError("missing_field", "segmentation row has no resolution {width, height}")
    w, h = _positive_int(res.get("width")), _positive_int(res.get("height"))
    if w is None or h is None:
        raise RowError("bad_field", f"resolution must have positive whole width and height, got {dict(res)!r}")
    out = row.get("segmentation_output")
    if not isinstance(out, dict):
        raise RowError("missing_field", "segmentation row has no segmentation_output")
    rles = out.get("segmentation_rle")
    if dtype == IMAGE:
        _check_rle(rles, w, h, "segmentation_rle")
        return SegTruth(w, h, None, (), {"": rles})
    fps = strict_number(row.get("fps"))
    if fps is None or fps <= 0:
        raise RowError("bad_field", f"video segmentation row needs fps > 0, got {row.get('fps')!r}")
    frames = out.get("frames")
    if not isinstance(frames, list) or not frames or not all(isinstance(k, str) for k in frames):
        raise RowError("malformed_solution", "segmentation_output.frames must be a non-empty list of frame keys")
    if not isinstance(rles, dict):
        raise RowError("malformed_solution", "segmentation_output.segmentation_rle must map frame keys to RLEs")
    for key in frames:
        if rles.get(key):
            _check_rle(rles[key], w, h, f"segmentation_rle[{key!r}]")
    return SegTruth(w, h, fps, tuple(frames), rles)


def _check_rle(rle: Any, w: int, h: int, where: str) -> None:
    if not isinstance(rle, dict) or "counts" not in rle or "size" not in rle:
        raise RowError("bad_rle", f"{where} must be a COCO RLE {{size: [height, width], counts}}")
    size = rle["size"]
    if not isinstance(size, (list, tuple)) or len(size) != 2 or [_positive_int(v) for v in size] != [h, w]:
        raise RowError("bad_rle", f"{where} has size {size!r} but the resolution is {w}x{h} "
                                  f"(expected size [{h}, {w}])")
    if not isinstance(rle["counts"], (str, list)):
        raise RowError("bad_rle", f"{where} counts must be an RLE string or a list of run lengths")
