import json

import pytest

from onethinker import payloads as P
from onethinker.rewards import REWARD_KINDS
from onethinker.tasks import (
    TASKS,
    Task,
    UnknownTaskError,
    build_prompt,
    get_task,
    load_prompt_templates,
    register,
)

EXPECTED = {
    "multiple choice": P.OptionLetter, "numerical": P.Number, "regression": P.Number, "ocr": P.Text,
    "open-ended": P.Text, "captioning": P.Text, "math": P.MathExpression, "temporal grounding": P.TimeSpan,
    "spatial grounding": P.BoxAnswer, "spatial-temporal grounding": P.SpatioTemporal, "tracking": P.Track,
    "segmentation-image": P.SegmentationPrompt, "segmentation-video": P.SegmentationPrompt,
}


def test_catalogue_has_every_task_with_a_payload_and_a_known_reward():
    assert set(TASKS) == set(EXPECTED)
    for tid, t in TASKS.items():
        assert t.payload is EXPECTED[tid]
        assert t.reward in REWARD_KINDS
        assert "<answer>" in t.instruction  # every instruction shows the answer format


@pytest.mark.parametrize("name, data_type, expected", [
    ("segmentation", "image", "segmentation-image"),
    ("segmentation", "video", "segmentation-video"),
    ("Segmentation", None, "segmentation-image"),
    ("OCR", None, "ocr"),
    ("spatio-temporal grounding", None, "spatial-temporal grounding"),
    ("open-ended", "video", "open-ended"),
    ("caption", None, "captioning"),
    ("multiple_choice", None, "multiple choice"),
])
def test_lookup_by_official_problem_type_alias_and_media(name, data_type, expected):
    assert get_task(name, data_type).id == expected


@pytest.mark.parametrize("bad", ["", "   ", "bogus", None, 3])
def test_unknown_task_message_lists_the_known_tasks(bad):
    with pytest.raises(UnknownTaskError) as e:
        get_task(bad)
    assert "tracking" in str(e.value)


def test_registering_a_duplicate_name_is_refused():
    with pytest.raises(ValueError, match="already registered"):
        register(Task("tracking", "tracking", "x", ("video",), P.Track, "track", "x"))


def test_prompt_has_question_options_format_and_instruction():
    p = build_prompt("multiple choice", "What is in the box?", ["A. cat", "B. dog"], data_type="video")
    q, rest = p.split("\n", 1)
    assert q == "What is in the box?"
    assert rest.startswith("Options:\nA. cat\nB. dog\n")
    assert "<think>" in p and "</answer>" in p and "video" in p
    assert p.endswith(TASKS["multiple choice"].instruction)


def test_video_segmentation_prompt_asks_for_a_key_time():
    assert '"time"' in build_prompt("segmentation", "Segment the runner.", data_type="video")
    assert '"time"' not in build_prompt("segmentation", "Segment the runner.", data_type="image")


def test_prompt_rejects_options_given_as_one_string():
    with pytest.raises(ValueError, match="list of strings"):
        build_prompt("multiple choice", "Q?", "A. x B. y")


def test_prompt_template_file_overrides_instructions(tmp_path):
    f = tmp_path / "prompts.json"
    f.write_text(json.dumps({
        "preamble": "Q: {question}\n",
        "instructions": {"spatial grounding": "BOX PLEASE", "segmentation": "SEG PLEASE"},
        "options_header": "Choices:",
    }))
    t = load_prompt_templates(f)
    assert build_prompt("spatial grounding", "Where?", templates=t) == "Q: Where?\nBOX PLEASE"
    assert build_prompt("multiple choice", "Which?", ["A. a"], templates=t).startswith("Q: Which?\nChoices:\nA. a\n")
    # untouched tasks keep the catalogue's instruction
    assert build_prompt("ocr", "Read", templates=t).endswith(TASKS["ocr"].instruction)


def test_yaml_template_file(tmp_path):
    f = tmp_path / "p.yaml"
    f.write_text("instructions:\n  tracking: TRACK IT\n")
    assert build_prompt("tracking", "Follow", data_type="video", templates=load_prompt_templates(f)).endswith("TRACK IT")


@pytest.mark.parametrize("content, fragment", [
    ("{not json", "not valid"),
    ('["a"]', "object at the top level"),
    ('{"preamble": "no placeholder"}', "{question}"),
    ('{"preamble": "{question} {oops}"}', "may only use"),
    ('{"instructions": {"nope": "x"}}', "unknown task"),
    ('{"instructions": {"ocr": 3}}', "map task names to text"),
    ('{"colour": "blue"}', "unknown keys"),
])
def test_bad_template_files_are_explained(tmp_path, content, fragment):
    f = tmp_path / "t.json"
    f.write_text(content)
    with pytest.raises(ValueError) as e:
        load_prompt_templates(f)
    assert fragment in str(e.value) and "t.json" in str(e.value)


def test_missing_template_file_is_named(tmp_path):
    with pytest.raises(ValueError, match="missing.json"):
        load_prompt_templates(tmp_path / "missing.json")


def test_tracking_instruction_says_key_one_is_the_first_frame():
    # official OneThinker tracking data: the first-frame box given in the question is the answer's key "1"
    text = build_prompt("tracking", "Track the car.", data_type="video")
    assert 'key "1" is the first frame (t = 0 s)' in text and 'key "2" the frame at t = 1 s' in text
