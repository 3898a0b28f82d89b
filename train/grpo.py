"""EMA-GRPO (or plain GRPO) on OneThinker RL rows, on TRL.

    python -m train.grpo --config train/configs/ema_grpo.yaml [--key value ...]
    python -m train.grpo --help                        # every field, with its default
    accelerate launch --config_file train/accelerate/deepspeed_zero3.yaml -m train.grpo --config …

Data: OneThinker RL JSON in either shape, or the feedback store's ``rl`` export (:func:`train.data.load_rl`);
image and video prompts go through the engine's official preprocessing (see :mod:`train.grpo_trainer`).
Defaults follow the official EMA-GRPO run (``EasyR1/examples/config_ema_grpo_64.yaml`` and
``local_scripts/run_onethinker_rl.sh``): 8 rollouts per prompt at temperature 1.0, lr 2e-6 constant, at most
4,096 new tokens, no KL term, clip 0.2 / 0.3, token-level loss, vision tower trained, online difficulty
filtering on in the YAML.  ``advantage_estimator: grpo`` runs plain GRPO through the same entry point.
The final model is written to ``output_dir`` as a folder the app's engine loads, with the EMA state beside it.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

from train.grpo_trainer import EMAGRPOConfig, EMAGRPOTrainer
from train.model import ModelDataArguments, TrainError, default_bf16

log = logging.getLogger("train.grpo")


@dataclass
class OneThinkerGRPOConfig(ModelDataArguments, EMAGRPOConfig):
    """``EMAGRPOConfig`` plus the model, data and media fields SFT and DPO share (:class:`train.model.ModelDataArguments`)."""

    eval_files: list[str] = field(default_factory=list, metadata={
        "help": "Optional evaluation rows (same formats as train_files)."})
    prompt_templates: str | None = field(default=None, metadata={
        "help": "Optional prompt-template file (JSON / YAML) replacing the catalogue's instructions."})
    video_max_pixels: int | None = field(default=None, metadata={
        "help": "Per-frame pixel cap for videos (None: the official RL setting, 64·32·32)."})
    freeze_vision_tower: bool = field(default=False, metadata={
        "help": "Keep the vision encoder fixed (the official RL run trains it)."})
    freeze_projector: bool = field(default=False, metadata={
        "help": "Keep the vision-to-language projector fixed (the official RL run trains it)."})
    bf16: bool | None = field(default=None, metadata={"help": "bf16 mixed precision (default: on when a GPU has it)."})

    def __post_init__(self):
        default_bf16(self)
        super().__post_init__()


def load_rows(config: OneThinkerGRPOConfig, files: list[str]):
    """RL rows with the config's media limits written into their blocks (None: the loader's official RL limits)."""
    from train.data import load_rl

    kw = {k: getattr(config, k) for k in ("video_max_pixels", "video_min_pixels", "video_fps", "video_max_frames",
                                           "image_max_pixels") if getattr(config, k) is not None}
    if config.prompt_templates:
        from onethinker.tasks import load_prompt_templates

        kw["templates"] = load_prompt_templates(config.prompt_templates)
    return load_rl(files, config.media_root, **kw)


def make_trainer(config: OneThinkerGRPOConfig, train_dataset=None, eval_dataset=None) -> EMAGRPOTrainer:
    """The configured trainer: model loaded (frozen parts, LoRA as set), rows read, OneThinker reward in place."""
    from train.model import freeze, load_model, lora_config

    if not config.model_name_or_path:
        raise TrainError("no model given: set model_name_or_path (a hub id, or a local folder such as an SFT output)")
    if train_dataset is None:
        if not config.train_files:
            raise TrainError("no training data given: set train_files (RL JSON / JSONL files or export folders)")
        train_dataset = load_rows(config, config.train_files)
    if eval_dataset is None and config.eval_files:
        eval_dataset = load_rows(config, config.eval_files)
    model, processor = load_model(config, bool(config.bf16))
    processor.tokenizer.padding_side = "left"  # Qwen-VL rope indices assume left-padded prompts
    trainable = freeze(model, vision=config.freeze_vision_tower, projector=config.freeze_projector)
    log.info("%s on %d rows; trainable parameters %s", config.advantage_estimator, len(train_dataset), trainable)
    return EMAGRPOTrainer(model, args=config, train_dataset=train_dataset, eval_dataset=eval_dataset,
                          processing_class=processor, peft_config=lora_config(config),
                          media_limits=config.media_limits())


def resume_point(config: OneThinkerGRPOConfig) -> str | None:
    """``resume_from_checkpoint``: a checkpoint folder, or ``true`` / ``last`` for the newest in output_dir."""
    value = config.resume_from_checkpoint
    if value is None or str(value).lower() in ("", "false", "no", "none"):
        return None
    if str(value).lower() in ("true", "yes", "last"):
        from transformers.trainer_utils import get_last_checkpoint

        last = get_last_checkpoint(config.output_dir) if os.path.isdir(config.output_dir) else None
        if last is None:
            raise TrainError(f"resume_from_checkpoint={value}: no checkpoint-* folder in {config.output_dir}")
        return last
    if not os.path.isdir(value):
        raise TrainError(f"resume_from_checkpoint: {value} is not a folder")
    return value


def train(config: OneThinkerGRPOConfig) -> Path:
    """Run (EMA-)GRPO as configured; returns the folder of the saved model."""
    from train.model import save_for_engine

    trainer = make_trainer(config)
    trainer.train(resume_from_checkpoint=resume_point(config))
    out = save_for_engine(trainer, config.output_dir)
    if trainer.is_world_process_zero():
        trainer.save_ema_state(str(out))
    return out


def parse(argv: list[str] | None = None) -> OneThinkerGRPOConfig:
    from trl import TrlParser

    (config,) = TrlParser(OneThinkerGRPOConfig).parse_args_and_config(argv)
    return config


def main(argv: list[str] | None = None) -> Path:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    return train(parse(argv))


if __name__ == "__main__":
    main()
