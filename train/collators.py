"""Batch collators for SFT and DPO that feed images AND videos, through :func:`train.data.vision.encode`.

TRL's vision collators (``DataCollatorForVisionLanguageModeling``, ``DataCollatorForVisionPreference``) take
images from an ``images`` column and let the processor load anything else, so videos would be decoded by
torchcodec at the processor's defaults, without the official sampling, pixel caps or true timestamps.
These collators read the media from the typed blocks of the conversation instead and return what the
trainers expect: ``labels`` for SFT; ``completion_mask`` with chosen rows first and rejected rows second
for DPO.  Loss masks come from the chat template's ``{% generation %}`` spans (TRL's training template for
known models), so only assistant tokens — the answer and its end-of-turn token — are trained.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from train.data.common import DataError
from train.data.vision import OFFICIAL, MediaLimits, encode, training_template

IGNORE_INDEX = -100
_SEQUENCE_KEYS = {"input_ids", "attention_mask", "labels", "completion_mask", "mm_token_type_ids", "token_type_ids",
                  "loss_weights"}
ANSWER_OPEN = "<answer>"
_UNSET = object()


@dataclass
class _Base:
    processor: Any
    limits: MediaLimits = OFFICIAL
    max_length: int | None = None
    _template: Any = field(default=_UNSET, init=False, repr=False)

    @property
    def chat_template(self) -> str | None:
        if self._template is _UNSET:
            self._template = training_template(self.processor)
        return self._template

    def _truncate(self, batch) -> None:
        """Cut sequences to ``max_length`` from the end; never through image or video tokens."""
        if self.max_length is None or batch["input_ids"].shape[1] <= self.max_length:
            return
        mm = batch.get("mm_token_type_ids")
        if mm is not None and mm[:, self.max_length:].any():
            raise DataError(f"a sample's image or video tokens reach past max_length={self.max_length}; raise "
                            "max_length or lower the pixel / frame limits")
        for key in _SEQUENCE_KEYS & set(batch):
            batch[key] = batch[key][:, : self.max_length]


@dataclass
class VisionSFTCollator(_Base):
    """``{"messages": [...]}`` rows → ``input_ids``, ``attention_mask``, ``labels`` and the vision tensors.

    With ``assistant_only_loss`` (the default, as the official SFT) labels are -100 outside assistant turns.
    With ``answer_weight`` ≠ 1 the batch also holds ``loss_weights``: that weight on every trained token from the
    first ``<answer>`` of a sample on (the tag's own tokens included), 1 on its reasoning.
    """

    assistant_only_loss: bool = True
    answer_weight: float = 1.0

    def __call__(self, examples: list[dict]) -> dict:
        batch = encode(self.processor, [ex["messages"] for ex in examples], add_generation_prompt=False,
                       limits=self.limits, assistant_mask=self.assistant_only_loss,
                       chat_template=self.chat_template if self.assistant_only_loss else None)
        labels = batch["input_ids"].clone()
        labels[batch["attention_mask"] == 0] = IGNORE_INDEX
        if self.assistant_only_loss:
            labels[batch.pop("assistant_masks") == 0] = IGNORE_INDEX
        batch["labels"] = labels
        if self.answer_weight != 1.0:
            batch["loss_weights"] = self._answer_weights(labels)
        self._truncate(batch)
        if (batch["labels"] != IGNORE_INDEX).sum() == 0:
            raise DataError("a batch has no assistant tokens to learn from; check that rows end with an answer")
        return dict(batch)

    def _answer_weights(self, labels):
        """Per-token loss weights: ``answer_weight`` from the first token that overlaps a sample's first ``<answer>``
        (found in the decoded text of its trained tokens, so any tokenisation of the tag works), 1 before it."""
        import torch

        tokenizer = getattr(self.processor, "tokenizer", self.processor)
        weights = torch.ones(labels.shape, dtype=torch.float32)
        for row in range(labels.shape[0]):
            positions = (labels[row] != IGNORE_INDEX).nonzero().flatten().tolist()
            pieces = [tokenizer.decode([t]) for t in labels[row, positions].tolist()]
            start = "".join(pieces).find(ANSWER_OPEN)
            if start < 0:
                continue
            seen = 0  # characters up to the end of the current token
            for pos, piece in zip(positions, pieces):
                seen += len(piece)
                if seen > start:
                    weights[row, pos] = self.answer_weight
        return weights


@dataclass
class VisionDPOCollator(_Base):
    """``{"prompt", "chosen", "rejected"}`` rows → one batch of prompt+chosen rows then prompt+rejected rows.

    ``completion_mask`` marks the answer tokens; each row's media are loaded once for both of its halves.
    """

    def __call__(self, examples: list[dict]) -> dict:
        convs = [ex["prompt"] + ex["chosen"] for ex in examples] + [ex["prompt"] + ex["rejected"] for ex in examples]
        batch = encode(self.processor, convs, add_generation_prompt=False, limits=self.limits, assistant_mask=True,
                       chat_template=self.chat_template, cache={})
        batch["completion_mask"] = batch.pop("assistant_masks") * batch["attention_mask"]
        self._truncate(batch)
        if (batch["completion_mask"].sum(dim=1) == 0).any():
            raise DataError("a preference pair has an empty chosen or rejected answer after truncation")
        return dict(batch)
