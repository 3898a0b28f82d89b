"""EMA-GRPO on a CUDA GPU in bf16 (skipped without one): image and video rows, filtering, the advantage on CUDA.

The CPU tests cover the logic; these check that every tensor the trainer moves between the gathered rewards
(on the GPU), the CPU arithmetic of the EMA, the per-row media and the masks lands on the right device.
Media are written with OpenCV so the test needs no ffmpeg.
"""

from __future__ import annotations

import math

import pytest
import torch

from tests.train.grpo_fixtures import RecordingTrainer, grpo_config, grpo_model_dir, make_trainer, rl_rows  # noqa: F401
from train.ema_grpo import TaskStdTracker, compute_ema_grpo_advantages

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
GPU = dict(use_cpu=False, bf16=True)


@pytest.fixture(scope="module")
def cv2_media(tmp_path_factory):
    import cv2
    import numpy as np

    d = tmp_path_factory.mktemp("gpu-media")
    rng = np.random.default_rng(0)
    cv2.imwrite(str(d / "photo.png"), rng.integers(0, 255, (64, 96, 3), dtype=np.uint8))
    writer = cv2.VideoWriter(str(d / "clip.mp4"), cv2.VideoWriter_fourcc(*"mp4v"), 10.0, (64, 48))
    for i in range(20):
        frame = np.zeros((48, 64, 3), np.uint8)
        frame[:, (i * 3) % 60:(i * 3) % 60 + 4] = 255
        frame[..., 2] = i * 10
        writer.write(frame)
    writer.release()
    return {"image": str(d / "photo.png"), "video": str(d / "clip.mp4")}


@pytest.mark.parametrize("kind, steps_per_generation", [("image", 1), ("video", 2)])
def test_two_steps_in_bf16_on_the_gpu(kind, steps_per_generation, grpo_model_dir, cv2_media, tmp_path):
    trainer = make_trainer(grpo_model_dir, rl_rows(kind, cv2_media), tmp_path, trainer_class=RecordingTrainer,
                           steps_per_generation=steps_per_generation, **GPU)
    assert trainer.model.device.type == "cuda"
    before = {n: p.detach().clone() for n, p in trainer.model.named_parameters()}
    trainer.train()
    losses = [h["loss"] for h in trainer.state.log_history if "loss" in h]
    assert len(losses) == 2 and all(math.isfinite(x) for x in losses)
    changed = [n for n, p in trainer.model.named_parameters() if not torch.equal(p, before[n])]
    assert any("visual" in n for n in changed) and any("language_model" in n for n in changed)
    reference = TaskStdTracker()
    for (rewards, keys), local in zip(trainer.recorded, trainer.local_advantages):
        assert rewards.device.type == "cuda" and local.device.type == "cuda"
        weighted = (rewards * trainer.reward_weights.to(rewards.device)).nansum(dim=1).cpu()
        want = compute_ema_grpo_advantages(weighted, torch.arange(len(weighted)) // 2, keys, reference)
        assert torch.allclose(local.cpu(), want.float(), atol=1e-5)
    assert trainer.ema_tracker == reference


def accuracy_from_column(completions, fixed_accuracy, **_):
    """Test double: the accuracy a dataset column dictates."""
    return list(fixed_accuracy)


def test_online_filtering_on_the_gpu(grpo_model_dir, cv2_media, tmp_path):
    from datasets import Dataset
    from transformers import AutoModelForImageTextToText, AutoProcessor

    from tests.train.grpo_fixtures import distinct_chars_reward

    rows = rl_rows("video", cv2_media, 3)
    for row, acc in zip(rows, (0.0, 1.0, 0.5)):
        row["fixed_accuracy"] = acc
    args = grpo_config(tmp_path, per_device_train_batch_size=6, online_filtering=True, reward_weights=[1.0, 1.0],
                       filter_key="accuracy_from_column", **GPU)
    trainer = RecordingTrainer(AutoModelForImageTextToText.from_pretrained(grpo_model_dir),
                               reward_funcs=[accuracy_from_column, distinct_chars_reward], args=args,
                               train_dataset=Dataset.from_list(rows),
                               processing_class=AutoProcessor.from_pretrained(grpo_model_dir, padding_side="left"))
    trainer.model.train()
    out = trainer._generate_and_score_completions([rows[i] for i in range(3) for _ in range(2)])
    assert out["completion_mask"].device.type == "cuda"
    assert out["completion_mask"][:4].sum() == 0 and out["completion_mask"][4:].sum() > 0
    assert out["advantages"][:4].abs().sum() == 0
    assert int(out["num_items_in_batch"]) == int(out["completion_mask"].sum())
    assert trainer.ema_tracker.tasks == ["segmentation/video"]


def test_the_advantage_on_cuda_tensors_equals_the_cpu_result():
    scores = torch.rand(4096, generator=torch.Generator().manual_seed(0))
    groups = torch.arange(4096) // 8
    keys = [("a", "b", "c", "d")[g % 4] for g in groups.tolist()]
    cpu = compute_ema_grpo_advantages(scores, groups, keys, TaskStdTracker())
    gpu = compute_ema_grpo_advantages(scores.cuda(), groups.cuda(), keys, TaskStdTracker())
    assert gpu.device.type == "cuda" and torch.equal(gpu.cpu(), cpu)
