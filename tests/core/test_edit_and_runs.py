"""The core pieces the app stands on: tasks per data type, hand edits to payloads, runs to records."""

from __future__ import annotations

import json

import numpy as np
import pytest

from onethinker import edit as E
from onethinker.answer import parse
from onethinker.engine import Request, Sent
from onethinker.feedback import FeedbackError, FeedbackStore, Vote
from onethinker.payloads import BoxAnswer, MathExpression, SegmentationPrompt, SpatioTemporal, TimeSpan, Track
from onethinker.runs import Run, make_record, parse_truth
from onethinker.tasks import TASKS, tasks_for, tracking_question


def test_tasks_for_each_data_type():
    assert {t.id for t in tasks_for("image")} == {t.id for t in TASKS.values() if "image" in t.media}
    assert {t.id for t in tasks_for("video-image")} == {t.id for t in tasks_for("video")}
    assert "tracking" not in {t.id for t in tasks_for("image")}


def test_tracking_question():
    assert tracking_question("the red car", [1.4, 2, 3, 4.6]) == "the red car. Its box in the first frame is [1, 2, 3, 5]."
    assert tracking_question("Track it!", None) == "Track it!"
    with pytest.raises(ValueError):
        tracking_question("x", [1, 2, 3])


# -- edits ------------------------------------------------------------------------------------------

CANVAS = E.Canvas(np.zeros((240, 320, 3), np.uint8))


def test_box_round_trip_between_grid_and_canvas_pixels():
    px = E.box_to_pixels((100, 250, 500, 1000), CANVAS)
    assert px == {"xmin": 32, "ymin": 60, "xmax": 160, "ymax": 240}
    assert E.box_from_pixels(px, CANVAS) == (100.0, 250.0, 500.0, 1000.0)
    # a box dragged backwards comes out with its corners in order; one dragged off the picture is clamped
    assert E.box_from_pixels({"xmin": 160, "ymin": 240, "xmax": 32, "ymax": 60}, CANVAS) == (100.0, 250.0, 500.0,
                                                                                              1000.0)
    assert E.box_from_pixels({"xmin": -10, "ymin": 0, "xmax": 400, "ymax": 24}, CANVAS) == (0.0, 0.0, 1000.0, 100.0)
    with pytest.raises(FeedbackError, match="draw one box"):
        E.box_from_pixels({"xmin": 1}, CANVAS)


def test_points_inside_and_outside_the_picture():
    assert E.point_from_pixels(160, 120, CANVAS) == (500.0, 500.0)
    assert E.point_from_pixels(321, 10, CANVAS) is None


def test_prompt_picture_draws_on_a_copy_of_the_same_size():
    pic = E.prompt_picture(CANVAS, (100, 100, 500, 500), [(300, 300)], [(900, 900)])
    assert pic.shape == CANVAS.image.shape and pic.any() and not CANVAS.image.any()


def test_span_picker_maps_clicks_to_seconds():
    pk = E.span_picker(6.0, (2.0, 4.5))
    assert pk.image.ndim == 3 and pk.x0 < pk.x1 <= pk.image.shape[1]
    assert pk.time_at(pk.x0) == 0.0 and pk.time_at(pk.x1) == 6.0
    assert pk.time_at((pk.x0 + pk.x1) / 2) == 3.0
    assert pk.time_at(pk.x0 - 50) == 0.0 and pk.time_at(pk.x1 + 50) == 6.0


def test_corrected_builds_each_payload_and_checks_it():
    assert E.corrected("spatial grounding", "image", box=(1, 2, 3, 4)) == BoxAnswer((1.0, 2.0, 3.0, 4.0))
    assert E.corrected("temporal grounding", "video", span=(1, 2.5)) == TimeSpan(1.0, 2.5)
    st = E.corrected("spatial-temporal grounding", "video", span=(1.5, 3.2), boxes={1: (0, 0, 9, 9), 2: (1, 1, 9, 9),
                                                                                    3: (2, 2, 9, 9), 4: (0, 0, 1, 1)})
    assert isinstance(st, SpatioTemporal) and sorted(st.boxes) == [2, 3]
    assert E.corrected("tracking", "video", boxes={2: (0, 0, 5, 5)}) == Track({2: (0.0, 0.0, 5.0, 5.0)})
    seg = E.corrected("segmentation-video", "video", box=(0, 0, 9, 9), positive=[(1, 1)], time=2.5)
    assert isinstance(seg, SegmentationPrompt) and seg.time == 2.5
    assert E.corrected("math", "image", text="$\\frac{1}{2}$") == MathExpression("$\\frac{1}{2}$")
    for kwargs, field in [
        (dict(task="spatial grounding", data_type="image"), "feedback.correction.boxes"),
        (dict(task="tracking", data_type="video"), "feedback.correction.boxes"),
        (dict(task="temporal grounding", data_type="video", span=(5, 1)), "feedback.correction.time"),
        (dict(task="segmentation-video", data_type="video", box=(0, 0, 9, 9), positive=[(1, 1)]),
         "feedback.correction.time"),
        (dict(task="multiple choice", data_type="image", text="E", n_options=4), "feedback.correction.letter"),
        (dict(task="numerical", data_type="image", text=" "), "feedback.correction"),
        (dict(task="tracking", data_type="image", boxes={1: (0, 0, 1, 1)}), "data_type"),
    ]:
        with pytest.raises(FeedbackError) as e:
            E.corrected(**kwargs)
        assert e.value.field == field, kwargs


def test_track_keys_cover_the_video():
    keys = E.track_keys("tracking", 6.0)
    assert keys[0] == 1 and all(E.time_of_key("tracking", k) <= 6.0 for k in keys)
    assert E.track_keys("spatial-temporal grounding", 6.0) == [0, 1, 2, 3, 4, 5, 6]


# -- runs -------------------------------------------------------------------------------------------


def _run(text: str, task: str = "spatial grounding", image: str = "a.png") -> Run:
    req = Request("Where?", task, image=image)
    sent = Sent("replay", "m", task, "image", "Where? …", [], [{"kind": "image", "width": 4, "height": 4}],
                {"temperature": 0.0, "seed": None})
    return Run(req, sent, text, parse(text, task, data_type="image"), "stop", 3, 0.01, 0.02)


def test_bundle_is_plain_json_with_everything():
    r = _run('<think>x</think><answer>{"boxes": [1, 2, 3, 4]}</answer>')
    b = json.loads(json.dumps(r.bundle()))
    assert b["raw"] == r.text and b["answer"]["payload"] == {"type": "box", "box": [1.0, 2.0, 3.0, 4.0]}
    assert b["sent"]["model"] == "m" and b["settings"]["sampling"]["max_new_tokens"] == 8192


def test_parse_truth_reads_what_score_reads():
    assert parse_truth('{"boxes": [1, 2, 3, 4]}', "spatial grounding").payload == BoxAnswer((1.0, 2.0, 3.0, 4.0))
    assert parse_truth("<answer>B</answer>", "multiple choice").payload.letter == "B"
    assert parse_truth("{oops", "spatial grounding").error


def test_make_record_stores_media_and_refuses_mixed_requests(tmp_path):
    from PIL import Image

    img = tmp_path / "a.png"
    Image.new("RGB", (4, 4)).save(img)
    store = FeedbackStore(tmp_path / "db" / "feedback.db")
    a = _run('<think>x</think><answer>{"boxes": [1, 2, 3, 4]}</answer>', image=str(img))
    rec = make_record(store, [a], Vote(1), "session-1")
    assert store.add(rec) == 1 and rec.media[0].kind == "image" and store.media.has(rec.media[0])
    assert rec.session == store.hash_session("session-1") and rec.sampling == {"temperature": 0.0, "seed": None}
    other = _run('<answer>{"boxes": [1, 2, 3, 5]}</answer>', image=str(tmp_path / "b.png"))
    with pytest.raises(FeedbackError, match="same request"):
        make_record(store, [a, other], Vote(1))
