"""train.data's loaders with a model profile: the model's media limits and prompts reach the training rows."""

from __future__ import annotations

import json

import pytest

from onethinker.engine.profile import EMPTY, ModelProfile
from onethinker.tasks import DEFAULT_TEMPLATES, PromptTemplates, build_prompt
from train.data import load_rl, load_sft
from train.data.rl import RL_IMAGE_MAX_PIXELS, RL_VIDEO_FPS, RL_VIDEO_MAX_PIXELS
from tests.train.helpers import text_of, write_json

SHORT = PromptTemplates(preamble="{question}\n", instructions={"tracking": "Boxes.", "spatial grounding": "Box."})
PROFILE = ModelProfile(SHORT, None, {"fps": 1.0, "max_frames": 6, "min_frames": 2, "min_pixels": 4096,
                                     "max_pixels": 6144}, {"min_pixels": 4096, "max_pixels": 9216})


@pytest.fixture
def rl_file(tmp_path, media_dir):
    return write_json(tmp_path / "rl.json", [
        {"problem": "<video>Track the dot.", "answer": '{"boxes": {"1": [1, 2, 3, 4]}}', "videos": [str(media_dir / "clip.mp4")],
         "problem_type": "tracking", "data_type": "video"},
        {"problem": "<image>Find the dot.", "answer": '{"boxes": [1, 2, 3, 4]}', "images": [str(media_dir / "photo.png")],
         "problem_type": "spatial grounding", "data_type": "image"}])


def _blocks(row) -> dict:
    return {b["type"]: b for b in row["prompt"][0]["content"]}


def test_rl_rows_take_the_profiles_limits_and_prompts(rl_file):
    video_row, image_row = load_rl(rl_file, profile=PROFILE)
    v, i = _blocks(video_row)["video"], _blocks(image_row)["image"]
    assert (v["fps"], v["max_frames"], v["min_frames"], v["max_pixels"], v["min_pixels"]) == (1.0, 6, 2, 6144, 4096)
    assert (i["max_pixels"], i["min_pixels"]) == (9216, 4096)
    assert text_of(video_row["prompt"][0]["content"]) == "Track the dot.\nBoxes."
    assert text_of(image_row["prompt"][0]["content"]) == "Find the dot.\nBox."


def test_rl_explicit_arguments_win_and_no_profile_is_official(rl_file):
    video_row, image_row = load_rl(rl_file, profile=PROFILE, video_fps=3.0, image_max_pixels=20000,
                                   templates=DEFAULT_TEMPLATES)
    assert _blocks(video_row)["video"]["fps"] == 3.0 and _blocks(video_row)["video"]["max_frames"] == 6
    assert _blocks(image_row)["image"]["max_pixels"] == 20000
    assert text_of(image_row["prompt"][0]["content"]) == build_prompt("spatial grounding", "Find the dot.", None, "image")
    for profile in (None, EMPTY):
        video_row, image_row = load_rl(rl_file, profile=profile)
        assert _blocks(video_row)["video"]["fps"] == RL_VIDEO_FPS
        assert _blocks(video_row)["video"]["max_pixels"] == RL_VIDEO_MAX_PIXELS
        assert _blocks(image_row)["image"] == {"type": "image", "image": _blocks(image_row)["image"]["image"],
                                               "max_pixels": RL_IMAGE_MAX_PIXELS}


def test_sft_rows_carry_the_profiles_limits_which_win_over_the_collators(tmp_path, media_dir, processor):
    from train.data import MediaLimits, encode

    f = write_json(tmp_path / "sft.json", [{"messages": [
        {"role": "user", "content": "<video>Track the dot.\nBoxes."},
        {"role": "assistant", "content": "<think>x</think><answer>{}</answer>"}], "videos": [str(media_dir / "wide.mp4")]}])
    (row,) = load_sft(f, profile=PROFILE)
    block = row["messages"][0]["content"][0]
    assert block["type"] == "video" and block["max_pixels"] == 6144 and block["fps"] == 1.0
    batch = encode(processor, row["messages"], add_generation_prompt=False,
                   limits=MediaLimits(video_max_pixels=64 * 32 * 32, video_fps=2.0))
    t, h, w = batch["video_grid_thw"][0].tolist()
    assert h * w * 16 * 16 <= 6144 and t == 1  # 1 s at 1 fps: 2 frames, one temporal patch
    (plain,) = load_sft(f)
    assert set(plain["messages"][0]["content"][0]) == {"type", "video"}
    assert json.loads(f.read_text())[0]["videos"]  # the file itself is untouched
