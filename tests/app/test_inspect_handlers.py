"""Inspect tab handlers called directly: opening files, filters and pages, one row drawn, corrections."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

import app
from components import inspect as I
from components.context import Session
from onethinker.eval import score_rows
from onethinker.payloads import BoxAnswer, OptionLetter
from onethinker.render import Style
from tests.app.conftest import make_ctx
from tests.eval.helpers import R, row
from tests.render.helpers import colour_mask

ST = Style()
EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "results"


@pytest.fixture
def rooted(tmp_path):
    """An app context whose results root holds a copy of the example results and media."""
    root = tmp_path / "results"
    shutil.copytree(EXAMPLES, root / "examples", ignore=shutil.ignore_patterns("*.py"))
    ctx = make_ctx(tmp_path)
    ctx.settings.results_root = root
    return ctx, root


def opened():
    st = I.Inspection()
    out = I.open_example(st)
    return st, out


def filt(st, task="", data_type="", lo=None, hi=None, errors=False, sort="worst first", search=""):
    return I.apply_filters(st, task, data_type, lo, hi, errors, sort, search)


def test_the_example_opens_with_its_summary_and_rows_worst_first():
    st, out = opened()
    assert out["status"].startswith("✅ Opened **examples/results/results.json**: 14 rows, 11 tasks")
    assert st.media_root == (EXAMPLES / "media").resolve()
    summary = {r[0]: r for r in out["summary"]}
    assert summary["all"][1:3] == [14, round(st.table.metrics["overall/acc"], 3)]
    assert summary["spatial grounding"][3:6] == [1.0, 0.758, "iou"]  # R@0.5, mIoU, of
    assert summary["tracking"][3] == 0.0 and summary["multiple choice"][6] == 1  # R@0.5; errors
    assert len(out["table"]) == 14 and out["page_info"].startswith("14 of 14 rows match")
    scores = [r[7] for r in out["table"]]
    assert scores == sorted(scores) and [r[0] for r in out["table"]] == list(range(1, 15))
    choices = out["task"]["choices"]
    assert choices[0] == ("all tasks", "") and ("tracking", "tracking") in choices
    axes = out["plot"].axes[0]
    assert [t.get_text() for t in axes.get_yticklabels()] == [s["task"] for s in st.table.summary()]
    assert [t.get_text() for t in axes.get_legend().get_texts()] == ["accuracy", "R@0.5", "mIoU"]


def test_filters_search_and_sort():
    st, _ = opened()
    out = filt(st, task="multiple choice")
    assert {r[3] for r in out["table"]} == {"multiple choice"} and out["page_info"].startswith("3 of 14")
    assert len(filt(st, data_type="video")["table"]) == 7
    mid = filt(st, lo=0.5, hi=0.8, sort="file order")["table"]
    assert [r[1] for r in mid] == sorted(r[1] for r in mid) and all(0.5 <= r[7] <= 0.8 for r in mid)
    best = [r[7] for r in filt(st, sort="best first")["table"]]
    assert best == sorted(best, reverse=True)
    assert [r[2] for r in filt(st, errors=True)["table"]] == [14]
    assert [r[2] for r in filt(st, search="open 24")["table"]] == [5]  # in the prediction
    none = filt(st, search="nobody wrote this")
    assert none["table"] == [] and none["page_info"].startswith("No row of 14")
    assert I.show(None, st, 0)["header"] == "No row matches the filters."


def test_next_previous_and_row_number_walk_the_filtered_rows(ctx):
    st, _ = opened()
    filt(st, data_type="image", sort="file order")
    first = I.step(ctx, st, 1)  # from no row: the first
    assert first["header"].startswith("**Result 1 of 6**") and first["row_number"] == 1
    assert I.step(ctx, st, 1)["header"].startswith("**Result 2 of 6**")
    assert I.step(ctx, st, -1)["header"].startswith("**Result 1 of 6**")
    assert I.step(ctx, st, -1)["header"].startswith("**Result 1 of 6**")  # stays at the first
    last = I.show(ctx, st, 99)  # a typed number past the end: the last
    assert last["header"].startswith("**Result 6 of 6**") and st.view.row["data_type"] == "image"
    assert I.pick(ctx, st, [3, 6, 7, "math"])["header"].startswith("**Result 3 of 6** · file row 6")
    # the row shown keeps its place when the filters change
    filt(st, sort="file order")
    assert I.step(ctx, st, 1)["header"].startswith("**Result 8 of 14** · file row 7")


def test_pages_follow_the_row_shown(ctx, tmp_path):
    rows = score_rows([{**row("numerical", str(i % 7), R(str(i % 5)), problem_id=i)} for i in range(120)])
    path = tmp_path / "results" / "many.jsonl"
    path.parent.mkdir()
    path.write_text("\n".join(json.dumps(r) for r in rows))
    ctx.settings.results_root = path.parent
    st = I.Inspection()
    out = I.open_path(ctx, st, "many.jsonl")
    assert out["page_info"] == "120 of 120 rows match · page 1 of 3" and len(out["table"]) == 50
    p3 = I.go_page(st, 3)
    assert p3["page"] == 3 and len(p3["table"]) == 20 and p3["table"][0][0] == 101
    assert I.go_page(st, 9)["page"] == 3 and I.go_page(st, -2)["page"] == 1  # clamped
    shown = I.show(ctx, st, 49)
    assert "table" not in shown  # the table is already on its page
    moved = I.step(ctx, st, 1)
    assert moved["page"] == 2 and moved["table"][0][0] == 51 and moved["header"].startswith("**Result 51 of 120**")


def test_a_box_row_shows_question_reasoning_prediction_truth_and_both_colours(ctx):
    st, _ = opened()
    filt(st, task="spatial grounding")
    out = I.show(ctx, st, 0)
    assert out["question"] == "Where is the blue square?" and out["reasoning"] == "Top left."
    assert out["prediction"] == '{"boxes": [102, 229, 359, 562]}' and out["truth"] == '{"boxes": [117, 208, 352, 521]}'
    assert "accuracy **0.758**" in out["metrics"] and "iou 0.758" in out["metrics"]
    pic = out["overlay"][:192]
    assert colour_mask(pic, ST.pred, 40).sum() > 50 and colour_mask(pic, ST.truth, 40).sum() > 50
    assert out["correction"] == out["truth"] and out["warnings"] == "No parse warnings."


def test_video_rows_are_drawn_as_videos_and_timelines(ctx):
    st, _ = opened()
    filt(st, task="tracking")
    track = I.show(ctx, st, 0)
    assert track["video"].endswith(".mp4") and Path(track["video"]).parent == ctx.outputs.root
    filt(st, task="temporal grounding")
    span = I.show(ctx, st, 0)
    assert span["overlay"] is not None and span["video"].endswith(".mp4") and len(span["thumbs"]) == 3
    filt(st, task="segmentation", data_type="video")
    seg = I.show(ctx, st, 0)
    assert seg["truth"] == "ground-truth mask: 32 annotated frames at 192×144" and seg["video"].endswith(".mp4")
    assert "edit its box and points" in seg["warnings"]
    assert "not in the results file" not in seg["warnings"]  # the runner kept the predicted masks: they are drawn
    i = int(st.order[0])  # the same row as if scored elsewhere (no predicted masks): the note says what is drawn
    st.table.rows[i] = {k: v for k, v in st.table.rows[i].items() if k != "predicted_segmentation"}
    assert "not in the results file" in I.show(ctx, st, 0)["warnings"]


def test_rows_with_nothing_to_draw_show_their_media_as_they_are(ctx):
    st, _ = opened()
    filt(st, task="multiple choice", data_type="video-image")
    out = I.show(ctx, st, 0)
    assert out["overlay"] is None and out["question"].endswith("- A. yes\n- B. no")
    assert out["media_image"].shape == (192, 256, 3)
    copied = Path(out["media_video"])
    assert copied.parent == ctx.outputs.root and copied.read_bytes() == (EXAMPLES / "media" / "ball.mp4").read_bytes()


def test_a_path_escape_row_shows_its_refusal_and_the_rest_loads(ctx):
    st, out = opened()
    assert len(out["table"]) == 14
    filt(st, errors=True)
    bad = I.show(ctx, st, 0)
    assert "❌ **media_path**: media path refused: '../../../README.md' leads out of the media root" in bad["header"]
    assert bad["overlay"] is None and bad["media_image"] is None and bad["prediction"] == "(no answer)"
    before = ctx.store.count()
    assert I.save(ctx, st, Session(), "A", False, "").startswith("❌ Not saved — media: media path refused")
    assert ctx.store.count() == before


def test_open_a_path_under_the_results_root_with_the_files_own_media(rooted):
    ctx, root = rooted
    st = I.Inspection()
    out = I.open_path(ctx, st, "examples/results.json")
    assert out["status"].startswith("✅ Opened **examples/results.json**")
    assert st.media_root == root / "examples" / "media"
    assert I.open_path(ctx, st, "examples/results.json", "examples")["status"].startswith("✅")
    assert st.media_root == root / "examples"  # a media folder typed by hand wins
    for bad, words in [("../results.json", "'..'"), ("/etc/passwd", "absolute media path refused"),
                       ("examples/nothing.json", "not found"), ("", "Type the path")]:
        assert words in I.open_path(ctx, st, bad)["status"], bad
    for bad, words in [("../", "'..'"), ("/tmp", "absolute"), ("examples/results.json", "is not a folder")]:
        assert words in I.open_path(ctx, st, "examples/results.json", bad)["status"], bad
    os.symlink(root.parent, root / "out")
    assert "symbolic link out of the media root" in I.open_path(ctx, st, "examples/results.json", "out")["status"]
    ctx.settings.results_root = root / "missing"
    assert "is not a folder" in I.open_path(ctx, st, "examples/results.json")["status"]


def test_a_file_naming_media_outside_the_root_falls_back_to_the_root(rooted):
    ctx, root = rooted
    doc = json.loads((root / "examples" / "results.json").read_text())
    doc["meta"]["media_root"] = "/data/eval"
    (root / "elsewhere.json").write_text(json.dumps(doc))
    st = I.Inspection()
    out = I.open_path(ctx, st, "elsewhere.json")
    assert st.media_root == root.resolve() and "'/data/eval' is not a folder under the results root" in out["status"]


def test_uploads_of_json_or_jsonl_with_the_same_fields(rooted, tmp_path):
    ctx, root = rooted
    rows = [row("spatial grounding", {"boxes": [10, 10, 500, 500]}, R({"boxes": [20, 20, 480, 520]}),
                path="./results/../shapes.png"),
            row("spatial grounding", {"boxes": [10, 10, 500, 500]}, R({"boxes": [0, 0, 100, 100]}), problem_id=2)]
    upload = tmp_path / "mine.jsonl"
    upload.write_text("\n".join(json.dumps(r) for r in score_rows(rows)))
    st = I.Inspection()
    out = I.open_upload(ctx, st, str(upload), "examples/media")
    assert out["status"].startswith("✅ Opened **mine.jsonl**: 2 rows")
    assert st.media_root == root / "examples" / "media"
    refused, fine = I.show(ctx, st, 1), I.show(ctx, st, 0)
    assert "leads out of the media root with '..'" in refused["header"] and refused["overlay"] is None
    assert fine["overlay"] is not None
    assert I.open_upload(ctx, st, None)["status"].startswith("⚠️ Upload")
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    assert I.open_upload(ctx, st, str(broken))["status"].startswith("❌") and st.table is not None  # nothing lost


def test_save_the_ground_truth_or_an_edited_answer_as_a_correction(ctx):
    st, _ = opened()
    s = Session()
    assert I.save(ctx, st, s, "B", False, "") == "⚠️ Choose a row first."
    filt(st, task="spatial grounding")
    out = I.show(ctx, st, 0)
    assert I.save(ctx, st, s, out["correction"], True, "truth") == \
        '✅ Saved correction as record #1: `{"boxes": [117, 208, 352, 521]}`'
    msg = I.save(ctx, st, s, '{"boxes": [100, 200, 1300, 500]}', False, "")
    assert msg == "❌ Not saved — feedback.correction.boxes[2]: 1300 is outside the 0..1000 grid"
    saved = I.save(ctx, st, s, '{"boxes": [100, 200, 300, 500]}', False, "hand")
    assert saved.startswith("✅ Saved correction as record #2")
    a, b = ctx.store.records()
    assert a.feedback.payload == BoxAnswer((117, 208, 352, 521)) and a.feedback.keep_reasoning
    assert b.feedback.payload == BoxAnswer((100, 200, 300, 500)) and b.feedback.comment == "hand"
    assert a.outputs == (st.view.row["output"],) and a.question == "Where is the blue square?"
    assert a.model_id == "hand-written answers (illustrative)" and a.session == ctx.store.hash_session(s.id)
    filt(st, task="multiple choice", data_type="video")
    I.show(ctx, st, 0)
    assert I.save(ctx, st, s, "b", False, "").startswith("✅ Saved correction as record #3: `B`")
    assert list(ctx.store.records())[-1].feedback.payload == OptionLetter("B")


def test_results_root_comes_from_the_flag_or_the_environment(monkeypatch, tmp_path):
    assert app.settings_from(app.parser().parse_args(["--results-root", str(tmp_path)])).results_root == tmp_path
    monkeypatch.setenv("ONETHINKER_RESULTS_ROOT", str(tmp_path / "env"))
    assert app.settings_from(app.parser().parse_args([])).results_root == tmp_path / "env"
    monkeypatch.delenv("ONETHINKER_RESULTS_ROOT")
    s = app.settings_from(app.parser().parse_args([]))
    assert s.results_root == Path("results") and I.results_root(make_ctx(tmp_path)) == Path("results")
