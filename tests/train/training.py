"""Helpers for the training tests: small fast configs, weight snapshots, and the engine check."""

from __future__ import annotations

import math
from pathlib import Path

FAST = dict(max_steps=3, logging_steps=1, report_to="none", save_strategy="no", bf16=False, disable_tqdm=True,
            gradient_checkpointing=False, dataloader_pin_memory=False, learning_rate=5e-3, warmup_steps=0,
            lr_scheduler_type="constant", per_device_train_batch_size=2,
            # tiny pixel caps keep a CPU step near a second: a 64×48 clip stays 64×64 (4 tokens a frame pair)
            image_max_pixels=64 * 64, video_max_pixels=64 * 64)


def snapshot(model_dir) -> dict:
    from safetensors.torch import load_file

    return load_file(str(Path(model_dir) / "model.safetensors"))


def changed(before: dict, after: dict) -> dict[str, list[str]]:
    """Parameter names that differ, grouped by part (vision / projector / language)."""
    import torch

    from train.model import part_of

    out: dict[str, list[str]] = {"vision": [], "projector": [], "language": []}
    for name, t in before.items():
        if not torch.equal(t, after[name]):
            out[part_of(name)].append(name)
    return out


def losses(trainer, key: str = "loss") -> list[float]:
    values = [entry[key] for entry in trainer.state.log_history if key in entry]
    assert values and all(math.isfinite(v) for v in values), values
    return values


def engine_streams(model_dir, **media) -> str:
    """Load the checkpoint as the app's engine does and stream a few tokens from it."""
    from onethinker.engine import Request, SamplingParams, TransformersBackend, unload_model

    backend = TransformersBackend(str(model_dir))
    try:
        stream = backend.stream(Request("What is shown?", "open-ended", sampling=SamplingParams(max_new_tokens=6),
                                        **media))
        text = "".join(stream)
        assert stream.finish_reason in ("stop", "length") and stream.completion_tokens >= 1
        return text
    finally:
        unload_model()
