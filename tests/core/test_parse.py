"""The forgiving parser: one test per task and per kind of malformed output real models emit."""

import json

import pytest

from onethinker.answer import (
    Answer,
    BoxAnswer,
    MathExpression,
    Number,
    OptionLetter,
    SegmentationPrompt,
    SpatioTemporal,
    Text,
    TimeSpan,
    Track,
    parse,
)


def wrap(answer: str, think: str = "Let me look.") -> str:
    return f"<think>{think}</think><answer>{answer}</answer>"


# -- one well-formed answer per task ---------------------------------------------------------

@pytest.mark.parametrize("task, data_type, answer, payload", [
    ("multiple choice", "image", "C", OptionLetter("C")),
    ("numerical", "image", "3.25", Number(3.25)),
    ("regression", "video", "-12", Number(-12.0)),
    ("ocr", "image", "EXIT 12 B", Text("EXIT 12 B")),
    ("open-ended", "video", "A man opens a door.", Text("A man opens a door.")),
    ("captioning", "image", "Two cats on a sofa.", Text("Two cats on a sofa.")),
    ("math", "image", "$\\frac{3}{2}$", MathExpression("$\\frac{3}{2}$")),
    ("temporal grounding", "video", '{"time": [12.3, 25.7]}', TimeSpan(12.3, 25.7)),
    ("spatial grounding", "image", '{"boxes": [35, 227, 437, 932]}', BoxAnswer((35.0, 227.0, 437.0, 932.0))),
    ("spatial-temporal grounding", "video",
     '{"time": [8.1, 10.5], "boxes": {"9": [1, 2, 3, 4], "10": [5, 6, 7, 8]}}',
     SpatioTemporal(8.1, 10.5, {9: (1.0, 2.0, 3.0, 4.0), 10: (5.0, 6.0, 7.0, 8.0)})),
    ("tracking", "video", '{"boxes": {"1": [405, 230, 654, 463], "2": [435, 223, 678, 446]}}',
     Track({1: (405.0, 230.0, 654.0, 463.0), 2: (435.0, 223.0, 678.0, 446.0)})),
    ("segmentation", "image",
     '{"boxes": [10, 20, 300, 400], "positive_points": [[50, 60], [70, 80], [90, 100]], '
     '"negative_points": [[5, 5], [310, 10], [900, 900]]}',
     SegmentationPrompt((10.0, 20.0, 300.0, 400.0), ((50.0, 60.0), (70.0, 80.0), (90.0, 100.0)),
                        ((5.0, 5.0), (310.0, 10.0), (900.0, 900.0)))),
    ("segmentation", "video",
     '{"time": 4.5, "boxes": [10, 20, 300, 400], "positive_points": [[50, 60], [70, 80], [90, 100]], '
     '"negative_points": [[5, 5], [310, 10], [900, 900]]}',
     SegmentationPrompt((10.0, 20.0, 300.0, 400.0), ((50.0, 60.0), (70.0, 80.0), (90.0, 100.0)),
                        ((5.0, 5.0), (310.0, 10.0), (900.0, 900.0)), 4.5)),
])
def test_clean_answers_parse_without_warnings(task, data_type, answer, payload):
    a = parse(wrap(answer, "step one\nstep two"), task, data_type=data_type)
    assert a.phase == "done" and a.error is None and a.warnings == ()
    assert a.think == "step one\nstep two"
    assert a.answer_text == answer
    assert a.payload == payload
    # writing the payload back gives an answer that parses to the same payload
    again = parse(wrap(a.payload.answer_text()), task, data_type=data_type)
    assert again.payload == payload and again.warnings == ()


# -- tags ---------------------------------------------------------------------------------------

def test_whitespace_inside_tags():
    a = parse("< think >hmm< / think >\n< answer > B </ answer >", "multiple choice")
    assert (a.think, a.payload, a.warnings) == ("hmm", OptionLetter("B"), ())


def test_missing_think_open_tag():
    a = parse("I see a dog.</think><answer>A</answer>", "multiple choice")
    assert a.think == "I see a dog." and a.payload == OptionLetter("A")
    assert any("<think>" in w for w in a.warnings)


def test_no_think_at_all():
    a = parse("<answer>A</answer>", "multiple choice")
    assert a.think == "" and a.payload == OptionLetter("A") and a.warnings


def test_text_after_answer_is_ignored_with_a_warning():
    a = parse(wrap("B") + " I hope that helps!", "multiple choice")
    assert a.payload == OptionLetter("B") and "ignored text after </answer>" in a.warnings


def test_no_answer_tags_falls_back_to_text_after_think():
    a = parse("<think>so</think> 42", "numerical")
    assert a.payload == Number(42.0) and any("no <answer>" in w for w in a.warnings)


def test_bare_text_is_used_as_the_answer_when_final():
    a = parse("B", "multiple choice")
    assert a.payload == OptionLetter("B") and a.phase == "done"


def test_unclosed_answer_when_final():
    a = parse('<think>x</think><answer>{"time": [1, 2]}', "temporal grounding")
    assert a.payload == TimeSpan(1.0, 2.0) and any("</answer>" in w for w in a.warnings)


@pytest.mark.parametrize("text, fragment", [
    ("", "empty"),
    ("   ", "empty"),
    ("<think>still thinking", "inside <think>"),
    ("<think>done</think>   ", "no answer after </think>"),
])
def test_responses_without_an_answer_are_explained(text, fragment):
    a = parse(text, "multiple choice")
    assert a.payload is None and fragment in a.error and a.phase == "done"


# -- streaming ------------------------------------------------------------------------------

def test_phases_while_streaming():
    full = wrap('{"boxes": [1, 2, 3, 4]}')
    phases = [parse(full[:i], "spatial grounding", final=False).phase for i in range(len(full) + 1)]
    first_answering = phases.index("answering")
    assert set(phases[:first_answering]) == {"thinking"}
    assert phases[-1] == "done" and phases.index("done") == len(full)
    assert set(phases[first_answering:-1]) == {"answering"}
    # the answer is available exactly when it closes
    assert parse(full, "spatial grounding", final=False).payload == BoxAnswer((1.0, 2.0, 3.0, 4.0))


def test_partial_tags_do_not_leak_into_the_reasoning():
    for cut in ("<", "</", "</thi", "< / th"):
        a = parse("<think>the dog" + cut, "tracking", final=False)
        assert a.think == "the dog" and a.phase == "thinking"


def test_tracking_previews_completed_seconds_while_streaming():
    full = wrap('{"boxes": {"1": [10, 20, 30, 40], "2": [11, 21, 31, 41], "3": [12, 22, 32, 42]}}')
    seen = []
    for i in range(len(full)):
        a = parse(full[:i], "tracking", final=False)
        assert a.error is None
        if a.phase == "answering" and a.payload is not None:
            seen.append(sorted(a.payload.boxes))
    assert [1] in seen and [1, 2] in seen and [1, 2, 3] in seen
    assert all(s == sorted(s) and s == list(range(1, len(s) + 1)) for s in seen)  # never a half box


def test_spatio_temporal_preview_waits_for_the_span():
    a = parse('<think>x</think><answer>{"time": [2, 4', "spatial-temporal grounding", final=False)
    assert a.phase == "answering" and a.payload is None and a.error is None
    a = parse('<think>x</think><answer>{"time": [2, 4], "boxes": {"2": [1, 1, 5, 5], "3": [2,',
              "spatial-temporal grounding", final=False)
    assert a.payload == SpatioTemporal(2.0, 4.0, {2: (1.0, 1.0, 5.0, 5.0)})


def test_text_tasks_have_no_payload_until_the_answer_closes():
    a = parse("<think>x</think><answer>A man", "open-ended", final=False)
    assert a.phase == "answering" and a.payload is None and a.answer_text == "A man"


# -- malformed payloads ---------------------------------------------------------------------

def test_code_fence_and_single_quotes():
    a = parse(wrap("```json\n{'boxes': [1, 2, 3, 4]}\n```"), "spatial grounding")
    assert a.payload == BoxAnswer((1.0, 2.0, 3.0, 4.0))
    assert any("code fence" in w for w in a.warnings) and any("single quotes" in w for w in a.warnings)


def test_numbers_as_strings():
    a = parse(wrap('{"time": ["1.5", "3"]}'), "temporal grounding")
    assert a.payload == TimeSpan(1.5, 3.0) and any("strings" in w for w in a.warnings)


def test_inverted_box_is_swapped_and_flagged():
    a = parse(wrap('{"boxes": [400, 500, 100, 200]}'), "spatial grounding")
    assert a.payload == BoxAnswer((100.0, 200.0, 400.0, 500.0))
    assert any("swapped" in w for w in a.warnings)


def test_out_of_range_coordinates_are_clamped_and_flagged():
    a = parse(wrap('{"boxes": [-5, 10, 1005, 2000]}'), "spatial grounding")
    assert a.payload == BoxAnswer((0.0, 10.0, 1000.0, 1000.0))
    assert any("clamped" in w for w in a.warnings)


def test_pixel_models_clamp_to_their_own_extent_or_not_at_all():
    a = parse(wrap('{"boxes": [10, 10, 1500, 700]}'), "spatial grounding", extent=(1280, 720))
    assert a.payload.box == (10.0, 10.0, 1280.0, 700.0)
    a = parse(wrap('{"boxes": [10, 10, 1500, 700]}'), "spatial grounding", extent=None)
    assert a.payload.box == (10.0, 10.0, 1500.0, 700.0) and a.warnings == ()


def test_extra_and_missing_points():
    a = parse(wrap('{"boxes": [1, 1, 9, 9], "positive_points": [[1, 1], [2, 2], [3, 3], [4, 4]], '
                   '"negative_points": [[5, 5]]}'), "segmentation", data_type="image")
    assert len(a.payload.positive_points) == 3 and len(a.payload.negative_points) == 1
    assert any("kept the first 3" in w for w in a.warnings) and any("only 1" in w for w in a.warnings)


def test_non_integer_second_keys():
    a = parse(wrap('{"boxes": {"1.0": [1, 1, 2, 2], "2.4": [1, 1, 3, 3], "3s": [1, 1, 4, 4], "x": [0, 0, 1, 1]}}'),
              "tracking")
    assert sorted(a.payload.boxes) == [1, 2, 3]
    assert any("'x'" in w for w in a.warnings)


def test_spatio_temporal_flags_boxes_outside_the_span_and_missing_seconds():
    a = parse(wrap('{"time": [2, 5], "boxes": {"2": [1, 1, 2, 2], "9": [1, 1, 2, 2]}}'), "spatial-temporal grounding")
    assert sorted(a.payload.boxes) == [2, 9]
    assert any("outside the time span" in w for w in a.warnings)
    assert any("[3, 4, 5]" in w for w in a.warnings)


def test_tracking_beyond_32_seconds_is_flagged():
    boxes = {str(i): [1, 1, 2, 2] for i in range(1, 35)}
    a = parse(wrap(json.dumps({"boxes": boxes})), "tracking")
    assert len(a.payload.boxes) == 34 and any("32" in w for w in a.warnings)


@pytest.mark.parametrize("task, data_type, answer, fragment", [
    ("spatial grounding", None, "{boxes: [1, 2}", "not valid JSON"),
    ("spatial grounding", None, '{"box_2d": [1, 2, 3, 4]}', "no 'boxes'"),
    ("spatial grounding", None, '{"boxes": [1, 2, 3]}', "4 numbers"),
    ("spatial grounding", None, '{"boxes": [1, 2, 3, NaN]}', "finite"),
    ("spatial grounding", None, '[1, 2, 3, 4]', "JSON object"),
    ("temporal grounding", None, '{"time": [1, "soon"]}', "finite"),
    ("tracking", None, '{"boxes": {}}', "no usable box"),
    ("tracking", None, '{"boxes": 7}', "map each second"),
    ("segmentation", "video", '{"boxes": [1, 1, 2, 2], "positive_points": [], "negative_points": []}', "'time'"),
    ("segmentation", "image", '{"boxes": [1, 1, 2, 2], "negative_points": []}', "positive_points"),
    ("multiple choice", None, "I think both are fine", "option letter"),
    ("numerical", None, "between 3 and 4", "one number"),
    ("ocr", None, "   ", "empty"),
])
def test_unrepairable_payloads_give_a_precise_error(task, data_type, answer, fragment):
    a = parse(wrap(answer), task, data_type=data_type)
    assert a.payload is None and a.error and fragment in a.error, a.error


def test_multiple_choice_letter_out_of_a_sentence():
    a = parse(wrap("The answer is (C) because ..."), "multiple choice")
    assert a.payload == OptionLetter("C") and a.warnings


def test_a_lower_case_word_is_not_an_option_letter():
    a = parse(wrap("The answer is a cat"), "multiple choice")
    assert a.payload is None and "option letter" in a.error
    assert parse(wrap("Option D."), "multiple choice").payload == OptionLetter("D")


def test_numerical_with_thousands_separator_and_unit():
    assert parse(wrap("1,250"), "numerical").payload == Number(1250.0)
    a = parse(wrap("about 7 meters"), "numerical")
    assert a.payload == Number(7.0) and any("longer answer" in w for w in a.warnings)


# -- bad arguments never raise --------------------------------------------------------------

@pytest.mark.parametrize("text", [None, 12, b"<answer>A</answer>", ["A"]])
def test_non_text_input(text):
    a = parse(text, "multiple choice")
    assert a.payload is None and "must be text" in a.error


def test_unknown_task():
    a = parse(wrap("A"), "colouring")
    assert a.payload is None and "unknown task" in a.error


# -- JSON round trip ------------------------------------------------------------------------

def test_answer_json_round_trip_is_lossless_for_every_task():
    for task, dt, answer in [
        ("tracking", "video", '{"boxes": {"1": [1.5, 2, 3, 4], "3": [0.1, 0.2, 0.3, 0.4]}}'),
        ("segmentation", "video", '{"time": 1.25, "boxes": [1, 2, 3, 4], "positive_points": [[1, 2]], '
                                  '"negative_points": [[3, 4], [5, 6], [7, 8]]}'),
        ("spatial-temporal grounding", "video", '{"time": [0.5, 2], "boxes": {"1": [1, 2, 3, 4]}}'),
        ("math", "image", "\\sqrt{2}"),
        ("spatial grounding", "image", "not json"),
    ]:
        a = parse(wrap(answer, "thinking… ünïcode"), task, data_type=dt)
        back = Answer.from_json(a.to_json())
        assert back == a


@pytest.mark.parametrize("bad, fragment", [
    ("[]", "JSON object"),
    ('{"task": "ocr"}', "'phase'"),
    ('{"task": "ocr", "phase": "later"}', "one of"),
    ('{"task": "ocr", "phase": "done", "payload": {"type": "hologram"}}', "unknown payload type"),
    ('{"task": "ocr", "phase": "done", "payload": {"type": "box", "box": [1, 2]}}', "malformed box"),
    ("{oops", "does not parse"),
])
def test_answer_from_bad_json_is_explained(bad, fragment):
    with pytest.raises(ValueError) as e:
        Answer.from_json(bad)
    assert fragment in str(e.value)
