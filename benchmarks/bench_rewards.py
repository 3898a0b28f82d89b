"""Rewards per second for onethinker.rewards.compute_score, with a naive baseline in the same run.

    python benchmarks/bench_rewards.py [--n 6000] [--repeat 3]

Prints rewards/second for
  * a mixed batch over the structured / QA tasks (multiple choice, numerical, regression, temporal,
    spatial, spatio-temporal grounding, tracking, segmentation) — goal ≥ 20,000/s on a 2-core machine;
  * open-ended (ROUGE) and math (symbolic) batches separately,
and the same batches through a deliberately straightforward scorer (a ROUGE scorer built per call,
option letters graded through the LaTeX grader, JSON parsed once per term), so the ratio is measured
on the same machine in the same run.  GRPO-style groups: 8 completions share each ground truth.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from onethinker.rewards import compute_score  # noqa: E402
from onethinker.rewards import metrics as M  # noqa: E402

GROUP = 8
WORDS = ("the object moves left then the camera pans while a person walks past the red car near the "
         "door and the light changes so I compare the frames at each second").split()


def _think(rng: random.Random) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(40, 90)))


def _box(rng: random.Random) -> list[int]:
    x, y = rng.randint(0, 700), rng.randint(0, 700)
    return [x, y, x + rng.randint(10, 300), y + rng.randint(10, 300)]


def _pts(rng: random.Random) -> list[list[int]]:
    return [[rng.randint(0, 1000), rng.randint(0, 1000)] for _ in range(3)]


def _case(task: str, rng: random.Random) -> tuple[str, str, str, callable]:
    """(problem_type, data_type, ground truth, answer generator)"""
    if task == "multiple choice":
        return task, "image", rng.choice("ABCD"), lambda: rng.choice("ABCD")
    if task == "numerical":
        return task, "image", str(rng.randint(0, 50)), lambda: str(rng.randint(0, 50))
    if task == "regression":
        g = rng.uniform(1, 100)
        return task, "video", f"{g:.2f}", lambda: f"{g * rng.uniform(0.5, 1.5):.2f}"
    if task == "temporal grounding":
        s = rng.uniform(0, 60)
        gt = json.dumps({"time": [round(s, 1), round(s + rng.uniform(2, 20), 1)]})
        return task, "video", gt, lambda: json.dumps({"time": [round(s + rng.uniform(-3, 3), 1),
                                                               round(s + rng.uniform(3, 25), 1)]})
    if task == "spatial grounding":
        return task, "image", json.dumps({"boxes": _box(rng)}), lambda: json.dumps({"boxes": _box(rng)})
    if task == "spatial-temporal grounding":
        s = rng.randint(0, 20)
        e = s + rng.randint(2, 8)
        gt = json.dumps({"time": [s, e], "boxes": {str(k): _box(rng) for k in range(s, e + 1)}})
        return task, "video", gt, lambda: json.dumps(
            {"time": [s + 0.4, e + 1.2], "boxes": {str(k): _box(rng) for k in range(s + 1, e + 2)}})
    if task == "tracking":
        n = rng.randint(8, 32)
        gt = json.dumps({"boxes": {str(k): _box(rng) for k in range(1, n + 1)}})
        return task, "video", gt, lambda: json.dumps({"boxes": {str(k): _box(rng) for k in range(1, n + 1)}})
    if task == "segmentation":
        gt = json.dumps({"boxes": _box(rng), "positive_points": _pts(rng), "negative_points": _pts(rng)})
        return task, "image", gt, lambda: json.dumps(
            {"boxes": _box(rng), "positive_points": _pts(rng), "negative_points": _pts(rng)})
    if task == "open-ended":
        ref = " ".join(rng.choice(WORDS) for _ in range(rng.randint(8, 30)))
        return task, "video", ref, lambda: " ".join(rng.choice(WORDS) for _ in range(rng.randint(8, 30)))
    if task == "math":
        a, b = rng.randint(1, 9), rng.randint(2, 9)
        forms = [f"\\frac{{{a}}}{{{b}}}", f"{a / b:.6f}", f"\\frac{{{a * 2}}}{{{b * 2}}}", f"{a}/{b}", f"{a + 1}"]
        return task, "image", f"\\frac{{{a}}}{{{b}}}", lambda: rng.choice(forms)
    raise ValueError(task)


STRUCTURED = ["multiple choice", "numerical", "regression", "temporal grounding", "spatial grounding",
              "spatial-temporal grounding", "tracking", "segmentation"]


def make_batch(tasks: list[str], n: int, seed: int = 0) -> list[dict]:
    rng = random.Random(seed)
    batch: list[dict] = []
    while len(batch) < n:
        ptype, dtype, gt, gen = _case(tasks[len(batch) // GROUP % len(tasks)], rng)
        for _ in range(GROUP):
            fmt_ok = rng.random() < 0.9
            body = f"<think>{_think(rng)}</think>\n<answer>{gen()}</answer>"
            batch.append({"response": body if fmt_ok else body.replace("</think>", ""), "ground_truth": gt,
                          "data_type": dtype, "problem_type": ptype})
    return batch[:n]


# ---------------------------------------------------------------------------------------------
# Straightforward baseline: same formulas, no care for speed.


def naive_compute_score(items: list[dict], format_weight: float = 0.1) -> list[dict]:
    from math_verify import parse as mv_parse
    from math_verify import verify as mv_verify
    from rouge_score import rouge_scorer

    out = []
    for it in items:
        resp = re.sub(r"<\s*(/?)\s*(think|answer)\s*>", r"<\1\2>", it["response"])
        fmt = 1.0 if re.fullmatch(r"\s*<think>.*?</think>\s*<answer>.*?</answer>\s*", resp, re.DOTALL) else 0.0
        m = re.search(r"<answer>\s*(.*?)\s*</answer>", resp, re.DOTALL)
        ans = m.group(1) if m else resp.strip()
        gt, pt = it["ground_truth"], it["problem_type"]

        def j(s):
            try:
                return json.loads(s)
            except ValueError:
                return None

        struct = 0.5
        if pt == "multiple choice":
            acc = float(mv_verify(mv_parse(f"${gt}$"), mv_parse(f"${ans}$")))
        elif pt == "open-ended":
            sc = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"], use_stemmer=True).score(gt, ans)
            acc = sum(v.fmeasure for v in sc.values()) / 3
        elif pt == "math":
            acc = float(mv_verify(mv_parse(f"${gt}$"), mv_parse(f"${ans}$")))
        elif pt == "numerical":
            try:
                acc = float(round(float(ans), 2) == round(float(gt), 2))
            except ValueError:
                acc = 0.0
        elif pt == "regression":
            acc = M.mean_relative_accuracy(ans, gt)
        else:
            p, g = j(ans), j(gt)
            struct = 0.5 if isinstance(j(ans), dict) else 0.0
            p, g = (p, g) if isinstance(p, dict) and isinstance(g, dict) else ({}, {})
            if pt == "temporal grounding":
                acc = M.interval_iou(p.get("time"), g.get("time"))
            elif pt == "spatial grounding":
                acc = M.box_iou(p.get("boxes"), g.get("boxes"))
            elif pt == "spatial-temporal grounding":
                acc = 0.5 * M.interval_iou(p.get("time"), g.get("time")) + 0.5 * M.mean_iou_over_common(
                    p.get("boxes"), g.get("boxes"))
            elif pt == "tracking":
                acc = M.mean_iou_over_truth(p.get("boxes"), g.get("boxes"))
            else:
                acc = 0.5 * M.box_iou(p.get("boxes"), g.get("boxes")) + 0.25 * M.point_set_similarity(
                    p.get("positive_points"), g.get("positive_points")) + 0.25 * M.point_set_similarity(
                    p.get("negative_points"), g.get("negative_points"))
        struct = struct if fmt else 0.0
        out.append({"overall": (1 - format_weight) * acc + format_weight * fmt + struct, "format": fmt,
                    "accuracy": acc, "structure_reward": struct})
    return out


def rate(fn, batch: list[dict], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn(batch)
        best = min(best, time.perf_counter() - t0)
    return len(batch) / best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=6000, help="completions in the mixed batch (≥ 6000)")
    ap.add_argument("--repeat", type=int, default=3, help="timed passes over each batch; the best is kept (default 3)")
    ap.add_argument("--baseline-n", type=int, default=600, help="items the slow baseline scores per batch")
    args = ap.parse_args()

    compute_score(make_batch(STRUCTURED + ["open-ended", "math"], 200, seed=99))  # load scorers once
    rows = []
    for name, tasks, n in [("mixed structured/QA", STRUCTURED, args.n), ("open-ended (ROUGE)", ["open-ended"], 2000),
                           ("math (symbolic)", ["math"], 2000)]:
        batch = make_batch(tasks, n, seed=1)
        ours = rate(compute_score, batch, args.repeat)
        # Fresh inputs for the baseline's smaller batch, so neither side benefits from the other's caches.
        base = rate(naive_compute_score, make_batch(tasks, min(n, args.baseline_n), seed=2), 1)
        rows.append((name, n, ours, base))
    print(f"{'batch':<22}{'items':>7}{'ours/s':>12}{'baseline/s':>13}{'ratio':>8}")
    for name, n, ours, base in rows:
        print(f"{name:<22}{n:>7}{ours:>12,.0f}{base:>13,.0f}{ours / base:>7.1f}x")
    goal = rows[0][2]
    print(f"mixed-batch goal ≥ 20,000/s: {'met' if goal >= 20000 else 'NOT met'} ({goal:,.0f}/s)")


if __name__ == "__main__":
    main()
