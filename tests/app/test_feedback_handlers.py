"""Judge, Correct and Admin handlers called directly: every feedback path writes the right record."""

from __future__ import annotations

import zipfile

import gradio as gr
import numpy as np
import pytest

from components import admin, correct, judge
from components import run as R
from components.context import Session
from onethinker.edit import box_to_pixels, time_of_key
from onethinker.feedback import Correction, Preference, Vote
from onethinker.payloads import BoxAnswer, OptionLetter, SegmentationPrompt, SpatioTemporal, Text, TimeSpan, Track
from onethinker.render import render
from tests.app.conftest import form


def ran(ctx, ex, **over) -> Session:
    s = Session()
    list(R.run_stream(ctx, s, form(ex, **over)))
    assert s.run is not None and s.run.answer.ok
    return s


def records(ctx):
    return list(ctx.store.records())


# -- votes and preferences ------------------------------------------------------------------------


def test_votes_store_the_run_as_it_was_seen(ctx, examples):
    s = ran(ctx, examples["tracking"])
    assert judge.vote(ctx, s, -1, "drifts off") == "✅ Saved as record #1."
    assert judge.vote(ctx, s, 1, "") == "✅ Saved as record #2."
    down, up = records(ctx)
    assert down.feedback == Vote(-1, 0, "drifts off") and up.feedback == Vote(1, 0, "")
    assert down.prompt == s.run.sent.prompt and down.outputs == (s.run.text,) and down.answers == (s.run.answer,)
    assert down.model_id == "replay-onethinker" and down.backend == "replay" and down.data_type == "video"
    assert down.frame_times == tuple(s.run.sent.media[0]["timestamps"]) and len(down.frame_times) == 12
    assert [m.kind for m in down.media] == ["video"] and ctx.store.media.has(down.media[0])
    assert down.session == ctx.store.hash_session(s.id) and up.media == down.media  # stored once


def test_vote_without_a_run_says_so(ctx):
    assert "run the model first" in judge.vote(ctx, Session(), 1, "")
    assert ctx.store.count() == 0


def test_sample_two_then_every_preference_choice(ctx, examples):
    ex = examples["spatial grounding"]
    s = Session()
    ups = list(judge.sample_two(ctx, s, form(ex), 0.8))
    assert ups[-1][0].startswith("✅ Two samples") and len(s.samples) == 2
    assert ups[-1][3] is not None and ups[-1][5] is not None  # both drawn
    assert all(r.request.sampling.temperature == 0.8 for r in s.samples)
    assert judge.prefer(ctx, s, "B better", "tighter box") == "✅ Saved as record #1."
    assert judge.prefer(ctx, s, "A better", "") == "✅ Saved as record #2."
    assert judge.prefer(ctx, s, "Tie (both good)", "") == "✅ Saved as record #3, #4."
    assert judge.prefer(ctx, s, "Both bad", "") == "✅ Saved as record #5, #6."
    recs = records(ctx)
    assert recs[0].feedback == Preference(1, "tighter box") and len(recs[0].outputs) == 2
    assert recs[1].feedback == Preference(0, "")
    assert [r.feedback.value for r in recs[2:]] == [1, 1, -1, -1] and all(len(r.outputs) == 1 for r in recs[2:])


def test_identical_samples_are_said_to_be_identical(tmp_path, examples):
    """A sampler can return the same text twice: the page says so; a preference is refused, a tie is kept."""
    from tests.app.conftest import make_ctx
    from tests.app.replay_backend import ReplayBackend

    class SameTwice(ReplayBackend):  # test double: a sampler that repeats itself
        def response(self, task, sample=None):
            return super().response(task)

    ctx = make_ctx(tmp_path, SameTwice())
    s = Session()
    status = list(judge.sample_two(ctx, s, form(examples["numerical"]), 0.7))[-1][0]
    assert "same text" in status and "nothing to prefer" in status
    assert judge.prefer(ctx, s, "A better", "").startswith("❌ Not saved — outputs")
    assert judge.prefer(ctx, s, "Tie (both good)", "") == "✅ Saved as record #1, #2."


def test_sample_two_needs_temperature_and_samples_before_choosing(ctx, examples):
    s = Session()
    assert list(judge.sample_two(ctx, s, form(examples["numerical"]), 0.0))[-1][0].startswith("⚠️ Sampling needs")
    assert "Sample two" in judge.prefer(ctx, s, "A better", "")
    assert list(judge.sample_two(ctx, s, form(examples["numerical"], image=None), 0.7))[-1][0].startswith("⚠️ attach")


# -- corrections ----------------------------------------------------------------------------------


def test_box_correction_dragged_in_pixels_is_saved_on_the_grid(ctx, examples):
    s = ran(ctx, examples["spatial grounding"])
    loaded = correct.start(s)
    value = loaded["annot"]
    assert value["boxes"][0] == {**box_to_pixels(s.run.answer.payload.box, s.edit.canvas), "label": "answer"}
    w, h = s.edit.canvas.width, s.edit.canvas.height  # 320 × 240
    s.edit.set_box({"boxes": [{"xmin": 32, "ymin": 24, "xmax": 160, "ymax": 240}]})
    assert "Show corrected answer" in correct.save(ctx, s, False, "")  # confirm first
    msg, image, _ = correct.confirm(ctx, s, None)
    assert '{"boxes": [100, 100, 500, 1000]}' in msg and image is not None
    assert correct.save(ctx, s, True, "tighter").startswith("✅ Saved correction as record #1")
    rec = records(ctx)[0]
    assert rec.feedback == Correction(BoxAnswer((100.0, 100.0, 500.0, 1000.0)), 0, True, "tighter")
    assert (w, h) == (320, 240)


def test_a_box_about_a_video_is_drawn_on_a_chosen_frame(ctx, examples):
    s = ran(ctx, examples["regression"], task="spatial grounding", question="Where is the blue square?")
    loaded = correct.start(s)
    slider = loaded["frame"]
    assert slider["visible"] is True and slider["maximum"] == pytest.approx(6.0)
    assert slider["label"].endswith("drawn on the frame at 0.00 s") and "Pick the frame" in loaded["summary"]
    first = loaded["annot"]["image"]
    s.edit.set_time(3.0)  # the slider, released at 3 s
    shown = s.edit.annotator_value()
    assert s.edit.canvas.time == pytest.approx(3.0) and not np.array_equal(first, shown["image"])
    assert shown["boxes"][0] == {**box_to_pixels(s.run.answer.payload.box, s.edit.canvas), "label": "answer"}
    s.edit.set_box({"boxes": [{"xmin": 19.2, "ymin": 14.4, "xmax": 96, "ymax": 72}]})  # on the 192 × 144 frame
    msg, image, _ = correct.confirm(ctx, s, None)
    assert '{"boxes": [100, 100, 500, 500]}' in msg and "(drawn on the frame at 3.00 s)" in msg
    on_first = render(BoxAnswer((100.0, 100.0, 500.0, 500.0)), first).image
    assert image.shape == on_first.shape and not np.array_equal(image, on_first)  # drawn on the chosen frame
    assert correct.save(ctx, s, False, "").endswith("(drawn on the frame at 3.00 s)")
    assert records(ctx)[0].feedback.payload == BoxAnswer((100.0, 100.0, 500.0, 500.0))  # one box, on the grid
    image_run = ran(ctx, examples["spatial grounding"])
    assert correct.start(image_run)["frame"]["visible"] is False  # an image has no frames to pick


def test_editing_after_confirming_needs_a_new_confirmation(ctx, examples):
    s = ran(ctx, examples["spatial grounding"])
    correct.start(s)
    correct.confirm(ctx, s, None)
    s.edit.set_box({"boxes": [{"xmin": 0, "ymin": 0, "xmax": 32, "ymax": 24}]})
    correct.edited(s)
    assert "Show corrected answer" in correct.save(ctx, s, False, "")


def test_track_correction_per_second(ctx, examples):
    s = ran(ctx, examples["tracking"])
    correct.start(s)
    e = s.edit
    keys = e.keys()
    assert keys[0] == 1 and len(keys) >= 6 and e.key == 1
    e.set_key(3)
    assert e.canvas.time == pytest.approx(time_of_key("tracking", 3), abs=0.11)
    e.set_box({"boxes": [{"xmin": 19.2, "ymin": 14.4, "xmax": 96, "ymax": 72}]})  # 192 × 144 frame
    e.set_key(6)
    e.set_box({"boxes": []})  # clearing drops that second
    correct.confirm(ctx, s, None)
    assert correct.save(ctx, s, False, "").startswith("✅")
    p = records(ctx)[0].feedback.payload
    assert isinstance(p, Track) and p.boxes[3] == (100.0, 100.0, 500.0, 500.0) and 6 not in p.boxes
    assert p.boxes[1] == s.run.answer.payload.boxes[1]


def test_spatio_temporal_correction_keeps_the_seconds_inside_the_span(ctx, examples):
    s = ran(ctx, examples["spatial-temporal grounding"])
    correct.start(s)
    s.edit.set_span(3.0, 4.5)
    correct.confirm(ctx, s, None)
    correct.save(ctx, s, False, "")
    p = records(ctx)[0].feedback.payload
    assert isinstance(p, SpatioTemporal) and (p.start, p.end) == (3.0, 4.5) and sorted(p.boxes) == [3, 4]


def test_time_span_picked_on_the_timeline(ctx, examples):
    s = ran(ctx, examples["temporal grounding"])
    loaded = correct.start(s)
    assert loaded["timeline"] is not None and (loaded["start"], loaded["end"]) == (2.0, 4.5)
    pk = s.edit.picker
    s.edit.pick(pk.x0 + (pk.x1 - pk.x0) * 0.25, "start")  # a quarter of 6 s
    s.edit.pick(pk.x0 + (pk.x1 - pk.x0) * 0.5, "end")
    assert s.edit.span == (pytest.approx(1.5, abs=0.02), pytest.approx(3.0, abs=0.02))
    correct.confirm(ctx, s, None)
    correct.save(ctx, s, False, "")
    p = records(ctx)[0].feedback.payload
    assert isinstance(p, TimeSpan) and p.start == pytest.approx(1.5, abs=0.02)


def test_segmentation_points_clicked_with_the_sign_switch(ctx, examples):
    s = ran(ctx, examples["segmentation-image"])
    correct.start(s)
    e = s.edit
    e.positive, e.negative = [], []
    assert e.click(160, 120, True) and e.click(32, 24, False)
    assert not e.click(400, 10, True)  # outside the 320 × 240 picture
    assert e.points_picture().shape == e.canvas.image.shape
    correct.confirm(ctx, s, None)
    correct.save(ctx, s, False, "")
    p = records(ctx)[0].feedback.payload
    assert isinstance(p, SegmentationPrompt) and p.positive_points == ((500.0, 500.0),)
    assert p.negative_points == ((100.0, 100.0),) and p.time is None


def test_video_segmentation_key_frame(ctx, examples):
    s = ran(ctx, examples["segmentation-video"])
    correct.start(s)
    s.edit.set_time(5.0)
    assert s.edit.canvas.time == pytest.approx(5.0, abs=0.1)
    correct.confirm(ctx, s, None)
    correct.save(ctx, s, False, "")
    assert records(ctx)[0].feedback.payload.time == 5.0


@pytest.mark.parametrize("task, text, expected", [
    ("multiple choice", "C", OptionLetter("C")),
    ("captioning", "Three shapes.", Text("Three shapes.")),
])
def test_text_answers_are_typed(ctx, examples, task, text, expected):
    s = ran(ctx, examples[task])
    assert correct.start(s)["text"]["visible"] is True
    correct.confirm(ctx, s, text)
    correct.save(ctx, s, False, "")
    assert records(ctx)[0].feedback.payload == expected


def test_a_refused_correction_names_the_field_and_saves_nothing(ctx, examples):
    s = ran(ctx, examples["multiple choice"])
    correct.start(s)
    msg, _, _ = correct.confirm(ctx, s, "F")
    assert msg.startswith("❌ feedback.correction.letter") and "4 options" in msg
    assert "Show corrected answer" in correct.save(ctx, s, False, "")
    assert ctx.store.count() == 0


def test_a_store_refusal_on_save_is_shown_with_its_field(ctx, examples):
    s = ran(ctx, examples["spatial grounding"])
    correct.start(s)
    correct.confirm(ctx, s, None)
    s.correction = BoxAnswer((0.0, 0.0, 10.0, 2000.0))  # as if the form had been tampered with
    msg = correct.save(ctx, s, False, "")
    assert msg.startswith("❌ Not saved — feedback.correction.boxes[3]") and ctx.store.count() == 0


def test_correct_without_a_run(ctx):
    s = Session()
    assert "Run the model first" in correct.start(s)["summary"]
    assert "run the model first" in correct.confirm(ctx, s, "x")[0]


# -- admin ------------------------------------------------------------------------------------------


def test_admin_counts_recent_and_exports(tmp_path, examples):
    from tests.app.conftest import make_ctx

    ctx = make_ctx(tmp_path, admin_user="boss", admin_password="s3cret")
    s = ran(ctx, examples["spatial grounding"])
    judge.vote(ctx, s, 1, "")
    correct.start(s)
    correct.confirm(ctx, s, None)
    correct.save(ctx, s, False, "")
    with pytest.raises(gr.Error):
        admin.overview(ctx, s)
    assert admin.sign_in(ctx, s, "boss", "nope") == (False, "❌ Wrong user name or password.")
    assert admin.sign_in(ctx, s, "boss", "s3cret") == (True, "Signed in.")
    table, rows, line = admin.overview(ctx, s)
    assert table == [["spatial grounding", 1, 0, 1, 2]] and "2 records" in line
    assert [r[3] for r in rows] == ["correction", "vote"]
    for fmt in ("sft", "rl", "dpo", "hf"):
        path, msg = admin.export_zip(ctx, s, fmt)
        assert msg.startswith(f"✅ {fmt} export")
        names = zipfile.ZipFile(path).namelist()
        assert f"{fmt}/export.json" in names and any(n.startswith(f"{fmt}/media/") and not n.endswith("/") for n in names) == (fmt != "dpo")


def test_an_unmoved_box_keeps_its_exact_grid_values(ctx, examples):
    """The editor works in pixels (coarser than the grid): echoing the shown box back changes nothing."""
    s = ran(ctx, examples["tracking"])  # a 192 × 144 video: one pixel is ~5 grid units
    correct.start(s)
    s.edit.boxes[2] = (33.0, 600.0, 179.0, 795.0)  # not on the pixel lattice: 33 → 6 px → 31 on the way back
    before = dict(s.edit.boxes)
    s.edit.set_key(2)
    s.edit.set_box(s.edit.annotator_value())
    assert s.edit.boxes == before
