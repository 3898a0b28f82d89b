"""The OneThinker rule-based reward: format + structure + accuracy, per item and in batches.

overall = (1 − w)·accuracy + w·format + structure, with w = ``format_weight`` (0.1).

* format: 1 when the whole response is ``<think>…</think><answer>…</answer>`` once whitespace inside
  the tags is normalised (``< / think >`` → ``</think>``), else 0.
* structure: per reward kind (see :data:`REWARD_KINDS`); 0 whenever format is 0.
* accuracy in [0, 1]: per reward kind.

The answer is scored as written: JSON must parse as it stands, corners are not swapped and
coordinates are not clamped.  The repairs :func:`onethinker.answer.parse` makes for display never
raise a reward.  ``compute_score`` follows the EasyR1 / verl batch reward-function interface.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Callable, Iterable, NamedTuple

from onethinker.answer.answer import Answer
from onethinker.payloads import Payload
from onethinker.rewards import metrics as M
from onethinker.tasks import Task, UnknownTaskError, get_task

# A tag with whitespace inside, and any tag.  The slash and the spaces after it are one optional
# group: written as "\s*/?\s*", a '<' followed by many spaces was split every possible way
# (quadratic: 1.65 s for 20,000 spaces).
_TAG_SPACES = re.compile(r"<\s*(?:(/)\s*)?(think|answer)\s*>")
_SPACED_TAG = re.compile(r"<(?:\s+(?:/\s*)?|/\s+)(?:think|answer)\s*>|</?(?:think|answer)\s+>")
# The definitions the string scans below implement (kept for tests and readers; never run on model text):
FORMAT_PATTERN = re.compile(r"\s*<think>.*?</think>\s*<answer>.*?</answer>\s*", re.DOTALL)
ANSWER_PATTERN = re.compile(r"<answer>\s*(.*?)\s*</answer>", re.DOTALL)


def normalize_tags(text: str) -> str:
    """``< / think >`` → ``</think>``; only the four tags are touched, never the answer's own text."""
    return _TAG_SPACES.sub(r"<\1\2>", text) if _SPACED_TAG.search(text) else text


def _is_think_answer(text: str) -> bool:
    """``\\s*<think>.*?</think>\\s*<answer>.*?</answer>\\s*`` as a full match, with string scans.

    Equivalent to the regular expression (which backtracks over every ``</think>``) but several
    times faster on long reasoning: some ``</think>`` must be followed, after whitespace only, by
    ``<answer>``, and the stripped text must start with ``<think>`` and end with ``</answer>``.
    """
    s = text.strip()
    if not (s.startswith("<think>") and s.endswith("</answer>")):
        return False
    last = len(s) - 9  # where the final </answer> starts
    i = s.find("</think>", 7)
    while i != -1:
        j = i + 8
        while j < len(s) and s[j].isspace():
            j += 1
        if s.startswith("<answer>", j) and j + 8 <= last:
            return True
        i = s.find("</think>", i + 1)
    return False


def format_reward(response: Any) -> float:
    if not isinstance(response, str):
        return 0.0
    return 1.0 if _is_think_answer(normalize_tags(response)) else 0.0


def _first_answer(text: str) -> str | None:
    """Like ``<answer>\\s*(.*?)\\s*</answer>``'s first match, with string scans."""
    i = text.find("<answer>")
    if i == -1:
        return None
    j = text.find("</answer>", i + 8)
    return None if j == -1 else text[i + 8 : j].strip()


def extract_answer(text: Any) -> str | None:
    """The text inside the first ``<answer>…</answer>``, stripped; None when there is none."""
    if not isinstance(text, str):
        return None
    return _first_answer(normalize_tags(text))


# ---------------------------------------------------------------------------------------------
# Items


@lru_cache(maxsize=1 << 14)
def _json_cached(s: str) -> Any:
    try:
        return json.loads(s)
    except (ValueError, RecursionError):
        return None


class Item:
    """One prediction/ground-truth pair with its JSON parsed at most once per side."""

    __slots__ = ("pred", "gt", "data_type", "_pred_json", "_parsed")

    def __init__(self, pred: str, gt: str, data_type: str) -> None:
        self.pred, self.gt, self.data_type = pred, gt, data_type
        self._parsed = False
        self._pred_json: Any = None

    @property
    def pred_json(self) -> Any:
        if not self._parsed:
            self._parsed = True
            try:
                self._pred_json = json.loads(self.pred)
            except (ValueError, RecursionError):
                self._pred_json = None
        return self._pred_json

    @property
    def gt_json(self) -> Any:
        return _json_cached(self.gt)  # ground truths repeat across a sampling group


def _dicts(item: Item) -> tuple[dict, dict] | None:
    p, g = item.pred_json, item.gt_json
    return (p, g) if isinstance(p, dict) and isinstance(g, dict) else None


# ---------------------------------------------------------------------------------------------
# Reward kinds: accuracy and structure, strictly as written


def _letter(s: str) -> str | None:
    m = re.fullmatch(r"\(?\s*([A-Za-z])\s*[\).:]?", s.strip())
    return m.group(1).upper() if m else None


def acc_option(it: Item) -> float:
    p = _letter(it.pred)
    return 1.0 if p is not None and p == _letter(it.gt) else 0.0


def acc_tiou(it: Item) -> float:
    d = _dicts(it)
    return M.interval_iou(d[0].get("time"), d[1].get("time")) if d else 0.0


def acc_box(it: Item) -> float:
    d = _dicts(it)
    return M.box_iou(d[0].get("boxes"), d[1].get("boxes")) if d else 0.0


def acc_spatio_temporal(it: Item) -> float:
    d = _dicts(it)
    if not d:
        return 0.0
    p, g = d
    return 0.5 * M.interval_iou(p.get("time"), g.get("time")) + 0.5 * M.mean_iou_over_common(p.get("boxes"), g.get("boxes"))


def acc_track(it: Item) -> float:
    d = _dicts(it)
    return M.mean_iou_over_truth(d[0].get("boxes"), d[1].get("boxes")) if d else 0.0


def _seg_parts(it: Item) -> tuple[float, float, float, dict, dict] | None:
    """Box IoU, positive and negative point similarity; None unless both sides give 3 + 3 valid points."""
    d = _dicts(it)
    if not d:
        return None
    p, g = d
    if not all(_three_points(p.get(k), g.get(k)) for k in ("positive_points", "negative_points")):
        return None
    pos = M.point_set_similarity(p["positive_points"], g["positive_points"])
    neg = M.point_set_similarity(p["negative_points"], g["negative_points"])
    return M.box_iou(p.get("boxes"), g.get("boxes")), pos, neg, p, g


def _three_points(*sides: Any) -> bool:
    return all(isinstance(x, list) and M.three_points(x) is not None for x in sides)


def acc_seg_image(it: Item) -> float:
    parts = _seg_parts(it)
    if parts is None:
        return 0.0
    iou, pos, neg, _, _ = parts
    return 0.5 * iou + 0.25 * pos + 0.25 * neg


def _json_number(v: Any) -> float | None:
    """The key time of a video segmentation must be a JSON number (a string does not count)."""
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return None
    return M.strict_number(v)


def acc_seg_video(it: Item) -> float:
    parts = _seg_parts(it)
    if parts is None:
        return 0.0
    iou, pos, neg, p, g = parts
    tp, tg = _json_number(p.get("time")), _json_number(g.get("time"))
    if tp is None or tg is None:
        return 0.0
    return 0.3 * iou + 0.3 * math.exp(-abs(tp - tg) / 2.0) + 0.2 * pos + 0.2 * neg


def struct_default(it: Item) -> float:
    return 0.5


def _boxes_ok(v: Any) -> bool:
    return isinstance(v, dict) and all(M.box4(b) is not None for b in v.values())


def _seconds_overlap(it: Item) -> float:
    d = _dicts(it)
    if not d:
        return 0.0
    pb, gb = d[0].get("boxes"), d[1].get("boxes")
    if not isinstance(pb, dict) or not isinstance(gb, dict) or not gb:
        return 0.0
    return 0.25 * min(1.0, len(pb.keys() & gb.keys()) / len(gb))


def struct_spatio_temporal(it: Item) -> float:
    p = it.pred_json
    shape_ok = (isinstance(p, dict) and isinstance(p.get("time"), list) and len(p["time"]) == 2
                and _boxes_ok(p.get("boxes")))
    return (0.25 if shape_ok else 0.0) + _seconds_overlap(it)


def struct_track(it: Item) -> float:
    p = it.pred_json
    return (0.25 if isinstance(p, dict) and _boxes_ok(p.get("boxes")) else 0.0) + _seconds_overlap(it)


def struct_tiou(it: Item) -> float:
    p = it.pred_json
    return 0.5 if isinstance(p, dict) and M.strict_numbers(p.get("time"), 2) else 0.0


def struct_box(it: Item) -> float:
    p = it.pred_json
    return 0.5 if isinstance(p, dict) and M.strict_numbers(p.get("boxes"), 4) else 0.0


def _seg_shape(p: Any) -> bool:
    return (isinstance(p, dict) and M.strict_numbers(p.get("boxes"), 4) is not None
            and _three_points(p.get("positive_points"), p.get("negative_points")))


def struct_seg_image(it: Item) -> float:
    return 0.5 if _seg_shape(it.pred_json) else 0.0


def struct_seg_video(it: Item) -> float:
    p = it.pred_json
    return 0.5 if _seg_shape(p) and _json_number(p.get("time")) is not None else 0.0


def _truth_span(g: dict) -> bool:
    return M.strict_numbers(g.get("time"), 2) is not None


def _truth_boxes(g: dict) -> bool:
    return _boxes_ok(g.get("boxes")) and bool(g["boxes"])


@dataclass(frozen=True)
class TruthShape:
    """What a JSON ground truth must hold for its reward kind to score anything against it."""

    check: Callable[[dict], bool]
    example: str


@dataclass(frozen=True)
class RewardKind:
    accuracy: Callable[[Item], float]
    structure: Callable[[Item], float]
    truth: TruthShape | None = None  # None: the ground truth is plain text


REWARD_KINDS: dict[str, RewardKind] = {
    "option": RewardKind(acc_option, struct_default),
    "number_exact": RewardKind(lambda it: 1.0 if M.numbers_match(it.pred, it.gt) else 0.0, struct_default),
    "relative_accuracy": RewardKind(lambda it: M.mean_relative_accuracy(it.pred.replace(",", ""),
                                                                        it.gt.replace(",", "")), struct_default),
    "wer": RewardKind(lambda it: M.ocr_accuracy(it.gt, it.pred), struct_default),
    "rouge": RewardKind(lambda it: M.rouge_mean_f(it.gt, it.pred), struct_default),
    "math": RewardKind(lambda it: 1.0 if M.math_equal(it.pred, it.gt) else 0.0, struct_default),
    "tiou": RewardKind(acc_tiou, struct_tiou, TruthShape(_truth_span, '{"time": [start, end]}')),
    "box_iou": RewardKind(acc_box, struct_box,
                          TruthShape(lambda g: M.box4(g.get("boxes")) is not None, '{"boxes": [x1, y1, x2, y2]}')),
    "spatio_temporal": RewardKind(acc_spatio_temporal, struct_spatio_temporal, TruthShape(
        lambda g: _truth_span(g) and _boxes_ok(g.get("boxes")),
        '{"time": [s, e], "boxes": {"<second>": [x1, y1, x2, y2]}}')),
    "track": RewardKind(acc_track, struct_track, TruthShape(_truth_boxes, '{"boxes": {"1": [x1, y1, x2, y2], …}}')),
    "segmentation_image": RewardKind(acc_seg_image, struct_seg_image, TruthShape(
        _seg_shape, '{"boxes": [x1, y1, x2, y2], "positive_points": [3 × [x, y]], "negative_points": [3 × [x, y]]}')),
    "segmentation_video": RewardKind(acc_seg_video, struct_seg_video, TruthShape(
        lambda g: _seg_shape(g) and _json_number(g.get("time")) is not None,
        '{"time": t, "boxes": [x1, y1, x2, y2], "positive_points": [3 × [x, y]], "negative_points": [3 × [x, y]]}')),
}


@lru_cache(maxsize=1 << 14)  # ground truths repeat across a sampling group
def truth_error(kind: str, task_id: str, gt: str) -> str | None:
    """Why ``gt`` cannot be scored for this reward kind (None when it can): a bad data row, not a bad answer."""
    shape = REWARD_KINDS[kind].truth
    if shape is None:
        return None
    g = _json_cached(gt)
    if not isinstance(g, dict):
        return f"ground truth for {task_id} is not a JSON object: {gt[:80]!r}"
    if not shape.check(g):
        return f"ground truth for {task_id} is not shaped like {shape.example} with finite numbers: {gt[:80]!r}"
    return None


# ---------------------------------------------------------------------------------------------
# Public API


class Score(NamedTuple):
    """One scored response (a tuple, cheap to build in the training hot path)."""

    overall: float
    format: float
    accuracy: float
    structure: float
    error: str | None = None  # why the inputs could not be scored (bad ground truth, unknown task …)

    def as_reward(self) -> dict[str, float]:
        """The EasyR1 / verl result row."""
        return {"overall": self.overall, "format": self.format, "accuracy": self.accuracy,
                "structure_reward": self.structure}

    def to_dict(self) -> dict[str, Any]:
        return self._asdict()




@lru_cache(maxsize=1 << 14)
def _unwrap_truth(text: str) -> str:
    inner = extract_answer(text)
    return inner if inner is not None else text.strip()


def _truth_text(ground_truth: Any) -> str | None:
    if isinstance(ground_truth, str):
        return _unwrap_truth(ground_truth)
    if isinstance(ground_truth, Answer):
        return ground_truth.payload.answer_text() if ground_truth.payload is not None else None
    if isinstance(ground_truth, Payload):
        return ground_truth.answer_text()
    if isinstance(ground_truth, (int, float)) and not isinstance(ground_truth, bool) and math.isfinite(ground_truth):
        return str(ground_truth)
    return None


def score(
    response: "str | Answer",
    ground_truth: "str | Payload | Answer",
    task: "str | Task",
    data_type: str | None = None,
    format_weight: float = 0.1,
) -> Score:
    """Score one response.  Never raises: unusable inputs give zeros and ``Score.error``."""
    try:
        t = get_task(task, data_type)
    except UnknownTaskError as e:
        return Score(0.0, 0.0, 0.0, 0.0, str(e))
    if isinstance(response, Answer):
        response = response.raw
    if not isinstance(response, str):
        return Score(0.0, 0.0, 0.0, 0.0, f"response must be text, got {type(response).__name__}")
    gt = _truth_text(ground_truth)
    if gt is None or not gt:
        return Score(0.0, 0.0, 0.0, 0.0, "ground truth is empty or not text")
    if isinstance(format_weight, bool) or not isinstance(format_weight, (int, float)) or not 0 <= format_weight <= 1:
        return Score(0.0, 0.0, 0.0, 0.0, f"format_weight must be a number in [0, 1], got {format_weight!r}")
    return _score(response, gt, data_type or t.media[0], REWARD_KINDS[t.reward], format_weight,
                  truth_error(t.reward, t.id, gt))


def _score(response: str, gt: str, data_type: str, kind: RewardKind, w: float, error: str | None = None) -> Score:
    text = normalize_tags(response)
    fmt = 1.0 if _is_think_answer(text) else 0.0
    answer = _first_answer(text)
    it = Item(answer if answer is not None else text.strip(), gt, data_type)
    acc = kind.accuracy(it)
    struct = kind.structure(it) if fmt else 0.0
    return Score((1.0 - w) * acc + w * fmt + struct, fmt, acc, struct, error)


def score_batch(reward_inputs: Iterable[dict], format_weight: float = 0.1) -> list[Score]:
    """Score many items; each item never affects another, and a bad one scores zeros with its error."""
    out: list[Score] = []
    for item in reward_inputs:
        if not isinstance(item, dict):
            out.append(Score(0.0, 0.0, 0.0, 0.0, f"reward input must be a dict, got {type(item).__name__}"))
            continue
        ptype = item.get("problem_type") or ""
        dtype = item.get("data_type") or ""
        out.append(score(item.get("response", ""), item.get("ground_truth", ""), ptype,
                         dtype if isinstance(dtype, str) and dtype else None, format_weight))
    return out


def compute_score(reward_inputs: list[dict[str, Any]], format_weight: float = 0.1) -> list[dict[str, float]]:
    """EasyR1 / verl batch reward function (``reward_type=batch``).

    Each input has ``response``, ``ground_truth`` (may be wrapped in ``<answer>``), ``data_type``
    and ``problem_type``; each output has ``overall``, ``format``, ``accuracy``, ``structure_reward``.
    A malformed item scores zeros; a non-list argument raises ``TypeError`` (the verl contract).
    """
    if not isinstance(reward_inputs, (list, tuple)):
        raise TypeError(f"compute_score takes a list of reward-input dicts (reward_type=batch), "
                        f"got {type(reward_inputs).__name__}")
    return [s.as_reward() for s in score_batch(reward_inputs, format_weight)]
