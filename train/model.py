"""What SFT and DPO share around the trainer: the arguments for model and media, loading, freezing, LoRA, saving.
Loading runs the vision patch embedding as a matmul (:func:`patch_embeddings_as_matmul`), a faster step on CPU.

Any ``AutoModelForImageTextToText`` loads (Qwen3-VL first).  Freezing follows the official SFT (LLaMA-Factory
``freeze_vision_tower`` / ``freeze_multi_modal_projector``), by parameter name so it works across model
families: for Qwen3-VL the projector is ``visual.merger`` and the vision tower the rest of ``visual``
(patch and position embeddings, blocks, deepstack mergers).  LoRA targets the language model's linear
layers only.  The saved checkpoint is a plain ``save_pretrained`` folder (LoRA merged) with the processor,
which :class:`onethinker.engine.TransformersBackend` loads as its model, with the starting model's profile
(``onethinker.json`` and its prompt-template file) copied beside it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from train.data.vision import MediaLimits

log = logging.getLogger("train")

VISION_KEYS = ("visual.", "vision_tower.", "vision_model.", "vision_encoder.")
PROJECTOR_KEYS = ("visual.merger.", "multi_modal_projector.", "mm_projector.")
LORA_MODULES = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


class TrainError(RuntimeError):
    """Training cannot start or finish; the message says what to change."""


def _help(text: str) -> dict:
    return {"help": text}


@dataclass
class ModelDataArguments:
    """Model, data and media fields shared by the SFT and DPO configs (YAML keys of the same names)."""

    model_name_or_path: str | None = field(default=None, metadata=_help("Hub id or local folder of the model to train."))
    train_files: list[str] = field(default_factory=list, metadata=_help(
        "Training data: JSON / JSONL files, or export folders of the feedback store."))
    media_root: str | None = field(default=None, metadata=_help(
        "Folder that relative image / video paths are under (default: each data file's folder)."))
    image_min_pixels: int | None = field(default=None, metadata=_help("Per-image pixel floor (None: official)."))
    image_max_pixels: int | None = field(default=None, metadata=_help("Per-image pixel cap (None: official 1024·32·32)."))
    video_min_pixels: int | None = field(default=None, metadata=_help("Per-frame pixel floor (None: official)."))
    video_max_pixels: int | None = field(default=None, metadata=_help("Per-frame pixel cap (None: official 256·32·32)."))
    video_fps: float | None = field(default=None, metadata=_help("Frames sampled per second (None: official 2)."))
    video_max_frames: int | None = field(default=None, metadata=_help("Most frames per video (None: official 128)."))
    freeze_vision_tower: bool = field(default=True, metadata=_help("Keep the vision encoder fixed (official SFT: yes)."))
    freeze_projector: bool = field(default=True, metadata=_help(
        "Keep the vision-to-language projector fixed (official SFT: yes)."))
    vision_lr_scale: float = field(default=1.0, metadata=_help(
        "Learning rate of the vision tower and projector, as a multiple of learning_rate (1: the same; a model "
        "trained from scratch learns to see faster with more)."))
    use_lora: bool = field(default=False, metadata=_help("Train LoRA adapters on the language model instead of all of it."))
    lora_r: int = field(default=64, metadata=_help("LoRA rank."))
    lora_alpha: int = field(default=128, metadata=_help("LoRA alpha."))
    lora_dropout: float = field(default=0.05, metadata=_help("LoRA dropout."))
    lora_target_modules: list[str] = field(default_factory=lambda: list(LORA_MODULES), metadata=_help(
        "Language-model linear layers that get LoRA adapters."))

    def media_limits(self) -> MediaLimits:
        return MediaLimits(self.image_min_pixels, self.image_max_pixels, self.video_min_pixels, self.video_max_pixels,
                           self.video_fps, self.video_max_frames)

    def check(self) -> None:
        if not self.model_name_or_path:
            raise TrainError("no model given: set model_name_or_path (a hub id or a local folder)")
        if not self.train_files:
            raise TrainError("no training data given: set train_files (JSON files or export folders)")


def default_bf16(config) -> None:
    """bf16 on GPU, fp32 on CPU, unless the config says otherwise (call before the TRL config's __post_init__)."""
    if getattr(config, "bf16", None) is None:
        import torch

        config.bf16 = bool(torch.cuda.is_available() and torch.cuda.is_bf16_supported())


def load_model(args: ModelDataArguments, bf16: bool):
    """(model, processor) for training, in bf16 or fp32."""
    import torch
    from transformers import AutoModelForImageTextToText, AutoProcessor

    name = args.model_name_or_path
    try:
        processor = AutoProcessor.from_pretrained(name)
        model = AutoModelForImageTextToText.from_pretrained(name, dtype=torch.bfloat16 if bf16 else torch.float32)
    except (OSError, ValueError) as e:
        first = (str(e).strip().splitlines() or [type(e).__name__])[0][:300]
        raise TrainError(f"cannot load model {name}: {first}") from None
    patch_embeddings_as_matmul(model)
    return model, processor


def patch_embeddings_as_matmul(model) -> int:
    """Run the vision tower's patch embedding as the matrix product it is; returns how many modules changed.

    Qwen-VL towers embed patches with a ``Conv3d`` whose kernel is its stride, over input that is already one
    flattened patch per row, so each output is one patch times the flattened kernel.  Torch's CPU convolution
    is slow at this (about 10 % of a nano SFT step's forward and backward, measured); ``F.linear`` on the
    same weights gives the same outputs (to float rounding) and gradients.  Only ``forward`` changes: the
    parameters, the state dict and the saved checkpoint stay the convolution's.
    """
    import types

    from torch import nn

    changed = 0
    for module in model.modules():
        conv = getattr(module, "proj", None)
        one_output_per_patch = (isinstance(conv, nn.Conv3d) and conv.kernel_size == conv.stride
                                and not any(conv.padding) and conv.groups == 1 and set(conv.dilation) == {1})
        if one_output_per_patch and isinstance(getattr(module, "embed_dim", None), int):
            module.forward = types.MethodType(_patch_embedding_matmul, module)
            changed += 1
    return changed


def _patch_embedding_matmul(self, hidden_states):
    import torch.nn.functional as F

    weight = self.proj.weight
    patches = hidden_states.to(weight.dtype).reshape(-1, weight[0].numel())
    out = F.linear(patches, weight.reshape(weight.shape[0], -1), self.proj.bias)
    return out.view(-1, self.embed_dim)


def part_of(name: str) -> str:
    """'projector', 'vision' or 'language' for a parameter name."""
    if any(k in name for k in PROJECTOR_KEYS):
        return "projector"
    if any(k in name for k in VISION_KEYS):
        return "vision"
    return "language"


def freeze(model, *, vision: bool, projector: bool) -> dict[str, int]:
    """Turn off gradients of the vision tower and / or projector; returns trainable parameter counts per part."""
    parts = {p: 0 for p in ("vision", "projector", "language")}
    for name, param in model.named_parameters():
        part = part_of(name)
        parts[part] += 1
        if (part == "vision" and vision) or (part == "projector" and projector):
            param.requires_grad_(False)
    if (vision or projector) and not parts["vision"] + parts["projector"]:
        raise TrainError(f"cannot find the vision tower of {type(model).__name__} by name; "
                         "set freeze_vision_tower and freeze_projector to false, or freeze it yourself")
    return {p: sum(x.numel() for n, x in model.named_parameters() if part_of(n) == p and x.requires_grad)
            for p in parts}


def scaled_vision_optimizer(trainer, scale: float):
    """Give ``trainer`` an AdamW (its own settings) whose vision and projector parameters learn at ``scale`` × the
    learning rate; the trainer's scheduler then scales every group alike.  No-op at scale 1."""
    if scale == 1.0:
        return None
    if scale <= 0:
        raise TrainError(f"vision_lr_scale must be positive, got {scale}")
    import torch

    args, model = trainer.args, trainer.model
    decay = set(trainer.get_decay_parameter_names(model))
    groups: dict[tuple[bool, bool], list] = {}
    for name, param in model.named_parameters():
        if param.requires_grad:
            groups.setdefault((part_of(name) != "language", name in decay), []).append(param)
    trainer.optimizer = torch.optim.AdamW(
        [{"params": ps, "lr": args.learning_rate * (scale if seeing else 1.0),
          "weight_decay": args.weight_decay if decays else 0.0} for (seeing, decays), ps in groups.items()],
        lr=args.learning_rate, betas=(args.adam_beta1, args.adam_beta2), eps=args.adam_epsilon)
    return trainer.optimizer


def lora_config(args: ModelDataArguments):
    """A peft ``LoraConfig`` on the language model's ``lora_target_modules`` (never the vision side)."""
    if not args.use_lora:
        return None
    from peft import LoraConfig

    vision = "|".join(k.rstrip(".") for k in VISION_KEYS + PROJECTOR_KEYS)
    targets = "|".join(args.lora_target_modules)
    return LoraConfig(r=args.lora_r, lora_alpha=args.lora_alpha, lora_dropout=args.lora_dropout,
                      target_modules=rf"^(?!.*(?:{vision})).*\.(?:{targets})$", task_type="CAUSAL_LM")


def save_for_engine(trainer, out_dir: "str | Path") -> Path:
    """Write a checkpoint the engine loads as its model: weights (LoRA merged in) + processor + generation config."""
    out = Path(out_dir)
    model = trainer.accelerator.unwrap_model(trainer.model)
    if hasattr(model, "merge_and_unload"):  # a peft model
        merged = model.merge_and_unload()
        if trainer.is_world_process_zero():
            merged.save_pretrained(out)
            trainer.processing_class.save_pretrained(out)
    else:
        trainer.save_model(str(out))
    if trainer.is_world_process_zero():
        from onethinker.engine.profile import copy_profile

        copy_profile(getattr(trainer.args, "model_name_or_path", None), out)  # the model keeps its inputs
    trainer.accelerator.wait_for_everyone()
    log.info("wrote checkpoint %s", out)
    return out
