"""SFT on TRL: image rows and video rows train (3 steps), only assistant tokens count, the checkpoint serves."""

from __future__ import annotations

import pytest
import torch

from train.collators import IGNORE_INDEX, VisionSFTCollator
from train.data import MediaLimits, load_sft
from train.sft import OneThinkerSFTConfig, make_trainer
from train.model import save_for_engine

from tests.train.helpers import write_json
from tests.train.training import FAST, changed, engine_streams, losses, snapshot

ANSWER = '<think>\nThe bar is on the left.\n</think>\n<answer>{"boxes": [10, 20, 300, 400]}</answer>'


def sft_rows(kind: str, media: str) -> list[dict]:
    marker = f"<{kind}>"
    return [{"messages": [{"role": "user", "content": f"{marker}Where is the bar? ({i})"},
                          {"role": "assistant", "content": ANSWER}],
             "images": [media] if kind == "image" else [], "videos": [media] if kind == "video" else []}
            for i in range(2)]


@pytest.mark.parametrize("kind, media", [("image", "photo.png"), ("video", "clip.mp4")])
def test_sft_trains_on_image_and_video_rows_and_the_checkpoint_serves(tiny_model_dir, media_dir, tmp_path, kind, media):
    data = write_json(tmp_path / "sft.json", sft_rows(kind, media))
    config = OneThinkerSFTConfig(output_dir=str(tmp_path / "out"), model_name_or_path=tiny_model_dir,
                                 train_files=[str(data)], media_root=str(media_dir), **FAST)
    trainer = make_trainer(config)
    batch = next(iter(trainer.get_train_dataloader()))
    assert ("pixel_values_videos" if kind == "video" else "pixel_values") in batch
    trainer.train()
    assert len(losses(trainer)) == 3
    out = save_for_engine(trainer, tmp_path / "out")
    diff = changed(snapshot(tiny_model_dir), snapshot(out))
    assert diff["language"] and not diff["vision"] and not diff["projector"]  # frozen as the official SFT
    engine_streams(out, **{kind: str(media_dir / media)})


def test_lora_trains_the_language_model_only_and_is_merged_into_the_checkpoint(tiny_model_dir, media_dir, tmp_path):
    data = write_json(tmp_path / "sft.json", sft_rows("image", "photo.png"))
    config = OneThinkerSFTConfig(output_dir=str(tmp_path / "out"), model_name_or_path=tiny_model_dir,
                                 train_files=[str(data)], media_root=str(media_dir), use_lora=True, lora_r=4,
                                 lora_alpha=8, **{**FAST, "max_steps": 2})
    trainer = make_trainer(config)
    trainable = [n for n, p in trainer.model.named_parameters() if p.requires_grad]
    assert trainable and all("lora_" in n and "language_model" in n for n in trainable)
    trainer.train()
    out = save_for_engine(trainer, tmp_path / "out")
    after = snapshot(out)
    assert not any("lora" in k for k in after)  # merged: a plain checkpoint
    diff = changed(snapshot(tiny_model_dir), after)
    assert diff["language"] and not diff["vision"] and not diff["projector"]
    engine_streams(out, image=str(media_dir / "photo.png"))


def test_labels_cover_the_assistant_answer_only(processor, media_dir, tmp_path):
    ds = load_sft(write_json(tmp_path / "sft.json", sft_rows("video", "clip.mp4")), media_dir)
    batch = VisionSFTCollator(processor, MediaLimits(video_max_pixels=64 * 64))([ds[0], ds[1]])
    for ids, labels in zip(batch["input_ids"], batch["labels"]):
        assert processor.tokenizer.decode(ids[labels != IGNORE_INDEX]) == ANSWER + "<|im_end|>\n"
    assert batch["video_grid_thw"].shape[0] == 2 and "mm_token_type_ids" in batch


def test_the_official_sft_video_cap_is_the_default(processor, media_dir, tmp_path):
    config = OneThinkerSFTConfig(output_dir=str(tmp_path), bf16=False)
    assert (config.video_max_pixels, config.image_max_pixels, config.assistant_only_loss) == (100_352, 802_816, True)
    ds = load_sft(write_json(tmp_path / "sft.json", sft_rows("video", "wide.mp4")), media_dir)
    sft = VisionSFTCollator(processor, config.media_limits())([ds[0]])["video_grid_thw"][0].tolist()
    inference = VisionSFTCollator(processor, MediaLimits())([ds[0]])["video_grid_thw"][0].tolist()
    assert sft[1] * sft[2] * 16 * 16 <= 100_352 < inference[1] * inference[2] * 16 * 16  # 640×360 frames are capped


def test_truncation_never_cuts_vision_tokens(processor, media_dir, tmp_path):
    from train.data import DataError

    ds = load_sft(write_json(tmp_path / "sft.json", sft_rows("image", "photo.png")), media_dir)
    with pytest.raises(DataError, match="max_length=5"):
        VisionSFTCollator(processor, MediaLimits(image_max_pixels=64 * 64), max_length=5)([ds[0]])
    full = VisionSFTCollator(processor, MediaLimits(image_max_pixels=64 * 64))([ds[0]])
    cut = VisionSFTCollator(processor, MediaLimits(image_max_pixels=64 * 64), max_length=full["input_ids"].shape[1] - 3)([ds[0]])
    assert torch.equal(cut["input_ids"], full["input_ids"][:, :-3]) and cut["labels"].shape == cut["input_ids"].shape


def test_yaml_config_parses_with_the_official_defaults(tmp_path):
    from trl import TrlParser

    (config,) = TrlParser(OneThinkerSFTConfig).parse_args_and_config(
        ["--config", "train/configs/sft.yaml", "--output_dir", str(tmp_path), "--learning_rate", "2e-5"])
    assert config.model_name_or_path == "Qwen/Qwen3-VL-8B-Instruct" and config.learning_rate == 2e-5
    assert (config.video_max_pixels, config.freeze_vision_tower, config.freeze_projector) == (100_352, True, True)


def test_vision_lr_scale_gives_the_vision_side_its_own_learning_rate(tiny_model_dir, media_dir, tmp_path):
    """An untrained model learns to see with the vision tower and projector at a multiple of the learning rate;
    the scheduler then moves every group alike."""
    from train.model import TrainError, part_of, scaled_vision_optimizer

    data = write_json(tmp_path / "sft.json", sft_rows("image", "photo.png"))
    config = OneThinkerSFTConfig(output_dir=str(tmp_path / "out"), model_name_or_path=tiny_model_dir,
                                 train_files=[str(data)], media_root=str(media_dir), freeze_vision_tower=False,
                                 freeze_projector=False, vision_lr_scale=4.0,
                                 **{**FAST, "max_steps": 2, "lr_scheduler_type": "linear", "learning_rate": 1e-3})
    trainer = make_trainer(config)
    names = {id(p): n for n, p in trainer.model.named_parameters()}
    lrs = {}
    for group in trainer.optimizer.param_groups:
        for part in {part_of(names[id(p)]) for p in group["params"]}:
            lrs.setdefault(part, set()).add(group["lr"])
    assert lrs == {"language": {1e-3}, "vision": {4e-3}, "projector": {4e-3}}
    assert sum(len(g["params"]) for g in trainer.optimizer.param_groups) == len(names)  # every parameter, once
    trainer.train()
    diff = changed(snapshot(tiny_model_dir), snapshot(save_for_engine(trainer, tmp_path / "out")))
    assert diff["language"] and diff["vision"] and diff["projector"]
    ratios = {g["lr"] / g["initial_lr"] for g in trainer.optimizer.param_groups}
    assert len(ratios) == 1 and ratios != {1.0}  # the linear decay moved both learning rates by the same factor
    with pytest.raises(TrainError, match="must be positive"):
        scaled_vision_optimizer(trainer, 0.0)


def test_answer_weights_cover_the_answer_from_its_tag_on(processor, media_dir, tmp_path):
    ds = load_sft(write_json(tmp_path / "sft.json", sft_rows("image", "photo.png")), media_dir)
    batch = VisionSFTCollator(processor, MediaLimits(image_max_pixels=64 * 64), answer_weight=4.0)([ds[0], ds[1]])
    for ids, labels, weights in zip(batch["input_ids"], batch["labels"], batch["loss_weights"]):
        trained = labels != IGNORE_INDEX
        heavy = processor.tokenizer.decode(ids[trained & (weights == 4.0)])
        light = processor.tokenizer.decode(ids[trained & (weights == 1.0)])
        assert light + heavy == ANSWER + "<|im_end|>\n"  # every trained token weighed once, reasoning first
        assert heavy.lstrip("\n").startswith(("<answer>", ">")) and "<think>" in light and "</think>" in light
        assert set(weights[trained].tolist()) == {1.0, 4.0}
    assert "loss_weights" not in VisionSFTCollator(processor, MediaLimits(image_max_pixels=64 * 64))([ds[0]])


def test_weighted_loss_is_plain_sft_at_weight_one_and_trains(tiny_model_dir, media_dir, tmp_path):
    from train.sft import weighted_token_loss

    data = write_json(tmp_path / "sft.json", sft_rows("image", "photo.png"))
    config = OneThinkerSFTConfig(output_dir=str(tmp_path / "out"), model_name_or_path=tiny_model_dir,
                                 train_files=[str(data)], media_root=str(media_dir), answer_loss_weight=3.0, **FAST)
    trainer = make_trainer(config)
    assert type(trainer).__name__ == "AnswerWeightedSFTTrainer"
    batch = next(iter(trainer.get_train_dataloader()))
    model = trainer.model.eval()
    with torch.no_grad():
        plain = model(**{k: v for k, v in batch.items() if k != "loss_weights"}).loss
        ones = weighted_token_loss(model, {**batch, "loss_weights": torch.ones_like(batch["loss_weights"])})
        heavy = weighted_token_loss(model, dict(batch))
    assert torch.allclose(plain, ones, rtol=1e-5) and heavy > ones  # weight 1: the model's own mean cross-entropy
    trainer.train()
    assert len(losses(trainer)) == 3
    with pytest.raises(ValueError, match="must be positive"):
        OneThinkerSFTConfig(output_dir=str(tmp_path), bf16=False, answer_loss_weight=0.0)
