"""EMA-GRPO cost: the advantage itself, and a whole GRPO step of our trainer against TRL's plain GRPOTrainer.

    python benchmarks/bench_ema_grpo.py [--n 8192] [--tasks 8] [--steps 8]

Prints
  * milliseconds for :func:`train.ema_grpo.compute_ema_grpo_advantages` on ``--n`` completions (groups of 8)
    over ``--tasks`` tasks, with the group ids as the trainer passes them (a tensor) and as a list, against a
    per-sample loop written like EasyR1's estimator, in the same run (goal: ≤ 2 ms at 8,192);
  * seconds per GRPO step on the tiny random Qwen3-VL of the tests (image prompts, 16 completions of exactly
    16 tokens, the OneThinker reward) for TRL's ``GRPOTrainer`` and for ``EMAGRPOTrainer`` with plain GRPO
    advantages and with EMA-GRPO.  The trainers take turns step by step so load on the machine hits all alike;
    medians are reported (goal: EMA-GRPO overhead ≤ 2 %).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch  # noqa: E402

from train.ema_grpo import TaskStdTracker, compute_ema_grpo_advantages  # noqa: E402

GROUP = 8
TASKS = ["multiple choice", "numerical", "regression", "OCR", "open-ended", "math", "temporal grounding",
         "segmentation/video", "spatial grounding", "tracking"]


def per_sample_loop(scores, group_ids, task_keys, state, decay=0.99, min_std=1e-3, guard=5.0, eps=1e-6):
    """Baseline: the official estimator's structure — dicts of positions, Python loops, tensor indexing."""
    by_group, by_task = {}, {}
    for i in range(scores.shape[0]):
        by_group.setdefault(str(group_ids[i]), []).append(i)
        by_task.setdefault(task_keys[i], []).append(i)
    centred = scores.clone()
    for pos in by_group.values():
        g = scores[pos]
        centred[pos] = g - g.mean()
    for key, pos in by_task.items():
        x = scores[pos].float()
        m1, m2 = x.mean().item(), (x * x).mean().item()
        if key in state:
            state[key] = (decay * state[key][0] + (1 - decay) * m1, decay * state[key][1] + (1 - decay) * m2)
        else:
            state[key] = (m1, m2)
    out = centred.clone()
    for key, pos in by_task.items():
        m1, m2 = state[key]
        std = max(max(m2 - m1 * m1, 0.0), min_std ** 2) ** 0.5
        groups = {}
        for i in pos:
            groups.setdefault(str(group_ids[i]), []).append(i)
        for gpos in groups.values():
            tmp = centred[gpos] / (std + eps)
            if torch.any(torch.abs(tmp) > guard):
                out[gpos] = centred[gpos] / (torch.std(scores[gpos].float(), unbiased=False).item() + eps)
            else:
                out[gpos] = tmp
    return out


def timed(fn, repeat: int) -> float:
    """Median milliseconds of ``repeat`` calls (after one warm-up call)."""
    fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1e3


def bench_advantage(n: int, n_tasks: int) -> None:
    rng = torch.Generator().manual_seed(0)
    n_groups = n // GROUP
    group_tensor = torch.arange(n_groups).repeat_interleave(GROUP)
    group_list = group_tensor.tolist()
    task_of_group = torch.randint(0, n_tasks, (n_groups,), generator=rng)
    task_keys = [TASKS[t] for t in task_of_group.repeat_interleave(GROUP).tolist()]
    scores = (torch.rand(n, generator=rng) < 0.4).float() * 0.9 + torch.rand(n, generator=rng) * 0.1

    ours = compute_ema_grpo_advantages(scores, group_tensor, task_keys, TaskStdTracker())
    base = per_sample_loop(scores, group_list, task_keys, {})
    print(f"advantage, {n} completions in groups of {GROUP}, {n_tasks} tasks "
          f"(max |ours - loop| = {(ours - base).abs().max().item():.1e})")
    tracker = TaskStdTracker()
    t_tensor = timed(lambda: compute_ema_grpo_advantages(scores, group_tensor, task_keys, tracker), 50)
    t_list = timed(lambda: compute_ema_grpo_advantages(scores, group_list, task_keys, tracker), 50)
    state: dict = {}
    t_loop = timed(lambda: per_sample_loop(scores, group_list, task_keys, state), 5)
    print(f"  vectorised, group ids as a tensor  {t_tensor:8.2f} ms   (goal <= 2 ms)")
    print(f"  vectorised, group ids as a list    {t_list:8.2f} ms")
    print(f"  per-sample loop (baseline)         {t_loop:8.2f} ms   ({t_loop / t_tensor:.0f}x slower)")


def endless(trainer):
    """The trainer's generation batches, epoch after epoch."""
    while True:
        yield from trainer.get_train_dataloader()


def bench_step(steps: int) -> None:
    import numpy as np
    from datasets import Dataset
    from PIL import Image
    from transformers import AutoModelForImageTextToText, AutoProcessor
    from trl import GRPOConfig, GRPOTrainer

    from tests.engine.tiny_model import build_tiny_qwen3vl
    from train.grpo_trainer import EMAGRPOConfig, EMAGRPOTrainer
    from train.reward_funcs import OneThinkerReward

    tmp = Path(tempfile.mkdtemp(prefix="bench-ema-grpo-"))
    model_dir = build_tiny_qwen3vl(tmp / "model")
    image_path = tmp / "photo.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 96, 3), dtype=np.uint8)).save(image_path)
    image = Image.open(image_path).convert("RGB")
    n_prompts, tokens = 16, 16
    tasks = ["multiple choice", "numerical", "OCR", "math"]
    columns = [{"solution": "<answer>B</answer>", "problem_type": tasks[i % 4], "data_type": "image"}
               for i in range(n_prompts)]
    # TRL's own image format (a PIL image column) and ours (a typed block in the prompt): the same pixels
    trl_rows = [{"prompt": [{"role": "user", "content": f"Question {i}: what is shown?"}], "image": image, **c}
                for i, c in enumerate(columns)]
    our_rows = [{"prompt": [{"role": "user", "content": [{"type": "image", "image": str(image_path)},
                                                         {"type": "text", "text": f"Question {i}: what is shown?"}]}],
                 **c} for i, c in enumerate(columns)]
    reward = OneThinkerReward()
    common = dict(per_device_train_batch_size=16, num_generations=4, max_completion_length=tokens,
                  generation_kwargs={"min_new_tokens": tokens}, use_cpu=True, bf16=False, gradient_checkpointing=False,
                  report_to=[], save_strategy="no", max_steps=steps + 2, seed=0, reward_weights=reward.weights,
                  dataloader_num_workers=0, disable_tqdm=True)

    def build(cls, config_cls, rows, name, **extra):
        config = config_cls(output_dir=str(tmp / name), **common, **extra)
        model = AutoModelForImageTextToText.from_pretrained(model_dir)
        processor = AutoProcessor.from_pretrained(model_dir, padding_side="left")
        trainer = cls(model, reward_funcs=reward.functions(), args=config, train_dataset=Dataset.from_list(rows),
                      processing_class=processor)
        trainer.model.train()
        trainer.create_optimizer_and_scheduler(num_training_steps=steps + 2)
        trainer.current_gradient_accumulation_steps = 1  # set by Trainer.train, which we step around
        return trainer, endless(trainer)

    runs = {
        "TRL GRPOTrainer (image column)": build(GRPOTrainer, GRPOConfig, trl_rows, "trl"),
        "EMAGRPOTrainer, plain GRPO advantage": build(EMAGRPOTrainer, EMAGRPOConfig, our_rows, "plain",
                                                      advantage_estimator="grpo"),
        "EMAGRPOTrainer, EMA-GRPO advantage": build(EMAGRPOTrainer, EMAGRPOConfig, our_rows, "ema"),
    }
    times: dict[str, list[float]] = {name: [] for name in runs}
    for step in range(steps + 2):  # two warm-up rounds; trainers take turns every step
        for name, (trainer, batches) in runs.items():
            batch = next(batches)
            t0 = time.perf_counter()
            trainer.training_step(trainer.model_wrapped, batch, None)
            trainer.optimizer.step()
            trainer.optimizer.zero_grad()
            if step >= 2:
                times[name].append(time.perf_counter() - t0)
    print(f"GRPO step, tiny Qwen3-VL on CPU: {n_prompts // 4} prompts x 4 completions of {tokens} tokens, "
          f"image prompts, median of {steps} steps")
    base = statistics.median(times["TRL GRPOTrainer (image column)"])
    for name, ts in times.items():
        med = statistics.median(ts)
        tokens_per_step = runs[name][0].state.num_input_tokens_seen / (steps + 2)  # prompt + completion, same work
        print(f"  {name:40s} {med:7.3f} s/step  ({(med / base - 1) * 100:+5.1f} % vs TRL)  "
              f"{tokens_per_step:.0f} tokens/step")
    ema = runs["EMAGRPOTrainer, EMA-GRPO advantage"][0]
    print(f"  EMA state after the run: {ema.ema_tracker}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=8192)
    ap.add_argument("--tasks", type=int, default=8)
    ap.add_argument("--steps", type=int, default=8)
    args = ap.parse_args()
    bench_advantage(args.n, args.tasks)
    if args.steps > 0:
        bench_step(args.steps)


if __name__ == "__main__":
    main()
