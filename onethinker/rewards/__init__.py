"""Metrics and the OneThinker rule-based reward (single-item ``score`` and EasyR1 ``compute_score``)."""

from onethinker.rewards.metrics import (
    boundary_f_measure,
    box_iou,
    interval_iou,
    mask_inter_union,
    mask_iou,
    math_equal,
    mean_iou_over_common,
    mean_iou_over_truth,
    mean_relative_accuracy,
    ocr_accuracy,
    point_set_similarity,
    rouge_mean_f,
    word_error_rate,
)
from onethinker.rewards.scoring import (
    REWARD_KINDS,
    Score,
    compute_score,
    extract_answer,
    format_reward,
    normalize_tags,
    score,
    score_batch,
)

__all__ = [
    "compute_score", "score", "score_batch", "Score", "REWARD_KINDS", "format_reward", "extract_answer",
    "normalize_tags", "box_iou", "interval_iou", "mean_iou_over_common", "mean_iou_over_truth",
    "point_set_similarity", "mean_relative_accuracy", "word_error_rate", "ocr_accuracy", "rouge_mean_f",
    "math_equal", "mask_iou", "mask_inter_union", "boundary_f_measure",
]
