"""DPO on TRL: the store's preference rows with images and with videos train (2 steps); the checkpoint serves."""

from __future__ import annotations

import pytest
import torch

from train.collators import VisionDPOCollator
from train.data import MediaLimits, load_dpo
from train.dpo import OneThinkerDPOConfig, make_trainer
from train.model import save_for_engine

from tests.train.helpers import write_json
from tests.train.training import FAST, changed, engine_streams, losses, snapshot

CHOSEN = '<think>\nLeft of the bench.\n</think>\n<answer>{"boxes": [12, 22, 290, 410]}</answer>'
REJECTED = '<think>\nMaybe right?\n</think>\n<answer>{"boxes": [600, 20, 900, 400]}</answer>'


def dpo_rows(kind: str, media: str) -> list[dict]:
    """Rows as onethinker/feedback/exports/rows.py writes them."""
    return [{"prompt": [{"role": "user", "content": [{"type": kind}, {"type": "text", "text": f"Where? ({i})"}]}],
             "chosen": [{"role": "assistant", "content": [{"type": "text", "text": CHOSEN}]}],
             "rejected": [{"role": "assistant", "content": [{"type": "text", "text": REJECTED}]}],
             "images": [media] if kind == "image" else [], "videos": [media] if kind == "video" else []}
            for i in range(2)]


@pytest.mark.parametrize("kind, media", [("image", "photo.png"), ("video", "clip.mp4")])
def test_dpo_trains_on_image_and_video_pairs_and_the_checkpoint_serves(tiny_model_dir, media_dir, tmp_path, kind, media):
    data = write_json(tmp_path / "dpo.json", dpo_rows(kind, media))
    config = OneThinkerDPOConfig(output_dir=str(tmp_path / "out"), model_name_or_path=tiny_model_dir,
                                 train_files=[str(data)], media_root=str(media_dir), **{**FAST, "max_steps": 2})
    trainer = make_trainer(config)
    batch = next(iter(trainer.get_train_dataloader()))
    assert ("video_grid_thw" if kind == "video" else "image_grid_thw") in batch
    trainer.train()
    assert len(losses(trainer)) == 2
    margins = losses(trainer, "rewards/margins")
    assert margins[-1] > 0  # the second step already prefers the chosen answer
    out = save_for_engine(trainer, tmp_path / "out")
    diff = changed(snapshot(tiny_model_dir), snapshot(out))
    assert diff["language"] and not diff["vision"] and not diff["projector"]
    engine_streams(out, **{kind: str(media_dir / media)})


def test_batch_is_chosen_rows_then_rejected_rows_with_the_answers_masked(processor, media_dir, tmp_path):
    ds = load_dpo(write_json(tmp_path / "dpo.json", dpo_rows("video", "clip.mp4")), media_dir)
    batch = VisionDPOCollator(processor, MediaLimits(video_max_pixels=64 * 64))([ds[0], ds[1]])
    answers = [processor.tokenizer.decode(ids[m.bool()]) for ids, m in zip(batch["input_ids"], batch["completion_mask"])]
    assert answers == [CHOSEN + "<|im_end|>\n"] * 2 + [REJECTED + "<|im_end|>\n"] * 2
    # every row keeps its video: four conversations, four videos, one decode per distinct file
    assert batch["video_grid_thw"].shape[0] == 4 and torch.equal(batch["video_grid_thw"][0], batch["video_grid_thw"][2])
    prompts = [processor.tokenizer.decode(ids[(m == 0) & (a == 1)]) for ids, m, a in
               zip(batch["input_ids"], batch["completion_mask"], batch["attention_mask"])]
    assert prompts[0] == prompts[2] and "Where? (0)" in prompts[0] and "<0.3 seconds>" in prompts[0]


def test_yaml_config_parses(tmp_path):
    from trl import TrlParser

    (config,) = TrlParser(OneThinkerDPOConfig).parse_args_and_config(
        ["--config", "train/configs/dpo.yaml", "--output_dir", str(tmp_path)])
    assert (config.model_name_or_path, config.beta, config.train_files) == ("OneThink/OneThinker-8B", 0.1, ["exports/dpo"])
