"""EMA-GRPO (or plain GRPO) on OneThinker RL rows: ``python -m train.grpo --config train/configs/ema_grpo.yaml``.

Every option of :class:`GRPOScriptArguments` (data), :class:`train.grpo_trainer.EMAGRPOConfig` (training,
TRL's ``GRPOConfig`` plus EMA-GRPO) and TRL's ``ModelConfig`` (model, LoRA) can be set in the YAML file or on
the command line (the command line wins); ``python -m train.grpo --help`` lists them.  Multi-GPU and
DeepSpeed / FSDP runs start the same module under ``accelerate launch --config_file train/accelerate/…``
(see README, "Training: EMA-GRPO").
"""

from __future__ import annotations

import logging
import os
import sys
from dataclasses import dataclass, field

from train.grpo_trainer import EMAGRPOConfig, EMAGRPOTrainer

logger = logging.getLogger("train.grpo")


@dataclass
class GRPOScriptArguments:
    """Where the RL rows come from (``train.data.load_rl``: OneThinker RL JSON / JSONL, either shape, or exports)."""

    train_files: list[str] = field(default_factory=list, metadata={
        "help": "RL JSON / JSONL files or export folders (official EMA-GRPO shape or evaluation shape)."})
    eval_files: list[str] = field(default_factory=list, metadata={"help": "Optional evaluation rows, same shapes."})
    media_root: str | None = field(default=None, metadata={
        "help": "Folder that relative image / video paths resolve under (default: each file's folder)."})
    prompt_templates: str | None = field(default=None, metadata={
        "help": "Optional prompt-template file (JSON / YAML) replacing the catalogue's instructions."})
    video_max_pixels: int | None = field(default=None, metadata={
        "help": "Pixels per video frame (default: the official RL setting, 64·32·32)."})
    video_fps: float | None = field(default=None, metadata={"help": "Video sampling rate (default 2 fps)."})
    video_max_frames: int | None = field(default=None, metadata={"help": "Frames per video (default 128)."})
    image_max_pixels: int | None = field(default=None, metadata={"help": "Pixels per image (default 1024·32·32)."})
    freeze_vision_tower: bool = field(default=False, metadata={
        "help": "Freeze the vision encoder and projector (the official RL run trains them)."})


def load_rows(files: list[str], script: GRPOScriptArguments):
    from train.data import load_rl

    kwargs = {k: getattr(script, k) for k in ("video_max_pixels", "video_fps", "video_max_frames", "image_max_pixels")
              if getattr(script, k) is not None}
    if script.prompt_templates:
        from onethinker.tasks import load_prompt_templates

        kwargs["templates"] = load_prompt_templates(script.prompt_templates)
    return load_rl(files, script.media_root, **kwargs)


def load_policy(model_args, args: EMAGRPOConfig, freeze_vision_tower: bool = False):
    """(model, processor) for ``model_args.model_name_or_path``: any image-text-to-text model (Qwen3-VL first)."""
    from transformers import AutoModelForImageTextToText, AutoProcessor
    from trl import get_quantization_config

    if not model_args.model_name_or_path:
        raise ValueError("no model given: set model_name_or_path (a hub id or a local folder, e.g. an SFT output)")
    common = {"revision": model_args.model_revision, "trust_remote_code": model_args.trust_remote_code}
    kwargs = dict(common, dtype=model_args.dtype or "auto", attn_implementation=model_args.attn_implementation,
                  quantization_config=get_quantization_config(model_args))
    model = AutoModelForImageTextToText.from_pretrained(model_args.model_name_or_path, **kwargs)
    processor = AutoProcessor.from_pretrained(model_args.model_name_or_path, padding_side="left", **common)
    if freeze_vision_tower:
        visual = getattr(getattr(model, "model", model), "visual", None)
        if visual is None:
            raise ValueError(f"freeze_vision_tower: {type(model).__name__} has no .model.visual to freeze")
        visual.requires_grad_(False)
    return model, processor


def build_trainer(script: GRPOScriptArguments, args: EMAGRPOConfig, model_args, train_dataset=None,
                  eval_dataset=None) -> EMAGRPOTrainer:
    from trl import get_peft_config

    if train_dataset is None:
        if not script.train_files:
            raise ValueError("no training data: set train_files (OneThinker RL JSON / JSONL files or folders)")
        train_dataset = load_rows(script.train_files, script)
    if eval_dataset is None and script.eval_files:
        eval_dataset = load_rows(script.eval_files, script)
    model, processor = load_policy(model_args, args, script.freeze_vision_tower)
    return EMAGRPOTrainer(model, args=args, train_dataset=train_dataset, eval_dataset=eval_dataset,
                          processing_class=processor, peft_config=get_peft_config(model_args))


def resume_point(args: EMAGRPOConfig) -> str | None:
    """``resume_from_checkpoint``: a folder, or ``true`` / ``last`` for the newest checkpoint in output_dir."""
    value = args.resume_from_checkpoint
    if value is None or str(value).lower() in ("", "false", "no", "none"):
        return None
    if str(value).lower() in ("true", "yes", "last"):
        from transformers.trainer_utils import get_last_checkpoint

        last = get_last_checkpoint(args.output_dir) if os.path.isdir(args.output_dir) else None
        if last is None:
            raise ValueError(f"resume_from_checkpoint={value}: no checkpoint-* folder in {args.output_dir}")
        return last
    if not os.path.isdir(value):
        raise ValueError(f"resume_from_checkpoint: {value} is not a folder")
    return value


def run(script: GRPOScriptArguments, args: EMAGRPOConfig, model_args) -> EMAGRPOTrainer:
    trainer = build_trainer(script, args, model_args)
    trainer.train(resume_from_checkpoint=resume_point(args))
    trainer.save_model(args.output_dir)  # model + processor: loads in onethinker.engine.TransformersBackend
    if trainer.args.should_save:
        trainer.save_ema_state(args.output_dir)
    return trainer


def parse(argv: list[str] | None = None):
    from trl import ModelConfig, TrlParser

    parser = TrlParser((GRPOScriptArguments, EMAGRPOConfig, ModelConfig),
                       description="EMA-GRPO (or plain GRPO) on OneThinker RL rows, on TRL.")
    return parser.parse_args_and_config(argv)


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    script, args, model_args = parse(argv)
    run(script, args, model_args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
