"""Mixed optimiser steps, little padding: each step's samples are a random draw, its micro-batches length-sorted.

Batches sorted by length (transformers' ``group_by_length``) are nearly one task each here, since a task's
answers have one length (a tracking answer is five times a multiple-choice one); trained on such batches the
nano model stopped reading the question and answered every prompt alike (measured: 400 steps, every task's
accuracy near 0, where mixed batches already gave task-specific answers at 200).  So the gradient of each
optimiser step must see a mixture.  This sampler draws ``step_size`` samples at random for each step and
orders them by length, so the step's ``step_size / micro`` micro-batches (gradient accumulation) each hold
samples of similar length: the step is as mixed as a random batch, and the padding is mostly gone.
"""

from __future__ import annotations

from typing import Iterator, Sequence

import torch
from torch.utils.data import Sampler


class MixedStepLengthSortedSampler(Sampler[int]):
    """Indices in optimiser-step groups of ``step_size``: random groups, each sorted by ``lengths``."""

    def __init__(self, lengths: Sequence[int], step_size: int, seed: int = 0):
        if step_size < 1 or step_size > len(lengths):
            raise ValueError(f"step_size must be between 1 and the dataset size {len(lengths)}, got {step_size}")
        self.lengths = list(lengths)
        self.step_size = step_size
        self.seed = seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.lengths) // self.step_size * self.step_size  # whole steps only, so steps stay aligned

    def __iter__(self) -> Iterator[int]:
        g = torch.Generator().manual_seed(self.seed * 1_000_003 + self.epoch)
        order = torch.randperm(len(self.lengths), generator=g).tolist()[: len(self)]
        for start in range(0, len(order), self.step_size):
            yield from sorted(order[start:start + self.step_size], key=lambda i: self.lengths[i])
