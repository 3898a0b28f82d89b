"""A results row as the Inspect tab uses it: drawn with its ground truth, corrected, stored as a run."""

import json

import numpy as np
import pytest

from onethinker.eval import Query, ResultsTable
from onethinker.eval import review
from onethinker.eval.table import GroundTruthMasks
from onethinker.feedback import FeedbackError, FeedbackStore
from onethinker.payloads import BoxAnswer, OptionLetter, Text, Track
from onethinker.render import Style
from onethinker.runs import make_record
from tests.eval.conftest import EXAMPLES
from tests.eval.helpers import R, row
from tests.render.helpers import colour_mask

ST = Style()


@pytest.fixture(scope="module")
def table():
    return ResultsTable.load(EXAMPLES / "results.json")


def view(table, media_root=EXAMPLES / "media", **query):
    return table.view(int(table.select(Query(**query))[0]), media_root)


def test_a_box_row_draws_prediction_and_truth(table, tmp_path):
    v = view(table, task="spatial grounding")
    res = review.draw(v, review.REVIEW_OPTIONS)
    h, w = res.size[1], res.size[0]
    assert colour_mask(res.image[:h], ST.pred, 40).sum() > 50 and colour_mask(res.image[:h], ST.truth, 40).sum() > 50
    assert res.metrics["iou"] == pytest.approx(v.metrics["accuracy"])
    assert (w, h) == (256, 192)


def test_segmentation_rows_draw_the_ground_truth_masks(table, tmp_path):
    from onethinker.render import render

    from dataclasses import replace

    img = view(table, task="segmentation", data_type="image")
    res = review.draw(replace(img, predicted_masks=None))  # the ground truth's masks alone (see the next test)
    bare = render(img.answer, img.media[0].path, options=review.REVIEW_OPTIONS)  # the same without the masks
    disk = img.truth_masks.masks[0]
    assert disk.sum() > 3000
    blue_gain = res.image[:192, :, 2].astype(int) - bare.image[:192, :, 2]
    assert np.median(blue_gain[disk]) > 60 and not blue_gain[~disk].any()  # tinted inside the annotated disk only
    vid = view(table, task="segmentation", data_type="video", sort="file")
    res = review.draw(vid, review.REVIEW_OPTIONS.__class__(out_dir=str(tmp_path)))
    assert res.kind == "video" and res.video_path.endswith(".mp4")


def test_segmentation_rows_scored_by_the_runner_draw_the_predicted_masks_too(table):
    """The runner keeps each segmentation row's predicted masks (``predicted_segmentation``); Inspect draws them
    in the prediction's colour over the ground truth."""
    from dataclasses import replace

    img = view(table, task="segmentation", data_type="image")
    pred = img.predicted_masks.masks[0]
    assert pred.shape == img.truth_masks.masks[0].shape and pred.sum() > 1000
    with_pred, without = review.draw(img), review.draw(replace(img, predicted_masks=None))
    changed = np.abs(with_pred.image[:192].astype(int) - without.image[:192]).max(axis=-1) > 0
    assert changed[pred].mean() > 0.9 and not changed[~pred].any()  # tinted exactly where the prediction is
    vid = view(table, task="segmentation", data_type="video", sort="file")
    assert len(vid.predicted_masks.masks) == len(vid.row["segmentation_output"]["frames"])
    # the predicted masks reproduce the row's recorded score
    from onethinker.eval.segmentation import image_reward

    assert image_reward(pred, img.truth_masks.masks[0])["IoU"] == pytest.approx(img.metrics["accuracy"])


def test_unusable_predicted_masks_are_a_note_not_a_failure(table):
    r = dict(table.rows[int(table.select(Query(task="segmentation", data_type="image"))[0])])
    r["predicted_segmentation"] = {"segmentation_rle": {"size": [3, 3], "counts": "junk"}}
    v = ResultsTable.load(json.dumps([r]).encode()).view(0)
    assert v.predicted_masks is None and v.truth_masks is not None
    assert any(n.startswith("predicted masks not shown") for n in v.notes)


def test_frame_masks_pick_the_annotated_frame_shown_and_fit_the_rendered_size():
    m = np.zeros((4, 6), bool)
    m[1:3, 2:4] = True
    gt = GroundTruthMasks(6, 4, 2.0, {0: m, 2: ~m})  # frames at 0 s and 1 s
    at = review.frame_masks(gt, (0.0, 0.5, 1.0, 1.4, 9.0), 12, 8)
    assert at(0).shape == (8, 12) and at(0)[3, 5] and not at(0)[0, 0]
    assert at(1) is None and not at(2)[3, 5] and at(3) is None and at(4) is None and at(9) is None
    assert review.fit(m, 6, 4) is m


def test_no_drawing_for_text_tasks_refused_media_or_unknown_tasks(table, tmp_path):
    assert review.draw(view(table, task="OCR")) is None
    assert review.draw(view(table, errors_only=True)) is None  # its path is refused
    odd = ResultsTable.load(json.dumps([row("pointing", "{}", R("{}"))]).encode())
    assert review.draw(odd.view(0, tmp_path)) is None and not review.draws(odd.view(0))


def test_corrections_parse_with_the_rows_task(table):
    box = view(table, task="spatial grounding")
    assert review.truth_text(box) == '{"boxes": [117, 208, 352, 521]}'
    c = review.correction(box, review.truth_text(box), True, "tighter")
    assert c.payload == BoxAnswer((117, 208, 352, 521)) and c.keep_reasoning and c.comment == "tighter"
    with pytest.raises(FeedbackError) as e:
        review.correction(box, '{"boxes": [1, 2, 3000, 4]}')
    assert e.value.field == "feedback.correction.boxes[2]"
    with pytest.raises(FeedbackError, match="type the corrected"):
        review.correction(box, "  ")
    mc = view(table, task="multiple choice", data_type="video-image")
    assert review.correction(mc, "A").payload == OptionLetter("A")
    with pytest.raises(FeedbackError, match="option"):
        review.correction(mc, "D")  # two options only
    assert review.correction(view(table, task="OCR"), " open 24 hours ").payload == Text("open 24 hours")
    track = review.correction(view(table, task="tracking"), '{"boxes": {"1": [1, 2, 30, 40]}}').payload
    assert track == Track({1: (1, 2, 30, 40)})
    seg = view(table, task="segmentation", data_type="image")
    assert review.truth_text(seg) == seg.answer.payload.answer_text()  # its truth is a mask: start from the answer


def test_as_run_rebuilds_the_request_and_stores_through_make_record(table, tmp_path):
    store = FeedbackStore(tmp_path / "f.db")
    v = view(table, task="multiple choice", data_type="video-image")
    run = review.as_run(v, table.meta)
    assert run.request.data_type == "video-image" and run.request.options == v.options
    assert "Options:\nA. yes\nB. no" in run.sent.prompt and run.text == v.row["output"]
    assert run.model == "hand-written answers (illustrative)" and len(run.frame_times) == 8
    rec = make_record(store, [run], review.correction(v, "B"), "session")
    store.add(rec)
    (got,) = store.records()
    assert [m.kind for m in got.media] == ["video", "image"] and got.feedback.payload == OptionLetter("B")
    assert got.answers[0].payload == OptionLetter("A") and got.sampling["temperature"] == 0.0


def test_as_run_refuses_rows_whose_media_cannot_be_stored(table, tmp_path):
    refused = view(table, errors_only=True)
    with pytest.raises(FeedbackError) as e:
        review.as_run(refused)
    assert e.value.field == "media" and "leads out of the media root" in e.value.problem
    with pytest.raises(FeedbackError, match="choose a media root"):
        review.as_run(table.view(0))  # no media root given
    missing = ResultsTable.load(json.dumps([row("numerical", "3", R("3"), path="./gone.png")]).encode())
    with pytest.raises(FeedbackError, match="media file not found"):
        review.as_run(missing.view(0, tmp_path))
