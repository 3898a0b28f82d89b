"""The results table behind the Inspect tab: filters, sort, search, pages, summary and one row's view."""

import json

import numpy as np
import pytest

from onethinker.answer import BoxAnswer, TimeSpan
from onethinker.eval import EvalFileError, Query, ResultsTable
from tests.eval.conftest import EXAMPLES
from tests.eval.helpers import R, row


@pytest.fixture(scope="module")
def table():
    return ResultsTable.load(EXAMPLES / "results.json")


def test_columns_and_summary(table):
    assert len(table) == 14 and table.name == "results.json"
    assert "segmentation" in table.tasks and table.data_types == ["image", "video", "video-image"]
    summary = {s["task"]: s for s in table.summary()}
    mc = summary["multiple choice"]
    assert mc["count"] == 3 and mc["accuracy"] == pytest.approx(1 / 3) and mc["errors"] == 1
    assert mc["component"] is None and mc["miou"] is None
    sg = summary["spatial grounding"]
    assert sg["component"] == "iou" and sg["miou"] == pytest.approx(sg["accuracy"]) and sg["r_at_0_5"] == 1.0
    assert summary["temporal grounding"]["component"] == "tiou"
    assert summary["tracking"]["component"] == "miou_gt" and summary["tracking"]["r_at_0_5"] == 0.0
    assert table.metrics["overall/count"] == 14  # recomputed from the rows


def test_filters_sort_search_and_pages(table):
    scores = [r["score"] for r in table.query(Query(page_size=100)).rows]
    assert scores == sorted(scores)  # worst first by default
    best = table.query(Query(sort="best", page_size=100)).rows
    assert [r["score"] for r in best] == sorted(scores, reverse=True)
    assert [r["index"] for r in table.query(Query(sort="file", page_size=100)).rows] == list(range(14))

    mc = table.query(Query(task="multiple choice"))
    assert mc.total == 3 and {r["task"] for r in mc.rows} == {"multiple choice"}
    assert table.query(Query(data_type="VIDEO")).total == 7
    assert table.query(Query(task="multiple choice", data_type="image")).total == 1
    assert table.query(Query(task="no such task")).total == 0
    mid = table.query(Query(score_min=0.5, score_max=0.8, sort="file")).rows
    assert all(0.5 <= r["score"] <= 0.8 for r in mid) and len(mid) == 5
    assert [r["problem_id"] for r in table.query(Query(errors_only=True)).rows] == [14]
    assert {r["problem_id"] for r in table.query(Query(search="BALL")).rows} >= {1, 8, 10, 11, 13}  # question
    assert [r["problem_id"] for r in table.query(Query(search="open 24 hour")).rows] == [5]  # prediction
    assert table.query(Query(search="reasoning that nobody wrote")).total == 0

    pages = [table.query(Query(sort="file", page=p, page_size=4)) for p in range(4)]
    assert [len(p.rows) for p in pages] == [4, 4, 4, 2] and pages[0].pages == 4
    assert [r["index"] for p in pages for r in p.rows] == list(range(14))
    assert table.query(Query(page=99, page_size=4)).page == 3  # clamped
    with pytest.raises(ValueError, match="sort must be one of"):
        table.query(Query(sort="random"))


def test_row_view_parses_answer_and_truth_and_refuses_escaping_paths(table):
    root = EXAMPLES / "media"
    i = next(r["index"] for r in table.query(Query(task="spatial grounding")).rows)
    v = table.view(i, root)
    assert isinstance(v.answer.payload, BoxAnswer) and isinstance(v.truth.payload, BoxAnswer)
    assert v.answer.think == "Top left." and v.metrics["components"]["iou"] == pytest.approx(v.metrics["accuracy"])
    assert v.media[0].ok and v.media[0].path == (root / "shapes.png").resolve()

    t = table.view(next(r["index"] for r in table.query(Query(task="temporal grounding")).rows), root)
    assert isinstance(t.truth.payload, TimeSpan) and (t.truth.payload.start, t.truth.payload.end) == (0.5, 3.5)

    refused = table.view(next(r["index"] for r in table.query(Query(errors_only=True)).rows), root)
    assert not refused.media[0].ok and "leads out of the media root" in refused.media[0].error
    assert refused.error["kind"] == "media_path" and refused.answer is None

    both = table.view(next(r["index"] for r in table.query(Query(data_type="video-image")).rows), root)
    assert [m.path.name for m in both.media] == ["ball.mp4", "shapes.png"] and both.options == ["A. yes", "B. no"]


def test_segmentation_truth_masks(table):
    img = table.view(next(r["index"] for r in table.query(Query(task="segmentation", data_type="image")).rows))
    (mask,) = img.truth_masks.masks.values()
    assert mask.shape == (192, 256) and mask[110, 170] and not mask[0, 0]
    assert abs(int(mask.sum()) - np.pi * 35 ** 2) < 60  # the green disk of radius 35
    vid = table.view(next(r["index"] for r in table.query(Query(task="segmentation", data_type="video")).rows))
    assert sorted(vid.truth_masks.masks) == list(range(32)) and vid.truth_masks.fps == 8
    assert vid.truth_masks.masks[0][80, 36] and vid.truth_masks.masks[31][80, 156]  # the ball rolls right


def test_any_rows_load_from_bytes_or_under_a_results_root(tmp_path):
    # rows as the feedback store's eval export or an evaluation input write them: no output, no score
    plain = [row("multiple choice", "B", problem_id=1), row("numerical", "3", problem_id=2)]
    t = ResultsTable.load("\n".join(json.dumps(r) for r in plain).encode(), "upload.jsonl")
    assert len(t) == 2 and [r["score"] for r in t.query().rows] == [None, None]
    assert t.view(0).answer is None and t.view(0).truth.payload is not None
    scored = [{**row("numerical", "3", R("3"), problem_id=i), "accuracy": float(i % 2)} for i in range(5)]
    (tmp_path / "runs").mkdir()
    (tmp_path / "runs" / "a.json").write_text(json.dumps({"results": scored, "metrics": {"overall/acc": 42}}))
    t = ResultsTable.load_under(tmp_path / "runs", "a.json")
    assert t.metrics["overall/acc"] == pytest.approx(0.4)  # never the file's own 42
    with pytest.raises(EvalFileError, match="'\\.\\.'"):
        ResultsTable.load_under(tmp_path / "runs", "../a.json")
    with pytest.raises(EvalFileError, match="not valid JSON"):
        ResultsTable.load(b"{broken")


def test_a_row_with_unreadable_truth_still_shows(tmp_path):
    t = ResultsTable.load(json.dumps([row("spatial grounding", "{oops", R({"boxes": [1, 2, 3, 4]}))]).encode())
    v = t.view(0)
    assert v.truth is None and any("ground truth not shown" in w for w in v.warnings)
    assert v.answer is not None and isinstance(v.answer.payload, BoxAnswer)
