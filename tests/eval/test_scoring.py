"""Hand-computed row scores for every task, the official component names, and the corpus metrics."""

import pytest

from onethinker.eval import compute_metrics, score_row, score_rows
from onethinker.rewards import box_iou
from tests.eval.helpers import R, row


def scored(r):
    out = score_row(r)
    assert out["error"] is None, out["error"]
    return out


@pytest.mark.parametrize("ptype, dtype, solution, answer, acc", [
    ("multiple choice", "video", "B", "B", 1.0),
    ("multiple choice", "video", "B", "b", 1.0),  # the letter, as the official script reads it, uppercased
    ("multiple choice", "image", "B", "C", 0.0),
    ("numerical", "image", "3.14", "3.14159", 1.0),  # equal to two decimals
    ("numerical", "image", "1000", "1,000", 1.0),
    ("numerical", "image", "3.14", "3.16", 0.0),
    ("regression", "video", "3.0", "2.5", 0.7),  # |2.5-3|/3 = 1/6 < 1-θ for θ = 0.50 … 0.80: 7 of 10
    ("OCR", "image", "OPEN 24 HOURS", "OPEN 24 HOUR", 2 / 3),  # one substitution in three words
    # ROUGE-1 F 2/3, ROUGE-2 F 1/2 (1 of 3 reference bigrams), ROUGE-L F 2/3; mean 11/18
    ("open-ended", "video", "red car big dog", "red car", 11 / 18),
    ("math", "image", "14", "$14$", 1.0),
    ("math", "image", "\\frac{1}{2}", "0.5", 1.0),
    ("math", "image", "14", "15", 0.0),
])
def test_question_answering_accuracy(ptype, dtype, solution, answer, acc):
    out = scored(row(ptype, solution, R(answer), dtype))
    assert out["accuracy"] == pytest.approx(acc)
    assert out["components"] == {}  # the official script records no components for these
    assert out["prediction"] == answer and out["format"] == 1.0


def test_coordinate_tasks_and_their_official_components():
    t = scored(row("temporal grounding", {"time": [0, 10]}, R({"time": [5, 15]}), "video"))
    assert t["accuracy"] == pytest.approx(1 / 3) and t["components"] == {"tiou": pytest.approx(1 / 3)}

    s = scored(row("spatial grounding", {"boxes": [0, 0, 10, 10]}, R({"boxes": [5, 0, 15, 10]})))
    assert s["accuracy"] == pytest.approx(50 / 150) and s["components"] == {"iou": pytest.approx(1 / 3)}

    # tIoU [0,4] vs [2,6] = 2/6; boxes only on the common second "2": IoU 50/100; accuracy the mean
    st = scored(row("spatial-temporal grounding",
                    {"time": [0, 4], "boxes": {"1": [0, 0, 10, 10], "2": [0, 0, 10, 10]}},
                    R({"time": [2, 6], "boxes": {"2": [0, 0, 10, 5], "3": [0, 0, 1, 1]}}), "video"))
    assert st["components"] == {"tiou": pytest.approx(1 / 3), "miou_inter": pytest.approx(0.5)}
    assert st["accuracy"] == pytest.approx(0.5 / 3 + 0.25)

    # tracking: mean over the truth's seconds, a second the prediction lacks scores 0
    tr = scored(row("tracking", {"boxes": {"1": [0, 0, 10, 10], "2": [0, 0, 10, 10]}},
                    R({"boxes": {"1": [0, 0, 10, 10]}}), "video"))
    assert tr["accuracy"] == pytest.approx(0.5) and tr["components"] == {"miou_gt": pytest.approx(0.5)}


def official_iou_2d_at_head(box1, box2):
    """The arithmetic of ``iou_2d`` in the official ``Evaluation/Eval/eval_bench.py`` at HEAD, reproduced
    to show its defect: the intersection's far corner is unpacked from ``min(x2, X2)``, one number."""
    x1, y1, x2, y2 = map(float, box1)
    X1, Y1, X2, Y2 = map(float, box2)
    inter_x2, inter_y2 = min(x2, X2)  # noqa: F841 - raises before the IoU is computed
    raise AssertionError("unreachable")


def test_box_iou_is_right_where_the_official_helper_fails():
    pred, gt = [0, 0, 20, 10], [10, 0, 30, 40]
    with pytest.raises(TypeError, match="cannot unpack"):
        official_iou_2d_at_head(pred, gt)  # every spatial-grounding row crashes the official scoring
    # by hand: the overlap is x 10..20, y 0..10 = 100; areas 200 and 800 -> 100 / 900.  Taking the
    # y-extent from the x corners (the obvious patch of that line, min(x2, X2) twice) would give 200 / 800.
    assert box_iou(pred, gt) == pytest.approx(1 / 9)
    out = scored(row("spatial grounding", {"boxes": gt}, R({"boxes": pred})))
    assert out["accuracy"] == pytest.approx(1 / 9) and out["components"]["iou"] == pytest.approx(1 / 9)


def test_prediction_and_format_follow_the_official_reading():
    no_tags = scored(row("numerical", "3", "  3  "))
    assert no_tags["prediction"] == "3" and no_tags["accuracy"] == 1.0 and no_tags["format"] == 0.0
    wrapped = scored(row("numerical", "3", "<think>a</think> text <answer>3</answer>"))
    assert wrapped["format"] == 0.0 and wrapped["accuracy"] == 1.0  # text between the tags: not well-formed
    unwrapped_truth = scored({**row("numerical", "3", R("3")), "solution": "3"})
    assert unwrapped_truth["accuracy"] == 1.0


# ---------------------------------------------------------------------------------------------
# Corpus metrics


def test_recall_at_thresholds_and_means_by_hand():
    rows = [{"problem_type": "temporal grounding", "data_type": "video", "accuracy": v, "components": {"tiou": v},
             "format": 1.0} for v in (0.2, 0.3, 0.5, 0.9)]
    rows.append({"problem_type": "multiple choice", "data_type": "image", "accuracy": 1.0, "format": 0.0})
    m = compute_metrics(rows)
    assert m["overall/acc"] == pytest.approx((0.2 + 0.3 + 0.5 + 0.9 + 1.0) / 5)
    assert m["temporal grounding/acc"] == pytest.approx(0.475)
    assert m["multiple choice/acc"] == 1.0
    assert m["temporal grounding/tiou/mean"] == pytest.approx(0.475)
    assert m["temporal grounding/tiou/R@0.3"] == 0.75  # a component equal to the threshold counts
    assert m["temporal grounding/tiou/R@0.5"] == 0.5
    assert m["temporal grounding/tiou/R@0.7"] == 0.25
    assert m["overall/format"] == pytest.approx(0.8) and m["multiple choice/format"] == 0.0
    assert m["data_type/video/acc"] == pytest.approx(0.475) and m["data_type/image/count"] == 1
    assert m["overall/count"] == 5 and m["errors/total"] == 0
    # official keys come first, in the official order
    assert list(m)[:3] == ["overall/acc", "temporal grounding/acc", "multiple choice/acc"]


def test_segmentation_corpus_metrics_by_hand():
    rows = [
        {"problem_type": "segmentation", "data_type": "image", "accuracy": 0.5,
         "reward": {"IoU": 0.5, "inter": 10, "union": 20}},
        {"problem_type": "segmentation", "data_type": "image", "accuracy": 1.0,
         "reward": {"IoU": 1.0, "inter": 30, "union": 30}},
        {"problem_type": "segmentation", "data_type": "video", "accuracy": 0.5, "reward": {"J": 0.4, "F": 0.6, "J&F": 0.5}},
        {"problem_type": "segmentation", "data_type": "video", "accuracy": 0.9, "reward": {"J": 0.8, "F": 1.0, "J&F": 0.9}},
    ]
    m = compute_metrics(rows)
    assert m["segmentation/gIoU"] == pytest.approx(0.75)  # mean of per-image IoU
    assert m["segmentation/cIoU"] == pytest.approx(40 / 50)  # Σ intersection / Σ union
    assert (m["segmentation/J"], m["segmentation/F"], m["segmentation/J&F"]) == pytest.approx((0.6, 0.8, 0.7))


def test_empty_file_and_rows_with_missing_fields():
    assert compute_metrics([]) == {"overall/acc": 0.0, "overall/count": 0, "errors/total": 0}
    m = compute_metrics([{}, {"problem_type": "numerical", "accuracy": "high"}, {"accuracy": 1.0}])
    assert m["overall/acc"] == pytest.approx(1 / 3) and m["overall/count"] == 3
    assert m["numerical/acc"] == 0.0  # a non-number accuracy counts as 0
    assert "overall/format" not in m  # no row recorded a format


def test_metrics_of_official_script_rows():
    """Rows as eval_bench.py writes them (components only when non-empty, no format) give its keys."""
    rows = [
        {**row("spatial grounding", {"boxes": [0, 0, 10, 10]}), "output": R({"boxes": [0, 0, 10, 10]}),
         "prediction": '{"boxes": [0, 0, 10, 10]}', "accuracy": 1.0, "components": {"iou": 1.0}},
        {**row("multiple choice", "A"), "output": R("B"), "prediction": "B", "accuracy": 0.0},
    ]
    m = compute_metrics(rows)
    assert m["overall/acc"] == 0.5 and m["spatial grounding/iou/R@0.7"] == 1.0
    assert "multiple choice/format" not in m
    rescored = compute_metrics(score_rows(rows))  # our scoring agrees, and adds format
    assert all(rescored[k] == pytest.approx(v) for k, v in m.items())
    assert rescored["multiple choice/format"] == 1.0
