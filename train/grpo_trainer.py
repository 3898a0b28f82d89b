"""``EMAGRPOTrainer``: TRL's ``GRPOTrainer`` with EMA-GRPO advantages and image / video prompts.

Three things differ from TRL, each through overrides that call TRL's own methods and copy none of them:

* **Advantages** (``_calculate_rewards`` / ``_generate_and_score_completions``): TRL gathers the rewards of
  every rank (rank order; groups are contiguous blocks of ``num_generations`` rows) and computes GRPO
  advantages inline.  We keep that gathered matrix and a gathered task-key column, let TRL finish, then
  replace ``out["advantages"]`` with :func:`train.ema_grpo.ema_grpo` of the same rewards, sliced to this
  rank.  Every rank runs the same float64 CPU arithmetic on the same gathered numbers, so the EMA state is
  identical everywhere; it is saved with each checkpoint (``ema_grpo_state.json``) and restored on resume.
  ``advantage_estimator: grpo`` keeps TRL's advantages (plain GRPO, for comparisons).
* **Online difficulty filtering** (optional, as the official recipe): groups whose mean accuracy is
  ≤ ``filter_low`` or ≥ ``filter_high`` are dropped from the loss (their completion mask is zeroed) and
  from the EMA update.  EasyR1 then generates more prompts to refill the batch; TRL has no such hook, so
  the batch is simply smaller.
* **Media** (``_tokenize_prompts`` / ``_get_per_token_logps_and_entropies``): TRL 1.16 feeds images only,
  and a batch of video prompts runs its log-prob forward without any video features (silently wrong).  Here
  each distinct prompt is encoded once by ``train.data.vision.encode`` — the engine's official image and
  video preprocessing, with true frame timestamps — and its vision tensors travel with the batch as a
  per-sample list (``mm_rows``), which TRL's shuffle / split helpers keep aligned.  Generation gets them
  merged; every log-prob forward gets the rows of its chunk (``pixel_values[_videos]``, ``*_grid_thw``,
  ``second_per_grid_ts`` for Qwen2.5-VL) plus ``mm_token_type_ids`` rebuilt from the token ids, passed to
  the model by wrapping it in a ``functools.partial`` around TRL's unchanged forward code.

vLLM rollouts (``use_vllm``) use TRL's own path, which sends images only: image prompts are loaded with the
official preprocessing first; video prompts are refused with a message saying what to do.
"""

from __future__ import annotations

import copy
import functools
import json
import logging
import os
from dataclasses import dataclass, field

import numpy as np
import torch
from accelerate.utils import gather_object
from transformers.trainer_utils import PREFIX_CHECKPOINT_DIR
from trl import GRPOConfig, GRPOTrainer
from trl.trainer.utils import remove_none_values

from train.ema_grpo import TaskStdTracker, ema_grpo, task_key
from train.reward_funcs import OneThinkerReward

logger = logging.getLogger(__name__)

EMA_STATE_FILE = "ema_grpo_state.json"
ESTIMATORS = ("ema_grpo", "grpo")
# processor outputs that are per-token (rebuilt here) rather than per-image / per-video tensors
_TOKEN_FIELDS = ("input_ids", "attention_mask", "mm_token_type_ids", "token_type_ids")


@dataclass
class EMAGRPOConfig(GRPOConfig):
    """``GRPOConfig`` plus EMA-GRPO and filtering options; defaults follow the official OneThinker RL recipe."""

    advantage_estimator: str = field(default="ema_grpo", metadata={
        "help": "'ema_grpo': group-centred rewards scaled by a per-task EMA std (OneThinker); 'grpo': TRL's own "
                "GRPO advantage (for comparisons)."})
    ema_decay: float = field(default=0.99, metadata={"help": "EMA decay of each task's reward moments."})
    ema_min_std: float = field(default=1e-3, metadata={"help": "Lower bound of a task's EMA std."})
    ema_guard: float = field(default=5.0, metadata={
        "help": "Guard rail: a group with any |advantage| above this is scaled by its own std instead."})
    format_weight: float = field(default=0.1, metadata={
        "help": "Weight w of the format term: reward = (1 - w) accuracy + w format + structure."})
    online_filtering: bool = field(default=False, metadata={
        "help": "Drop groups whose mean `filter_key` reward is <= filter_low or >= filter_high (the official run "
                "turns this on)."})
    filter_key: str = field(default="accuracy", metadata={"help": "Reward function whose group mean filters."})
    filter_low: float = field(default=0.01, metadata={"help": "Drop groups with mean at or below this."})
    filter_high: float = field(default=0.99, metadata={"help": "Drop groups with mean at or above this."})

    # TRL defaults replaced by the official recipe's
    learning_rate: float = field(default=2e-6, metadata={"help": "AdamW learning rate (official: 2e-6)."})
    max_completion_length: int | None = field(default=4096, metadata={
        "help": "Maximum generated tokens per completion (official: 4096)."})
    epsilon_high: float | None = field(default=0.3, metadata={
        "help": "Upper clipping epsilon (official clip_ratio_high: 0.3; lower stays `epsilon`, 0.2)."})
    weight_decay: float = field(default=0.01, metadata={"help": "AdamW weight decay (official: 1e-2)."})
    lr_scheduler_type: str = field(default="constant", metadata={
        "help": "Learning-rate schedule (official: constant, no warm-up)."})

    def __post_init__(self):
        super().__post_init__()
        if self.advantage_estimator not in ESTIMATORS:
            raise ValueError(f"advantage_estimator must be one of {ESTIMATORS}, got {self.advantage_estimator!r}")
        if not 0 <= self.filter_low < self.filter_high <= 1:
            raise ValueError(f"need 0 <= filter_low < filter_high <= 1, got {self.filter_low} and {self.filter_high}")
        TaskStdTracker(self.ema_decay, self.ema_min_std)  # validates both
        if not self.ema_guard > 0:
            raise ValueError(f"ema_guard must be positive, got {self.ema_guard}")


def row_task_key(row: dict) -> str:
    """A row's EMA task: its ``task_key`` column, else derived from ``problem_type`` / ``data_type``."""
    key = row.get("task_key")
    if isinstance(key, str) and key:
        return key
    if not row.get("problem_type"):
        raise ValueError("EMA-GRPO needs a 'task_key' or 'problem_type' column in the training rows "
                         f"(got columns {sorted(row)})")
    return task_key(row["problem_type"], row.get("data_type"))


def _media_kinds(prompt: list[dict]) -> set[str]:
    return {b.get("type") for m in prompt if isinstance(m.get("content"), list) for b in m["content"]
            if isinstance(b, dict)} & {"image", "video"}


class EMAGRPOTrainer(GRPOTrainer):
    """See the module docstring.  ``reward_funcs`` defaults to the OneThinker reward (format, accuracy, structure)."""

    _tag_names = ["trl", "grpo", "ema-grpo", "onethinker"]

    def __init__(self, model, reward_funcs=None, args: EMAGRPOConfig | None = None, *a, media_limits=None, **kw):
        if args is None:
            args = EMAGRPOConfig("ema-grpo")
        if not isinstance(args, EMAGRPOConfig):
            raise TypeError(f"EMAGRPOTrainer takes an EMAGRPOConfig, got {type(args).__name__}")
        if reward_funcs is None:
            reward = OneThinkerReward(args.format_weight)
            reward_funcs = reward.functions()
            if args.reward_weights is None:
                args.reward_weights = reward.weights
        if args.use_vllm:
            from trl.import_utils import is_vllm_available

            if not is_vllm_available():
                raise ImportError("use_vllm needs the vllm package (`pip install vllm`, Linux + CUDA) — it is not "
                                  "installed; set use_vllm: false to generate with transformers")
        super().__init__(model, reward_funcs, args, *a, **kw)
        self.media_limits = media_limits
        self.ema_tracker = TaskStdTracker(args.ema_decay, args.ema_min_std)
        self._mm_rows: list[dict] | None = None  # vision tensors of the rows in flight, one dict per row
        self._gathered: tuple[torch.Tensor, list[str]] | None = None
        if args.online_filtering and args.filter_key not in self.reward_func_names:
            raise ValueError(f"filter_key {args.filter_key!r} is not one of the reward functions "
                             f"{self.reward_func_names}")
        # a sampled vision placeholder would not match any features
        video_id = getattr(self.model.config, "video_token_id", None)
        if self._is_vlm and video_id is not None and not args.use_vllm:
            suppress = sorted({*(self.generation_config.suppress_tokens or []), video_id})
            self.generation_config.suppress_tokens = suppress
            self.generation_kwargs["suppress_tokens"] = suppress

    # ---------------------------------------------------------------------------------------------
    # Media: one official encoding per distinct prompt, carried per row

    def _tokenize_prompts(self, prompts: list):
        if not self._is_vlm or not prompts or not isinstance(prompts[0], list):
            return super()._tokenize_prompts(prompts)
        prompts = [remove_none_values(p) for p in prompts]  # Arrow's filler keys ({"image": None} on text blocks)
        if self.use_vllm:
            return super()._tokenize_prompts(self._vllm_prompts(prompts))
        from train.data.vision import encode

        encoded: dict[str, tuple[list[int], dict]] = {}
        media_cache: dict = {}
        prompt_ids, rows = [], []
        for prompt in prompts:  # the G copies of a prompt are encoded once
            key = json.dumps(prompt, sort_keys=True, default=str)
            if key not in encoded:
                enc = encode(self.processing_class, prompt, add_generation_prompt=True, padding_side="left",
                             cache=media_cache, **({"limits": self.media_limits} if self.media_limits else {}))
                encoded[key] = (enc["input_ids"][0].tolist(),
                                {k: v for k, v in enc.items() if k not in _TOKEN_FIELDS and torch.is_tensor(v)})
            ids, mm = encoded[key]
            prompt_ids.append(ids)
            rows.append(mm)
        self._mm_rows = rows
        fields = _merge(rows)
        fields["mm_token_type_ids"] = [self._token_types(torch.tensor(ids)).tolist() for ids in prompt_ids]
        return prompt_ids, None, fields

    def _vllm_prompts(self, prompts: list) -> list:
        """vLLM rollouts: TRL's path passes images only, so load them with the official preprocessing first."""
        if any("video" in _media_kinds(p) for p in prompts):
            raise ValueError("video prompts cannot be rolled out with use_vllm: TRL's vLLM path sends images only. "
                             "Set use_vllm: false (transformers generation handles video, with the official "
                             "preprocessing), or train on image rows only")
        from train.data.vision import load_media, token_factor

        kw = {"limits": self.media_limits} if self.media_limits else {}
        return load_media(prompts, factor=token_factor(self.processing_class), **kw).conversations

    def _token_types(self, ids: torch.Tensor) -> torch.Tensor:
        """``mm_token_type_ids``: 1 on image placeholders, 2 on video placeholders, 0 elsewhere."""
        types = torch.zeros_like(ids)
        if self._image_pad_token_id is not None:
            types[ids == self._image_pad_token_id] = 1
        if self._video_pad_token_id is not None:
            types[ids == self._video_pad_token_id] = 2
        return types

    def _get_per_token_logps_and_entropies(self, model, input_ids, attention_mask, logits_to_keep,
                                           batch_size=None, compute_entropy=False, compute_aux_loss=False, **kw):
        rows = self._mm_rows
        if rows is None:
            self._check_has_features(input_ids, kw)
            return super()._get_per_token_logps_and_entropies(
                model, input_ids, attention_mask, logits_to_keep, batch_size, compute_entropy, compute_aux_loss, **kw)
        if len(rows) != input_ids.size(0):
            raise RuntimeError(f"{len(rows)} rows of vision inputs for a batch of {input_ids.size(0)} sequences")
        batch_size = batch_size or input_ids.size(0)
        logps, entropies, aux = [], [], []
        for start in range(0, input_ids.size(0), batch_size):  # TRL's chunking, with each chunk's own media
            end = min(start + batch_size, input_ids.size(0))
            ids = input_ids[start:end]
            media = {k: v.to(ids.device) for k, v in _merge(rows[start:end]).items()}
            if media:
                media["mm_token_type_ids"] = self._token_types(ids)
            out = super()._get_per_token_logps_and_entropies(
                functools.partial(model, **media), ids, attention_mask[start:end], logits_to_keep,
                batch_size=end - start, compute_entropy=compute_entropy, compute_aux_loss=compute_aux_loss)
            logps.append(out[0])
            entropies.append(out[1])
            aux.append(out[2])
        return (torch.cat(logps), torch.cat(entropies) if compute_entropy else None,
                torch.stack(aux).mean() if compute_aux_loss else None)

    def _check_has_features(self, input_ids: torch.Tensor, kw: dict) -> None:
        """Refuse a forward over vision placeholders without their features (TRL's silent video failure)."""
        if self._video_pad_token_id is not None and kw.get("pixel_values_videos") is None \
                and bool((input_ids == self._video_pad_token_id).any()):
            raise RuntimeError("a log-prob forward over video tokens got no video features; video prompts must go "
                               "through EMAGRPOTrainer's media path (typed video blocks in the 'prompt' column)")
        if self._image_pad_token_id is not None and kw.get("pixel_values") is None \
                and bool((input_ids == self._image_pad_token_id).any()):
            raise RuntimeError("a log-prob forward over image tokens got no image features")

    def _compute_loss(self, model, inputs):
        self._mm_rows = inputs.get("mm_rows")
        try:
            return super()._compute_loss(model, inputs)
        finally:
            self._mm_rows = None

    # ---------------------------------------------------------------------------------------------
    # Advantages

    def _calculate_rewards(self, inputs, prompts, completions, completion_ids_list):
        rewards = super()._calculate_rewards(inputs, prompts, completions, completion_ids_list)
        keys = [row_task_key(x) for x in inputs] if self.args.advantage_estimator == "ema_grpo" else []
        self._gathered = (rewards, gather_object(keys))  # rank order, like TRL's gather of the rewards
        return rewards

    def _generate_and_score_completions(self, inputs):
        try:
            out = super()._generate_and_score_completions(inputs)
        finally:
            rows, self._mm_rows = self._mm_rows, None
        if rows is not None:
            out["mm_rows"] = rows
        rewards_per_func, keys = self._gathered
        self._gathered = None
        mode = "train" if self.model.training else "eval"
        n_local = len(inputs)
        local = slice(self.accelerator.process_index * n_local, (self.accelerator.process_index + 1) * n_local)
        group_size = self.num_generations if mode == "train" else self.num_generations_eval
        n = rewards_per_func.size(0)
        group_ids = torch.arange(n) // group_size

        keep = torch.ones(n, dtype=torch.bool)
        if self.args.online_filtering and mode == "train":
            keep = self._difficulty_filter(rewards_per_func, group_ids, n // group_size)
        if self.args.advantage_estimator == "ema_grpo":
            rewards = (rewards_per_func * self.reward_weights.to(rewards_per_func.device)).nansum(dim=1)
            rewards[torch.isnan(rewards_per_func).all(dim=1)] = torch.nan  # unscorable: ema_grpo raises
            advantages = torch.zeros(n, dtype=torch.float32)
            if keep.any():
                tracker = self.ema_tracker if mode == "train" else copy.deepcopy(self.ema_tracker)
                kept_keys = np.asarray(keys, dtype=object)[keep.numpy()].tolist()
                res = ema_grpo(rewards.cpu()[keep], group_ids[keep], kept_keys, tracker, self.args.ema_guard)
                advantages[keep] = res.advantages.float()
                self._log_ema(mode, res)
            out["advantages"] = advantages[local].to(out["advantages"].device)
            logged = self._logs["advantages"]  # TRL logged its own advantages for the completions table
            kept = list(logged)[:max(0, len(logged) - n)]
            logged.clear()
            logged.extend(kept + advantages.tolist())
        if not bool(keep.all()) and bool(keep.any()):  # dropped groups leave the loss entirely
            mask = keep[local].to(out["completion_mask"].device)
            out["advantages"] = out["advantages"] * mask
            out["completion_mask"] = out["completion_mask"] * mask.unsqueeze(1).to(out["completion_mask"].dtype)
            loss_mask = out["completion_mask"] if "tool_mask" not in out else out["completion_mask"] * out["tool_mask"]
            out["num_items_in_batch"] = self.accelerator.gather(loss_mask.sum()).sum()
        elif not bool(keep.any()):
            out["advantages"] = torch.zeros_like(out["advantages"])  # nothing to learn from this batch
        return out

    def _difficulty_filter(self, rewards_per_func: torch.Tensor, group_ids: torch.Tensor, n_groups: int):
        """Keep groups whose mean ``filter_key`` reward lies strictly between filter_low and filter_high."""
        column = rewards_per_func[:, self.reward_func_names.index(self.args.filter_key)].cpu().double()
        column = torch.nan_to_num(column, nan=0.0)
        mean = torch.zeros(n_groups, dtype=torch.float64).index_add(0, group_ids, column) / \
            torch.bincount(group_ids, minlength=n_groups)
        kept = (mean > self.args.filter_low) & (mean < self.args.filter_high)
        self._metrics["train"]["filter/kept_group_fraction"].append(kept.double().mean().item())
        if not kept.any():
            logger.warning("online filtering dropped every group of this batch (all too easy or too hard): "
                           "the step learns nothing; check the data or the filter bounds")
        return kept[group_ids]

    def _log_ema(self, mode: str, res) -> None:
        metrics = self._metrics[mode]
        metrics["ema/guarded_group_fraction"].append(res.guarded.double().mean().item())
        for key, std in res.task_std.items():
            metrics[f"ema/{key}/std"].append(std)
            metrics[f"ema/{key}/mean"].append(self.ema_tracker.mean(key))

    # ---------------------------------------------------------------------------------------------
    # Checkpoints: the EMA state travels with each one

    def _save_checkpoint(self, model, trial):
        super()._save_checkpoint(model, trial)
        if self.args.should_save:
            folder = os.path.join(self._get_output_dir(trial=trial), f"{PREFIX_CHECKPOINT_DIR}-{self.state.global_step}")
            self.save_ema_state(folder)

    def save_ema_state(self, folder: str) -> str:
        path = os.path.join(folder, EMA_STATE_FILE)
        tmp = path + ".tmp"
        with open(tmp, "w") as f:
            json.dump(self.ema_tracker.state_dict(), f, indent=1)
        os.replace(tmp, path)
        return path

    def _load_optimizer_and_scheduler(self, checkpoint):
        super()._load_optimizer_and_scheduler(checkpoint)
        if checkpoint is None:
            return
        path = os.path.join(checkpoint, EMA_STATE_FILE)
        if os.path.exists(path):
            try:
                with open(path) as f:
                    self.ema_tracker.load_state_dict(json.load(f))
            except (OSError, ValueError) as e:
                raise ValueError(f"cannot restore the EMA-GRPO state from {path}: {e}") from None
        elif self.args.advantage_estimator == "ema_grpo":
            logger.warning("checkpoint %s has no %s: the EMA-GRPO task statistics start afresh", checkpoint,
                           EMA_STATE_FILE)


def _merge(rows: list[dict]) -> dict[str, torch.Tensor]:
    """Concatenate per-row vision tensors along dim 0 (pixel rows, or one entry per image / video)."""
    keys = dict.fromkeys(k for r in rows for k in r)
    return {k: torch.cat([r[k] for r in rows if k in r]) for k in keys}
