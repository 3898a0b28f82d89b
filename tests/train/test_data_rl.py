"""RL loader: both OneThinker shapes → the GRPO contract rows; prompts equal to what the engine sends."""

from __future__ import annotations

import shutil

import pytest

from onethinker.engine import Request, build_messages
from onethinker.tasks import build_prompt, load_prompt_templates
from train.data import DataError, load_rl
from train.data.rl import RL_IMAGE_MAX_PIXELS, RL_VIDEO_MAX_PIXELS

from tests.train.helpers import kinds, text_of, write_json


def engine_prompt(question, task, **kw) -> str:
    return build_messages(Request(question, task, **kw))[1]


def test_official_shape_image_row(media_dir, tmp_path):
    f = write_json(tmp_path / "rl.json", [{
        "problem": "<image>\nWhere is the dog?", "answer": '{"boxes": [1, 2, 3, 4]}', "images": ["photo.png"],
        "problem_type": "spatial grounding", "data_type": "image"}])
    row = load_rl(f, media_dir)[0]
    assert row["prompt"] == [{"role": "user", "content": [
        {"type": "image", "image": str(media_dir / "photo.png"), "max_pixels": RL_IMAGE_MAX_PIXELS},
        {"type": "text", "text": engine_prompt("Where is the dog?", "spatial grounding", image=media_dir / "photo.png")},
    ]}]
    assert row["solution"] == '<answer>{"boxes": [1, 2, 3, 4]}</answer>'
    assert (row["problem_type"], row["data_type"], row["task_key"], row["options"]) == \
        ("spatial grounding", "image", "spatial grounding", [])


def test_official_shape_video_multiple_choice(media_dir, tmp_path):
    f = write_json(tmp_path / "rl.json", [{
        "problem": "<video>What happens?", "answer": "<answer>B</answer>", "videos": ["clip.mp4"],
        "problem_type": "multiple choice", "data_type": "video", "options": ["A. a cat", "B. a dog"]}])
    row = load_rl(f, media_dir)[0]
    video, text = row["prompt"][0]["content"]
    assert video == {"type": "video", "video": str(media_dir / "clip.mp4"), "fps": 2.0, "max_frames": 128,
                     "max_pixels": RL_VIDEO_MAX_PIXELS, "min_pixels": 4 * 32 * 32}
    assert text["text"] == engine_prompt("What happens?", "multiple choice", options=["A. a cat", "B. a dog"],
                                         video=media_dir / "clip.mp4")
    assert "Options:\nA. a cat\nB. a dog" in text["text"]
    assert row["solution"] == "<answer>B</answer>"  # already wrapped: not wrapped twice


def test_options_are_added_for_multiple_choice_only(media_dir, tmp_path):
    f = write_json(tmp_path / "rl.json", [{"problem": "<image>How many?", "answer": "3", "images": ["photo.png"],
                                           "problem_type": "numerical", "options": ["A. 2", "B. 3"]}])
    assert "Options" not in text_of(load_rl(f, media_dir)[0]["prompt"][0]["content"])


def test_evaluation_shape_and_segmentation_task_keys(media_dir, tmp_path):
    rows = [
        {"problem": "Segment the bar.", "path": "./clip.mp4", "solution": "<answer>{}</answer>",
         "problem_type": "segmentation", "data_type": "video"},
        {"problem": "Segment the bar.", "path": "/photo.png", "solution": "<answer>{}</answer>",
         "problem_type": "segmentation", "data_type": "image"},
        {"problem": "Is the picture in the clip?", "path": "clip.mp4", "additional_path": "photo.png",
         "solution": "yes", "problem_type": "open-ended", "data_type": "video-image"},
    ]
    ds = load_rl(write_json(tmp_path / "eval.json", rows), media_root=media_dir)
    assert [r["task_key"] for r in ds] == ["segmentation/video", "segmentation/image", "open-ended"]
    assert [r["problem_type"] for r in ds] == ["segmentation", "segmentation", "open-ended"]
    assert ds[0]["prompt"][0]["content"][0]["video"] == str(media_dir / "clip.mp4")
    assert ds[1]["prompt"][0]["content"][0]["image"] == str(media_dir / "photo.png")  # '/x' is read as the script does
    vi = ds[2]["prompt"][0]["content"]
    assert kinds(vi) == ["video", "image", "text"]  # the engine's order for a video-image request
    assert text_of(vi) == engine_prompt("Is the picture in the clip?", "open-ended", video=media_dir / "clip.mp4",
                                        image=media_dir / "photo.png")
    assert ds[2]["solution"] == "<answer>yes</answer>"


def test_markers_inside_the_question_become_blocks_in_place(media_dir, tmp_path):
    f = write_json(tmp_path / "rl.json", [{
        "problem": "Is <image> the same scene as <image>?", "answer": "yes", "images": ["photo.png", "photo.png"],
        "problem_type": "open-ended"}])
    content = load_rl(f, media_dir)[0]["prompt"][0]["content"]
    assert kinds(content) == ["text", "image", "text", "image", "text"]
    assert content[0]["text"] == "Is " and content[2]["text"] == " the same scene as "
    assert content[4]["text"].startswith("?\nAnswer from what you see in the image.")
    assert text_of(content) == build_prompt("open-ended", "Is <image> the same scene as <image>?").replace("<image>", "")


def test_unmarked_media_go_first(media_dir, tmp_path):
    f = write_json(tmp_path / "rl.json", [{"problem": "When does the bar move?", "answer": '{"time": [0, 1]}',
                                           "videos": ["clip.mp4"], "problem_type": "temporal grounding"}])
    row = load_rl(f, media_dir)[0]
    assert kinds(row["prompt"][0]["content"]) == ["video", "text"] and row["data_type"] == "video"


def test_relative_paths_default_to_the_data_files_folder_and_absolute_paths_stay(media_dir, tmp_path):
    shutil.copy(media_dir / "photo.png", tmp_path / "here.png")
    f = write_json(tmp_path / "rl.json", [
        {"problem": "<image>Q", "answer": "a", "images": ["here.png"], "problem_type": "ocr"},
        {"problem": "<image>Q", "answer": "a", "images": [str(media_dir / "photo.png")], "problem_type": "ocr"},
    ])
    ds = load_rl(f)
    assert [r["prompt"][0]["content"][0]["image"] for r in ds] == [str(tmp_path / "here.png"),
                                                                   str(media_dir / "photo.png")]
    assert ds[0]["problem_type"] == "OCR"


def test_jsonl_several_files_and_an_export_folder(media_dir, tmp_path):
    row = {"problem": "<image>Q", "answer": "a", "images": [str(media_dir / "photo.png")], "problem_type": "ocr"}
    a = write_json(tmp_path / "a.jsonl", [row, row], jsonl=True)
    write_json(tmp_path / "export" / "rl.json", [row])
    assert len(load_rl([a, tmp_path / "export"])) == 3


def test_missing_file_names_the_row_and_the_path(media_dir, tmp_path):
    f = write_json(tmp_path / "rl.json", [
        {"problem": "<image>Q", "answer": "a", "images": ["photo.png"], "problem_type": "ocr"},
        {"problem": "<video>Q", "answer": "a", "videos": ["gone/missing.mp4"], "problem_type": "open-ended"},
    ])
    with pytest.raises(DataError, match=r"rl\.json row 1: video 'gone/missing\.mp4' not found \(looked for "
                                        + str(media_dir / "gone" / "missing.mp4").replace(".", r"\.")):
        load_rl(f, media_dir)


@pytest.mark.parametrize("row, message", [
    ({"problem": "<image><image>Q", "answer": "a", "images": ["photo.png"], "problem_type": "ocr"},
     r"row 0: 2 <image> marker\(s\) but 1 image\(s\)"),
    ({"problem": "<image>Q", "answer": "a", "images": ["photo.png"], "problem_type": "poetry"},
     r"row 0: unknown task 'poetry'"),
    ({"problem": "<image>Q", "answer": '{"time": [1, 2]}', "images": ["photo.png"],
      "problem_type": "temporal grounding"}, r"row 0: task 'temporal grounding' takes video, but the row has image"),
    ({"problem": "<image>Q", "images": ["photo.png"], "problem_type": "ocr"}, r"row 0: 'answer' \(or 'solution'\)"),
    ({"problem": "<image>", "answer": "a", "images": ["photo.png"], "problem_type": "ocr"}, r"row 0: the question has no text"),
    ({"problem": "Q", "answer": "a", "images": ["photo.png"], "problem_type": "ocr", "data_type": "video"},
     r"row 0: data_type is 'video' but the row has 1 image\(s\)"),
    ({"problem": "Q", "answer": "a", "problem_type": "ocr"}, r"row 0: no media"),
])
def test_bad_rows_are_named(media_dir, tmp_path, row, message):
    with pytest.raises(DataError, match=message):
        load_rl(write_json(tmp_path / "rl.json", [row]), media_dir)


def test_prompt_templates_reach_the_text(media_dir, tmp_path):
    tpl = write_json(tmp_path / "t.json", {"preamble": "Q: {question} ({media})\n", "instructions": {"ocr": "Read."}})
    f = write_json(tmp_path / "rl.json", [{"problem": "<image>Sign?", "answer": "a", "images": ["photo.png"],
                                           "problem_type": "OCR"}])
    row = load_rl(f, media_dir, templates=load_prompt_templates(tpl))[0]
    assert text_of(row["prompt"][0]["content"]) == "Q: Sign? (image)\nRead."


def test_blocks_read_back_without_arrow_none_keys_after_shuffle_and_select(media_dir, tmp_path):
    rows = [{"problem": "<image>Q", "answer": "a", "images": ["photo.png"], "problem_type": "ocr"},
            {"problem": "<video>Q", "answer": "a", "videos": ["clip.mp4"], "problem_type": "open-ended"}]
    ds = load_rl(write_json(tmp_path / "rl.json", rows), media_dir)
    for view in (ds, ds.shuffle(seed=1), ds.select([1, 0])):
        for row in view:
            for block in row["prompt"][0]["content"]:
                assert None not in block.values()
                assert set(block) <= {"type", "text"} or "text" not in block
