"""The OneThinker reward as TRL reward functions (``format``, ``accuracy``, ``structure``).

TRL calls each reward function with ``prompts``, ``completions`` and every dataset column as keyword
arguments; ``solution``, ``problem_type`` and ``data_type`` come from the RL rows (see ``train.data.load_rl``).
The three functions share one pass of :func:`onethinker.rewards.score_batch` per batch, and with the
weights ``(w, 1 − w, 1)`` TRL's weighted sum is exactly the OneThinker reward
``overall = (1 − w)·accuracy + w·format + structure``.  Keeping the terms apart lets TRL log each one and
lets online difficulty filtering read the accuracy column.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

from onethinker.rewards import Score, score_batch

TERMS = ("format", "accuracy", "structure")


def completion_text(completion: Any) -> str:
    """The text of one TRL completion: a string, or a conversational ``[{"role": "assistant", "content": …}]``."""
    if isinstance(completion, str):
        return completion
    if isinstance(completion, (list, tuple)) and completion:
        content = completion[-1].get("content", "") if isinstance(completion[-1], dict) else ""
        if isinstance(content, list):  # typed blocks
            return "".join(b.get("text", "") for b in content if isinstance(b, dict) and b.get("type") == "text")
        return content if isinstance(content, str) else ""
    return ""


class OneThinkerReward:
    """One scoring pass per batch, read out as three TRL reward functions."""

    def __init__(self, format_weight: float = 0.1):
        if isinstance(format_weight, bool) or not isinstance(format_weight, (int, float)) \
                or not 0 <= format_weight <= 1:
            raise ValueError(f"format_weight must be a number in [0, 1], got {format_weight!r}")
        self.format_weight = float(format_weight)
        self._batch: tuple[Sequence, list[Score]] | None = None  # (completions object, its scores)

    @property
    def weights(self) -> list[float]:
        """TRL ``reward_weights`` for :meth:`functions`, in the same order."""
        return [self.format_weight, 1.0 - self.format_weight, 1.0]

    def functions(self) -> list[Callable[..., list[float]]]:
        return [self._term(name) for name in TERMS]

    def scores(self, completions: Sequence, solution: Sequence[str], problem_type: Sequence[str],
               data_type: Sequence[str] | None = None) -> list[Score]:
        """Scores of one batch, computed once: TRL calls every term with the same ``completions`` list."""
        if self._batch is not None and self._batch[0] is completions:
            return self._batch[1]
        n = len(completions)
        for name, column in (("solution", solution), ("problem_type", problem_type)):
            if column is None or len(column) != n:
                raise ValueError(f"the OneThinker reward needs a {name!r} column in the dataset (one value per "
                                 f"row); got {'none' if column is None else len(column)} for {n} completions")
        dtypes = data_type if data_type is not None else [None] * n
        scores = score_batch({"response": completion_text(c), "ground_truth": gt, "problem_type": pt,
                              "data_type": dt} for c, gt, pt, dt in zip(completions, solution, problem_type, dtypes))
        self._batch = (completions, scores)  # holding the list keeps its identity from being reused
        return scores

    def _term(self, name: str) -> Callable[..., list[float]]:
        index = {"format": 1, "accuracy": 2, "structure": 3}[name]

        def reward(completions, solution=None, problem_type=None, data_type=None, log_metric=None, **_):
            scores = self.scores(completions, solution, problem_type, data_type)
            if name == "format" and log_metric is not None:
                log_metric("rewards/unscorable_fraction", sum(s.error is not None for s in scores) / max(1, len(scores)))
            return [s[index] for s in scores]

        reward.__name__ = reward.__qualname__ = name
        return reward
