"""``python -m train.grpo``: options, the shipped YAML's recipe defaults, a run on rows read by ``load_rl``."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.train.grpo_fixtures import grpo_media, grpo_model_dir  # noqa: F401  (fixtures)
from train.grpo import parse

CONFIG = str(Path(__file__).resolve().parents[2] / "train" / "configs" / "ema_grpo.yaml")


def test_help_lists_the_options(capsys):
    with pytest.raises(SystemExit) as done:
        parse(["--help"])
    assert done.value.code == 0
    text = capsys.readouterr().out
    for option in ("--advantage_estimator", "--ema_decay", "--ema_min_std", "--ema_guard", "--online_filtering",
                   "--filter_low", "--filter_high", "--format_weight", "--train_files", "--media_root",
                   "--num_generations", "--max_completion_length", "--use_vllm", "--vllm_mode"):
        assert option in text, option


def test_the_yaml_mirrors_the_official_recipe(tmp_path):
    c = parse(["--config", CONFIG, "--output_dir", str(tmp_path)])
    assert (c.advantage_estimator, c.ema_decay, c.ema_min_std, c.ema_guard) == ("ema_grpo", 0.99, 1e-3, 5.0)
    assert (c.num_generations, c.temperature, c.top_p, c.max_completion_length) == (8, 1.0, 1.0, 4096)
    assert (c.learning_rate, c.beta, c.epsilon, c.epsilon_high, c.loss_type) == (2e-6, 0.0, 0.2, 0.3, "dapo")
    assert (c.online_filtering, c.filter_key, c.filter_low, c.filter_high) == (True, "accuracy", 0.01, 0.99)
    assert getattr(c.lr_scheduler_type, "value", c.lr_scheduler_type) == "constant" and not c.freeze_vision_tower
    assert c.generation_batch_size == 128 and c.steps_per_generation == 16  # 16 prompts × 8 on one process
    plain = parse(["--config", CONFIG, "--output_dir", str(tmp_path), "--advantage_estimator", "grpo"])
    assert plain.advantage_estimator == "grpo"


def test_the_cli_trains_on_loaded_rows_with_images_and_videos(grpo_model_dir, grpo_media, tmp_path):
    from train.grpo import main

    data = tmp_path / "data"
    data.mkdir()
    shutil.copy(grpo_media["image"], data / "photo.png")
    shutil.copy(grpo_media["video"], data / "clip.mp4")
    rows = [  # the official EMA-GRPO loader's shape, image and video rows in one batch
        {"problem": "<image>\nWhich animal?", "answer": "B", "images": ["photo.png"], "problem_type": "multiple choice",
         "data_type": "image", "options": ["A. cat", "B. dog"]},
        {"problem": "<video>\nWhen does the bar move?", "answer": '{"time": [0.5, 1.5]}', "videos": ["clip.mp4"],
         "problem_type": "temporal grounding", "data_type": "video"},
    ]
    (data / "rl.json").write_text(json.dumps(rows))
    out = main(["--config", CONFIG, "--model_name_or_path", grpo_model_dir, "--train_files", str(data / "rl.json"),
                "--media_root", str(data), "--output_dir", str(tmp_path / "out"), "--max_steps", "1",
                "--num_generations", "2", "--per_device_train_batch_size", "4", "--gradient_accumulation_steps", "1",
                "--steps_per_generation", "1", "--max_completion_length", "8", "--use_cpu", "true",
                "--gradient_checkpointing", "false", "--online_filtering", "false", "--save_strategy", "no",
                "--image_max_pixels", "4096", "--video_max_pixels", "4096", "--video_max_frames", "4",
                "--disable_tqdm", "true"])
    assert (out / "config.json").is_file() and (out / "processor_config.json").is_file()
    state = json.loads((out / "ema_grpo_state.json").read_text())
    assert sorted(state["tasks"]) == ["multiple choice", "temporal grounding"]
