"""DPO on people's preferences (the feedback store's ``dpo`` export) with TRL's ``DPOTrainer``.

    python -m onethinker.feedback export --db data/feedback.db --format dpo --out exports/dpo
    python -m train.dpo --config train/configs/dpo.yaml [--key value ...]
    python -m train.dpo --help

Rows are read by :func:`train.data.load_dpo`; image and video rows both train, fed by
:class:`train.collators.VisionDPOCollator` with the engine's official preprocessing — the same pixels the
model saw when it wrote the answers people judged.  Vision tower and projector stay frozen by default;
``use_lora: true`` trains LoRA adapters (the reference is then the model with adapters off).  The final
model is written to ``output_dir`` as a folder the app's engine loads.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from trl import DPOConfig

from train.model import ModelDataArguments, default_bf16

log = logging.getLogger("train.dpo")


@dataclass
class OneThinkerDPOConfig(ModelDataArguments, DPOConfig):
    """TRL's ``DPOConfig`` plus model, data and media fields (media at the official inference settings)."""

    max_length: int | None = field(default=16384, metadata={"help": "Longest prompt + answer in tokens."})
    per_device_train_batch_size: int = field(default=1, metadata={"help": "Preference pairs per device per step."})
    remove_unused_columns: bool = field(default=False, metadata={
        "help": "Keep dataset columns: the collator reads the media from the prompt."})
    bf16: bool | None = field(default=None, metadata={"help": "bf16 mixed precision (default: on when a GPU has it)."})

    def __post_init__(self):
        default_bf16(self)
        super().__post_init__()


def make_trainer(config: OneThinkerDPOConfig):
    """The configured ``DPOTrainer`` (model loaded and frozen, pairs read, our collator in place)."""
    from trl import DPOTrainer

    from train.collators import VisionDPOCollator
    from train.data import load_dpo
    from train.model import freeze, load_model, lora_config

    config.check()
    model, processor = load_model(config, bool(config.bf16))
    dataset = load_dpo(config.train_files, config.media_root)
    log.info("DPO on %d preference pairs from %s; trainable parameters %s", len(dataset),
             ", ".join(config.train_files),
             freeze(model, vision=config.freeze_vision_tower, projector=config.freeze_projector))
    collator = VisionDPOCollator(processor, config.media_limits(), config.max_length)
    return DPOTrainer(model=model, args=config, train_dataset=dataset, processing_class=processor,
                      data_collator=collator, peft_config=lora_config(config))


def train(config: OneThinkerDPOConfig) -> Path:
    """Run DPO as configured and return the folder of the saved model."""
    from train.model import save_for_engine

    trainer = make_trainer(config)
    trainer.train(resume_from_checkpoint=config.resume_from_checkpoint)
    return save_for_engine(trainer, config.output_dir)


def main(argv=None) -> Path:
    from trl import TrlParser

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    (config,) = TrlParser(OneThinkerDPOConfig).parse_args_and_config(argv)
    return train(config)


if __name__ == "__main__":
    main()
