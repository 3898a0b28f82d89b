"""Fixtures and helpers for the EMA-GRPO trainer tests (imported by those modules, not a conftest).

The policy is the tiny random Qwen3-VL of the engine tests, the media a 64×48 image and a 2-second clip.
A random model writes gibberish, so every completion scores 0 on the OneThinker reward; the trainers get
one more reward, :func:`distinct_chars_reward` (a test double), that varies with the text so that
advantages — and therefore gradients — are not all zero.
"""

from __future__ import annotations

import os

import pytest

from train.grpo_trainer import EMAGRPOTrainer

os.environ.setdefault("FORCE_QWENVL_VIDEO_READER", "decord")

TASKS = ("multiple choice", "numerical", "segmentation")
_SEG = '"boxes": [100, 150, 600, 900], "positive_points": [[300, 400], [350, 600], [280, 700]], ' \
       '"negative_points": [[120, 170], [580, 200], [50, 950]]'
SOLUTIONS = {"multiple choice": "<answer>B</answer>", "numerical": "<answer>3</answer>",
             "segmentation/image": f"<answer>{{{_SEG}}}</answer>",
             "segmentation/video": f'<answer>{{"time": 1.0, {_SEG}}}</answer>'}


@pytest.fixture(scope="session")
def grpo_model_dir(tmp_path_factory):
    from tests.engine.tiny_model import build_tiny_qwen3vl

    return str(build_tiny_qwen3vl(tmp_path_factory.mktemp("grpo-tiny-qwen3vl")))


@pytest.fixture(scope="session")
def grpo_qwen25_dir(tmp_path_factory):
    """A tiny random Qwen2.5-VL: its video positions need ``second_per_grid_ts`` (Qwen3-VL writes timestamps as text)."""
    from tests.engine.tiny_model import build_tiny_qwen25vl

    return str(build_tiny_qwen25vl(tmp_path_factory.mktemp("grpo-tiny-qwen25vl")))


@pytest.fixture(scope="session")
def grpo_media(tmp_path_factory):
    """``{"image": path to a 96×64 PNG, "video": path to a 64×48, 10 fps, 2 s H.264 clip}``."""
    import numpy as np
    from PIL import Image

    from tests.engine.clips import make_clip

    d = tmp_path_factory.mktemp("grpo-media")
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 96, 3), dtype=np.uint8)).save(d / "photo.png")
    return {"image": str(d / "photo.png"), "video": str(make_clip(d / "clip.mp4", 64, 48, 10.0, 2.0))}


def media_block(kind: str, media: dict) -> dict:
    if kind == "image":
        return {"type": "image", "image": media["image"], "max_pixels": 1024 * 32 * 32}
    return {"type": "video", "video": media["video"], "fps": 2.0, "max_frames": 8, "max_pixels": 64 * 32 * 32}


def rl_rows(kind: str, media: dict, n: int = 4) -> list[dict]:
    """Rows in the shape ``train.data.load_rl`` returns (prompt with typed blocks, solution, task columns)."""
    rows = []
    for i in range(n):
        task = TASKS[i % len(TASKS)]
        rows.append({
            "prompt": [{"role": "user", "content": [media_block(kind, media),
                                                     {"type": "text", "text": f"Question {i}: what is shown?"}]}],
            "solution": SOLUTIONS[task if task != "segmentation" else f"segmentation/{kind}"],
            "problem_type": task,
            "data_type": kind,
        })
    return rows


class RecordingTrainer(EMAGRPOTrainer):
    """Test double: keeps the gathered rewards and task keys, and this rank's advantages, of every batch."""

    def _calculate_rewards(self, inputs, prompts, completions, completion_ids_list):
        rewards = super()._calculate_rewards(inputs, prompts, completions, completion_ids_list)
        self.recorded = getattr(self, "recorded", []) + [(rewards.clone(), list(self._gathered[1]))]
        return rewards

    def _generate_and_score_completions(self, inputs):
        out = super()._generate_and_score_completions(inputs)
        self.local_advantages = getattr(self, "local_advantages", []) + [out["advantages"].clone()]
        return out


def distinct_chars_reward(completions, **_):
    """Test double: a reward that varies with the completion text (distinct characters / 10)."""
    return [len(set(c[0]["content"])) / 10 for c in completions]


def grpo_config(out_dir, **overrides):
    from train.grpo_trainer import EMAGRPOConfig

    kw = dict(output_dir=str(out_dir), per_device_train_batch_size=4, num_generations=2, max_completion_length=8,
              max_steps=2, use_cpu=True, bf16=False, gradient_checkpointing=False, report_to=[], logging_steps=1,
              save_strategy="no", learning_rate=1e-3, weight_decay=0.0, seed=0, dataloader_num_workers=0)
    kw.update(overrides)
    return EMAGRPOConfig(**kw)


def make_trainer(model_dir, rows, out_dir, trainer_class=None, extra_reward=True, **overrides):
    """An EMAGRPOTrainer (or ``trainer_class``) with the OneThinker reward (+ the varying test-double reward)."""
    from datasets import Dataset
    from transformers import AutoModelForImageTextToText, AutoProcessor

    from train.reward_funcs import OneThinkerReward

    reward = OneThinkerReward()
    funcs, weights = reward.functions(), reward.weights
    if extra_reward:
        funcs, weights = funcs + [distinct_chars_reward], weights + [1.0]
    overrides.setdefault("reward_weights", weights)
    args = grpo_config(out_dir, **overrides)
    model = AutoModelForImageTextToText.from_pretrained(model_dir)
    processor = AutoProcessor.from_pretrained(model_dir, padding_side="left")
    cls = trainer_class or EMAGRPOTrainer
    return cls(model, reward_funcs=funcs, args=args, train_dataset=Dataset.from_list(rows), processing_class=processor)
