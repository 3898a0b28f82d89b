"""Text-only multiple-choice drills: the image questions with their scene in words, read by train.sft's loader."""

from __future__ import annotations

import hashlib
import json
import re

import numpy as np

from onethinker.answer import parse
from onethinker.tasks import build_prompt
from train.data.sft import load_sft
from train.synthetic.drills import drill, write_drills
from train.synthetic.scene import COLOURS, SHAPES


def test_a_drill_is_the_image_question_with_its_scene_written_first():
    for i in range(30):
        row = drill(np.random.default_rng([3, i]))
        user, assistant = (m["content"] for m in row["messages"])
        scene_line, _, prompt = user.partition("\n")
        assert scene_line.startswith("Scene: a ") and scene_line.endswith(".")
        assert "<image>" not in user and "<video>" not in user
        question, _, rest = prompt.partition("\n")
        options = [line for line in rest.splitlines() if line[:3] in ("A. ", "B. ", "C. ", "D. ")]
        assert prompt == build_prompt("multiple choice", question, options, "image")
        # the reasoning opens with the same scene (the asked shape marked in it, which the prompt must not show),
        # and its answer is the letter of the value that scene gives
        listed = re.match(r"<think>\nThe image shows (.*?)\. ", assistant).group(1)
        unmarked = re.sub(r"a (\w+) (\w+) asked about, \1\b", r"a \1 \2", listed)  # colour questions' mark
        unmarked = re.sub(r"a (\w+) one asked about, a (\w+)", r"a \1 \2", unmarked)  # shape questions' mark
        assert unmarked == scene_line.removeprefix("Scene: ").removesuffix(".")
        assert ("asked about" in listed) == (not question.startswith("How many")), assistant
        parsed = parse(assistant, "multiple choice", data_type="image")
        assert parsed.ok and parsed.payload.answer_text() == row["answer"]
        value = dict(o.split(". ", 1) for o in options)[row["answer"]]
        scene = scene_line.removeprefix("Scene: ")
        if question.startswith("What colour is the"):
            kind = question.removeprefix("What colour is the ").rstrip("?")
            assert value in COLOURS and f"{value} {kind}" in scene
        elif question.startswith("Which shape is"):
            colour = question.removeprefix("Which shape is ").rstrip("?")
            assert value in SHAPES and f"{colour} {value}" in scene
        else:
            assert question == "How many shapes are in the image?"
            assert int(value) == scene.count(" a ") + 1  # "a red circle, a blue square and a green diamond"


def test_drills_are_deterministic_and_load_as_text_only_sft_rows(tmp_path):
    a = write_drills(tmp_path / "a", 12, seed=5)
    b = write_drills(tmp_path / "b", 12, seed=5)
    c = write_drills(tmp_path / "c", 12, seed=6)
    digest = lambda p: hashlib.sha256(p.read_bytes()).hexdigest()  # noqa: E731
    assert digest(a) == digest(b) != digest(c)
    rows = json.loads(a.read_text())
    assert [r["problem_id"] for r in rows] == [f"drill-{i:05d}" for i in range(12)]
    loaded = load_sft(a)  # the SFT trainer's own reader, columns named by the dataset_info.json next to the file
    assert len(loaded) == 12
    first = loaded[0]
    assert not first["images"] and not first["videos"]
    texts = [b["text"] for m in first["messages"] for b in m["content"] if b.get("type") == "text"]
    assert texts[0] == rows[0]["messages"][0]["content"] and texts[1] == rows[0]["messages"][1]["content"]
