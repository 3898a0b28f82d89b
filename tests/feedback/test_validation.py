"""Malformed feedback is refused with a message naming the field, and nothing is written."""

import sqlite3
from dataclasses import replace

import pytest

from onethinker.answer import (
    BoxAnswer, OptionLetter, SegmentationPrompt, Text, TimeSpan, Track, coordinate_fields, parse,
)
from onethinker.feedback import Correction, FeedbackError, MediaRef, Preference, Record, Vote, parse_correction

from tests.feedback.helpers import output, record

SEG_OK = SegmentationPrompt((100, 150, 600, 900), ((300, 400), (350, 600), (280, 700)),
                            ((120, 170), (580, 200), (50, 950)))


def refused(store, rec) -> FeedbackError:
    before = store.count()
    with pytest.raises(FeedbackError) as err:
        store.add(rec)
    assert store.count() == before  # nothing partial
    raw = sqlite3.connect(store.path)
    assert raw.execute("SELECT count(*) FROM records").fetchone()[0] == before
    raw.close()
    return err.value


@pytest.mark.parametrize("payload, field", [
    (BoxAnswer((10, 20, 1200, 400)), "feedback.correction.boxes[2]"),
    (BoxAnswer((-5, 20, 100, 400)), "feedback.correction.boxes[0]"),
    (BoxAnswer((500, 20, 100, 400)), "feedback.correction.boxes"),
])
def test_box_correction_out_of_range_names_the_coordinate(store, payload, field):
    err = refused(store, record(store, Correction(payload)))
    assert err.field == field
    assert str(err).startswith(field)


def test_wrong_payload_type_for_the_task(store):
    err = refused(store, record(store, Correction(Text("a dog"))))
    assert err.field == "feedback.correction"
    assert "BoxAnswer" in str(err) and "spatial grounding" in str(err)


def test_track_and_segmentation_fields(store):
    vid = dict(task="tracking", data_type="video",
               outputs=(output("t", '{"boxes": {"1": [1, 2, 3, 4]}}'),))
    err = refused(store, record(store, Correction(Track({1: (1, 2, 3, 4), 2: (5, 6, 7, 1001)})), **vid))
    assert err.field == "feedback.correction.boxes.2[3]"
    err = refused(store, record(store, Correction(Track({40: (1, 2, 3, 4)})), **vid))
    assert err.field == "feedback.correction.boxes.40"

    seg = dict(task="segmentation-image", outputs=(output("s", SEG_OK.answer_text()),))
    bad = replace(SEG_OK, negative_points=((120, 170), (580, 2000), (50, 950)))
    assert refused(store, record(store, Correction(bad), **seg)).field == "feedback.correction.negative_points[1][1]"
    timed = replace(SEG_OK, time=3.0)
    assert refused(store, record(store, Correction(timed), **seg)).field == "feedback.correction.time"
    vseg = dict(task="segmentation-video", data_type="video",
                outputs=(output("s", '{"time": 2, "boxes": [1, 2, 3, 4], "positive_points": [[2, 3]], '
                                     '"negative_points": [[0, 0]]}'),))
    assert refused(store, record(store, Correction(SEG_OK), **vseg)).field == "feedback.correction.time"
    assert store.add(record(store, Correction(timed), **vseg)) > 0


def test_time_span_and_option_letter(store):
    tg = dict(task="temporal grounding", data_type="video", outputs=(output("t", '{"time": [1, 2]}'),))
    assert refused(store, record(store, Correction(TimeSpan(5, 2)), **tg)).field == "feedback.correction.time"
    mc = dict(task="multiple choice", question="Which animal?", options=("A. cat", "B. dog"),
              outputs=(output("m", "B"),))
    err = refused(store, record(store, Correction(OptionLetter("D")), **mc))
    assert err.field == "feedback.correction.letter" and "2 options" in str(err)
    assert store.add(record(store, Correction(OptionLetter("A")), **mc)) > 0


@pytest.mark.parametrize("change, field", [
    (dict(task="no such task"), "task"),
    (dict(data_type="audio"), "data_type"),
    (dict(prompt="  "), "prompt"),
    (dict(question=""), "question"),
    (dict(media=()), "media"),
    (dict(media=(MediaRef("f" * 64, "image", ".png"),)), "media[0]"),
    (dict(media=(MediaRef("../../etc/passwd", "image", ".png"),)), "media[0].sha256"),
    (dict(outputs=()), "outputs"),
    (dict(answers=()), "answers"),
    (dict(frame_times=(0.0, 2.0, 1.0)), "frame_times[2]"),
    (dict(frame_times=(float("nan"),)), "frame_times[0]"),
    (dict(sampling={"temperature": [0.7]}), "sampling.temperature"),
    (dict(session="alice@example.com"), "session"),
    (dict(feedback=Vote(2)), "feedback.value"),
    (dict(feedback=Vote(1, output=3)), "feedback.output"),
    (dict(feedback=Preference(0)), "outputs"),
])
def test_record_fields_are_named(store, change, field):
    err = refused(store, replace(record(store), **change))
    assert err.field == field, str(err)


def test_answer_of_another_task_is_refused(store):
    rec = record(store)
    other = parse(output("x", "B"), "multiple choice")
    assert refused(store, replace(rec, outputs=(output("x", "B"),), answers=(other,))).field == "answers[0].task"


def test_answer_must_come_from_its_output(store):
    rec = record(store)
    swapped = parse(output("x", '{"boxes": [1, 2, 3, 4]}'), "spatial grounding")
    assert refused(store, replace(rec, answers=(swapped,))).field == "answers[0].raw"


def test_video_task_needs_video_media(store):
    img = record(store)
    err = refused(store, replace(record(store, task="tracking", data_type="video",
                                        outputs=(output("t", '{"boxes": {"1": [1, 2, 3, 4]}}'),)),
                                 media=img.media))
    assert err.field == "media"
    err = refused(store, replace(img, task="tracking"))
    assert err.field == "data_type"


def test_add_many_is_all_or_nothing(store):
    good = record(store)
    bad = record(store, Correction(BoxAnswer((0, 0, 5000, 5))))
    with pytest.raises(FeedbackError):
        store.add_many([good, bad])
    assert store.count() == 0


def test_parse_correction_reads_typed_text_without_clamping():
    c = parse_correction('{"boxes": [10, 20, 30, 40]}', "spatial grounding", keep_reasoning=True)
    assert c.payload == BoxAnswer((10, 20, 30, 40)) and c.keep_reasoning
    with pytest.raises(FeedbackError) as err:
        parse_correction('{"boxes": [10, 20, 1300, 40]}', "spatial grounding")
    assert err.value.field == "feedback.correction.boxes[2]"
    with pytest.raises(FeedbackError) as err:
        parse_correction("not json", "tracking")
    assert err.value.field == "feedback.correction"


def test_record_dict_round_trip_and_shape_errors(store):
    rec = record(store, Correction(BoxAnswer((1, 2, 3, 4)), keep_reasoning=True, comment="tighter"))
    assert Record.from_dict(rec.to_dict()) == rec
    d = rec.to_dict()
    d["feedback"] = {"kind": "like"}
    with pytest.raises(FeedbackError, match="feedback.kind"):
        Record.from_dict(d)
    d = rec.to_dict()
    d["media"] = [{"sha256": 3, "kind": "image", "ext": ".png"}]
    with pytest.raises(FeedbackError, match=r"media\[0\]\.sha256"):
        Record.from_dict(d)


def test_coordinate_fields_names_every_coordinate():
    assert coordinate_fields(Text("x")) == []
    fields = dict(coordinate_fields(Track({3: (1, 2, 3, 4)})))
    assert fields == {"boxes.3[0]": 1, "boxes.3[1]": 2, "boxes.3[2]": 3, "boxes.3[3]": 4}
    names = [n for n, _ in coordinate_fields(SEG_OK)]
    assert names[:4] == ["boxes[0]", "boxes[1]", "boxes[2]", "boxes[3]"]
    assert "negative_points[2][1]" in names and len(names) == 16
