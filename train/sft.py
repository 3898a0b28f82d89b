"""Supervised fine-tuning (the OneThinker SFT cold start) on TRL's ``SFTTrainer``.

    python -m train.sft --config train/configs/sft.yaml [--key value ...]
    python -m train.sft --help                      # every field, with its default

Data: LLaMA-Factory sharegpt JSON (:func:`train.data.load_sft`), image and video rows, fed by
:class:`train.collators.VisionSFTCollator` with the engine's preprocessing.  Defaults follow the official
SFT (``LLaMA-Factory/examples/train_full/onethinker_qwen3_sft.yaml``): loss on assistant turns only, vision
tower and projector frozen, full fine-tuning, video frames capped at 100,352 px (images at 802,816 px),
2 fps, ≤ 128 frames, sequences up to 16,384 tokens, lr 1e-5 cosine with 2 % warm-up; bf16 on GPU.
``use_lora: true`` trains LoRA adapters on the language model instead (merged into the saved checkpoint).
A model folder with an ``onethinker.json`` profile (:mod:`onethinker.engine.profile`) trains at the media
sizes its profile sets, the ones it is served with; the config's media fields apply to models without one.
The final model is written to ``output_dir`` as a folder the app's engine loads.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from trl import SFTConfig

from train.model import ModelDataArguments, default_bf16

log = logging.getLogger("train.sft")

SFT_VIDEO_MAX_PIXELS = 100_352  # official SFT video_max_pixels (98 tokens of 32×32 px per frame)
SFT_IMAGE_MAX_PIXELS = 802_816  # official SFT image_max_pixels (784 tokens)


@dataclass
class OneThinkerSFTConfig(ModelDataArguments, SFTConfig):
    """TRL's ``SFTConfig`` plus model, data and media fields, with the official SFT's defaults."""

    video_max_pixels: int | None = field(default=SFT_VIDEO_MAX_PIXELS, metadata={
        "help": "Per-frame pixel cap for videos (official SFT: 100352)."})
    image_max_pixels: int | None = field(default=SFT_IMAGE_MAX_PIXELS, metadata={
        "help": "Per-image pixel cap (official SFT: 802816)."})
    assistant_only_loss: bool = field(default=True, metadata={"help": "Train on assistant tokens only."})
    max_length: int | None = field(default=16384, metadata={"help": "Longest sequence in tokens (official: 16384)."})
    learning_rate: float = field(default=1e-5, metadata={"help": "Peak learning rate (official SFT: 1e-5)."})
    lr_scheduler_type: str = field(default="cosine", metadata={"help": "Learning-rate schedule."})
    warmup_steps: float = field(default=0.02, metadata={
        "help": "Warm-up: a step count, or a fraction of the steps when below 1 (official SFT: 2 %)."})
    weight_decay: float = field(default=1e-6, metadata={"help": "Weight decay (official SFT: 1e-6)."})
    per_device_train_batch_size: int = field(default=1, metadata={"help": "Samples per device per step."})
    remove_unused_columns: bool = field(default=False, metadata={
        "help": "Keep dataset columns: the collator reads the media from the messages."})
    bf16: bool | None = field(default=None, metadata={"help": "bf16 mixed precision (default: on when a GPU has it)."})
    answer_loss_weight: float = field(default=1.0, metadata={
        "help": "Loss weight of each answer token (from <answer> on) against 1 for a reasoning token; 1 is "
                "plain SFT. Above 1 the few tokens that decide the reward (an option letter, a box's digits) "
                "weigh more than the long reasoning."})

    def __post_init__(self):
        default_bf16(self)
        super().__post_init__()
        if self.answer_loss_weight <= 0:
            raise ValueError(f"answer_loss_weight must be positive, got {self.answer_loss_weight}")


def weighted_token_loss(model, inputs: dict, num_items_in_batch=None):
    """Σ weight · cross-entropy over the trained tokens, divided by their number (``num_items_in_batch``: the
    count over all micro-batches of an optimiser step, as the trainer normalises plain SFT).  ``inputs`` holds
    ``labels`` and ``loss_weights`` (both popped)."""
    import torch
    import torch.nn.functional as F

    weights, labels = inputs.pop("loss_weights"), inputs.pop("labels")
    logits = model(**inputs, use_cache=False).logits[:, :-1].float()
    target, weights = labels[:, 1:].to(logits.device), weights[:, 1:].to(logits.device)
    ce = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), target.reshape(-1), ignore_index=-100,
                         reduction="none").view_as(target)
    trained = target != -100
    count = trained.sum() if num_items_in_batch is None else num_items_in_batch
    return (ce * weights * trained).sum() / torch.as_tensor(count, device=ce.device).clamp(min=1)


def _weighted_trainer_class():
    from trl import SFTTrainer

    class AnswerWeightedSFTTrainer(SFTTrainer):
        """``SFTTrainer`` whose loss weighs each token by the batch's ``loss_weights`` (see ``answer_loss_weight``);
        batches without them train as plain SFT."""

        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            if "loss_weights" not in inputs:
                return super().compute_loss(model, inputs, return_outputs, num_items_in_batch)
            if return_outputs:
                raise ValueError("weighted SFT loss returns no model outputs")
            return weighted_token_loss(model, inputs, num_items_in_batch)

    return AnswerWeightedSFTTrainer


def make_trainer(config: OneThinkerSFTConfig):
    """The configured ``SFTTrainer`` (model loaded and frozen, data read, our collator in place)."""
    from trl import SFTTrainer

    from onethinker.engine.profile import load_profile
    from train.collators import VisionSFTCollator
    from train.data import load_sft
    from train.model import freeze, load_model, lora_config, scaled_vision_optimizer

    config.check()
    model, processor = load_model(config, bool(config.bf16))
    profile = load_profile(config.model_name_or_path)  # a model's own media sizes win over the config's
    if not profile.empty:
        log.info("media limits from the model's profile: video %s, image %s", profile.video, profile.image)
    dataset = load_sft(config.train_files, config.media_root, profile=profile)
    log.info("SFT on %d rows from %s; trainable parameters %s", len(dataset), ", ".join(config.train_files),
             freeze(model, vision=config.freeze_vision_tower, projector=config.freeze_projector))
    collator = VisionSFTCollator(processor, config.media_limits(), config.max_length,
                                 assistant_only_loss=config.assistant_only_loss,
                                 answer_weight=config.answer_loss_weight)
    trainer_class = SFTTrainer if config.answer_loss_weight == 1.0 else _weighted_trainer_class()
    trainer = trainer_class(model=model, args=config, train_dataset=dataset, processing_class=processor,
                           data_collator=collator, peft_config=lora_config(config))
    scaled_vision_optimizer(trainer, config.vision_lr_scale)
    return trainer


def train(config: OneThinkerSFTConfig) -> Path:
    """Run SFT as configured and return the folder of the saved model."""
    from train.model import save_for_engine

    trainer = make_trainer(config)
    trainer.train(resume_from_checkpoint=config.resume_from_checkpoint)
    return save_for_engine(trainer, config.output_dir)


def main(argv=None) -> Path:
    from trl import TrlParser

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    (config,) = TrlParser(OneThinkerSFTConfig).parse_args_and_config(argv)
    return train(config)


if __name__ == "__main__":
    main()
