"""Rows that cannot be scored get an error of a named kind and score 0; the rest of the file is unaffected."""

import pytest

from onethinker.eval import ERROR_KINDS, check_row, compute_metrics, score_rows
from onethinker.eval.rows import RowError
from tests.eval.helpers import R, row

SEG_IMAGE = {"problem_id": 9, "problem": "Segment it.", "problem_type": "segmentation", "data_type": "image",
             "path": "./shapes.png", "resolution": {"width": 4, "height": 3},
             "segmentation_output": {"segmentation_rle": {"size": [3, 4], "counts": "0<0"}}}


def kind_of(r) -> str:
    with pytest.raises(RowError) as e:
        check_row(r)
    assert e.value.kind in ERROR_KINDS and e.value.message
    return e.value.kind


@pytest.mark.parametrize("bad, kind, words", [
    ({"problem_type": None}, "missing_field", "problem_type"),
    ({"problem_type": "counting sheep"}, "unknown_problem_type", "counting sheep"),
    ({"data_type": None}, "missing_field", "data_type"),
    ({"data_type": "audio"}, "bad_field", "audio"),
    ({"solution": None}, "missing_field", "solution"),
    ({"solution": "<answer></answer>"}, "malformed_solution", "solution"),
])
def test_row_fields(bad, kind, words):
    r = {**row("multiple choice", "B"), **bad}
    assert kind_of(r) == kind
    with pytest.raises(RowError, match=words):
        check_row(r)


@pytest.mark.parametrize("ptype, dtype, solution, words", [
    ("temporal grounding", "video", "not json", "not JSON"),
    ("temporal grounding", "video", {"time": [1]}, '"time"'),
    ("spatial grounding", "image", {"boxes": [1, 2, 3]}, '"boxes"'),
    ("spatial grounding", "image", [1, 2, 3, 4], "JSON object"),
    ("tracking", "video", {"boxes": {}}, '"boxes"'),
    ("spatial-temporal grounding", "video", {"time": [1, 2], "boxes": {"1": "x"}}, '"boxes"'),
    ("numerical", "image", "about five", "number"),
    ("multiple choice", "image", "?", "option letter"),
])
def test_malformed_solutions(ptype, dtype, solution, words):
    r = row(ptype, solution, data_type=dtype)
    assert kind_of(r) == "malformed_solution"
    with pytest.raises(RowError, match=words):
        check_row(r)


def test_a_video_task_on_an_image():
    assert kind_of(row("temporal grounding", {"time": [1, 2]}, data_type="image")) == "bad_field"


def test_segmentation_ground_truth_checks():
    assert check_row(SEG_IMAGE).truth.width == 4
    assert kind_of({**SEG_IMAGE, "resolution": None}) == "missing_field"
    assert kind_of({**SEG_IMAGE, "resolution": {"width": 4, "height": -3}}) == "bad_field"
    wrong = {**SEG_IMAGE, "segmentation_output": {"segmentation_rle": {"size": [4, 3], "counts": "0<0"}}}
    assert kind_of(wrong) == "bad_rle"
    with pytest.raises(RowError, match=r"expected size \[3, 4\]"):
        check_row(wrong)
    video = {**SEG_IMAGE, "data_type": "video", "fps": 8,
             "segmentation_output": {"frames": ["a", "b"], "segmentation_rle": {"a": {"size": [3, 4], "counts": "0<0"}}}}
    assert check_row(video).truth.frames == ("a", "b")
    assert kind_of({**video, "fps": 0}) == "bad_field"
    assert kind_of({**video, "segmentation_output": {"frames": [], "segmentation_rle": {}}}) == "malformed_solution"
    bad_frame = {"frames": ["a"], "segmentation_rle": {"a": {"size": [30, 40], "counts": "x"}}}
    assert kind_of({**video, "segmentation_output": bad_frame}) == "bad_rle"


def test_bad_rows_score_zero_and_are_counted_per_kind_while_the_rest_score():
    rows = [
        row("multiple choice", "B", R("B"), problem_id=1),
        row("counting sheep", "B", R("B"), problem_id=2),
        row("spatial grounding", "{broken", R({"boxes": [0, 0, 1, 1]}), problem_id=3),
        row("spatial grounding", {"boxes": [0, 0, 10, 10]}, R({"boxes": [0, 0, 10, 10]}), problem_id=4),
        row("tracking", {"boxes": {"1": [0, 0, 1, 1]}}, None, "video", problem_id=5),  # no output at all
        {**SEG_IMAGE, "output": R("{}"),
         "segmentation_output": {"segmentation_rle": {"size": [9, 9], "counts": "0<0"}}},
    ]
    out = score_rows(rows)
    assert [r["problem_id"] for r in out] == [1, 2, 3, 4, 5, 9]
    assert [r["error"]["kind"] if r["error"] else None for r in out] == [
        None, "unknown_problem_type", "malformed_solution", None, "no_output", "bad_rle"]
    assert [r["accuracy"] for r in out] == [1.0, 0.0, 0.0, 1.0, 0.0, 0.0]
    assert out[2]["components"] == {"iou": 0.0}  # a miss in every R@t of its type
    assert out[4]["components"] == {"miou_gt": 0.0}
    assert out[5]["reward"] == {"IoU": 0.0, "inter": 0, "union": 0} and out[5]["status"].startswith("error")
    m = compute_metrics(out)
    assert m["errors/total"] == 4
    assert (m["errors/unknown_problem_type"], m["errors/malformed_solution"], m["errors/no_output"],
            m["errors/bad_rle"]) == (1, 1, 1, 1)
    assert m["spatial grounding/acc"] == 0.5 and m["spatial grounding/iou/R@0.5"] == 0.5
    assert m["overall/acc"] == pytest.approx(2 / 6)


def test_an_earlier_error_survives_rescoring():
    failed = {**row("multiple choice", "B"), "output": None,
              "error": {"kind": "missing_media", "message": "media file not found: ./x.png"}}
    (out,) = score_rows([failed])
    assert out["error"] == failed["error"] and out["accuracy"] == 0.0
