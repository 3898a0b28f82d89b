"""Rewards per second for onethinker.rewards.compute_score, with a naive baseline in the same run.

    python benchmarks/bench_rewards.py [--n 6000] [--repeat 3]

Prints rewards/second for
  * a mixed batch over the structured / QA tasks (multiple choice, numerical, regression, temporal,
    spatial, spatio-temporal grounding, tracking, segmentation) — goal ≥ 20,000/s on a 2-core machine;
  * open-ended (ROUGE) and math (symbolic) batches separately,
and the same batches through a deliberately straightforward scorer (a ROUGE scorer built per call,
option letters graded through the LaTeX grader, JSON parsed once per term), so the ratio is measured
on the same machine in the same run.  GRPO-style groups: 8 completions share each ground truth.

Then "pathological input": milliseconds per ``parse`` / ``score`` call on 20,000 and 60,000 characters
of what a stuck model writes (a long run of digits in a streaming track, '<' followed by spaces, ...)
— goal ≤ 50 ms at 60,000 — next to the code that was there before (kept below as the baseline: the
same regular expressions, run as they were run).  The old code is quadratic; at 60,000 characters it
is only run with --full-baseline (minutes), else its time is estimated as 9× the 20,000 figure.
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import re
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from onethinker.answer import parse  # noqa: E402
from onethinker.rewards import compute_score, extract_answer, score  # noqa: E402
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


# ---------------------------------------------------------------------------------------------
# Pathological input: one row per family, ours against the code that was there before.

# The patterns as they were (onethinker/answer/parse.py, decode.py, rewards/scoring.py before the fix).
OLD_TAG = re.compile(r"<\s*(/?)\s*(think|answer)\s*>", re.IGNORECASE)
OLD_CUT_TAG = re.compile(r"<\s*/?\s*([a-zA-Z]*)\s*$")
OLD_PARTIAL_BOX = re.compile(r"""["']?([^"'{},\s]+)["']?\s*:\s*\[([^\[\]]*)\]""")
OLD_TAG_SPACES = re.compile(r"<\s*(/?)\s*(think|answer)\s*>")
OLD_SPACED_TAG = re.compile(r"<(?:\s+/?\s*|/\s+)(?:think|answer)\s*>|</?(?:think|answer)\s+>")
OLD_OPTION = re.compile(r"\b(?i:option|answer(?:\s+is)?)\s*[:\-]?\s*\(?([A-Z])\b")


def old_split(text: str, final: bool = True) -> None:
    """The regexes old parse ran on a response: every tag, and the cut-tag check on unfinished reasoning."""
    tags = list(OLD_TAG.finditer(text))
    if not final and not any(m.group(1) or m.group(2).lower() == "answer" for m in tags):
        OLD_CUT_TAG.search(text)


def old_stream_boxes(text: str) -> None:
    old_split(text, final=False)
    list(OLD_PARTIAL_BOX.finditer(text, max(text.find("boxes"), 0)))


def old_normalize(text: str) -> None:
    if OLD_SPACED_TAG.search(text):
        OLD_TAG_SPACES.sub(r"<\1\2>", text)


def old_option(text: str) -> None:
    old_split(text)
    OLD_OPTION.search(text)


def old_math(text: str) -> None:
    """math_equal without the length limit (math-verify on the whole answer; 5 s timeout)."""
    logging.getLogger("math_verify").setLevel(logging.ERROR)  # its timeout warning quotes the whole answer
    M._math_equal.__wrapped__(extract_answer(text), "\\frac{1}{2}")


def R(answer: str, think: str = "r") -> str:
    return f"<think>{think}</think><answer>{answer}</answer>"


# name, text of about n characters, our call, the old code's call, sizes the old code is timed at
# (the cubic case only at 1,000 characters: at 20,000 it would run for hours)
PATHOLOGICAL = [
    ("streaming track: digit run", lambda n: '<think>r</think><answer>{"boxes": {"1": [' + "1" * n,
     lambda t: parse(t, "tracking", final=False), old_stream_boxes, (20_000, 60_000)),
    ("streaming st-grounding: digit key", lambda n: '<think>r</think><answer>{"time": [1, 3], "boxes": {"' + "1" * n,
     lambda t: parse(t, "spatial-temporal grounding", final=False), old_stream_boxes, (20_000, 60_000)),
    ("streaming track: letters then ':'", lambda n: '<think>r</think><answer>{"boxes": {' + "a" * n + ":",
     lambda t: parse(t, "tracking", final=False), old_stream_boxes, (20_000, 60_000)),
    ("score: '<' + spaces in reasoning", lambda n: R("C", think="<" + " " * n),
     lambda t: score(t, "C", "multiple choice"), old_normalize, (20_000, 60_000)),
    ("score: '<' spaces '/' spaces", lambda n: R("C", think="<" + " " * (n // 2) + "/" + " " * (n // 2)),
     lambda t: score(t, "C", "multiple choice"), old_normalize, (20_000, 60_000)),
    ("parse: '<' + spaces in reasoning", lambda n: R("C", think="<" + " " * n),
     lambda t: parse(t, "multiple choice"), old_split, (20_000, 60_000)),
    ("parse: 'answer' + spaces", lambda n: R("answer" + " " * n + "x"),
     lambda t: parse(t, "multiple choice"), old_option, (20_000, 60_000)),
    ("streaming: '<' + spaces + 'x.' (cubic)", lambda n: "<think>look <" + " " * n + "x.",
     lambda t: parse(t, "multiple choice", final=False), lambda t: old_split(t, final=False), (1_000,)),
    ("score math: spaces in the answer", lambda n: R("x" + " " * n + "x"),
     lambda t: score(t, "\\frac{1}{2}", "math"), old_math, (20_000, 60_000)),
    ("score open-ended: '1,' run", lambda n: R("1," * (n // 2)),
     lambda t: score(t, "a red car", "open-ended"), None, ()),
    ("parse: [[[…]]] nested n/2 deep", lambda n: R("[" * (n // 2) + "]" * (n // 2)),
     lambda t: parse(t, "tracking"), None, ()),
    ("parse track: n/30 boxes that never stop", lambda n: R(_many_boxes(n, "{}")),
     lambda t: parse(t, "tracking"), None, ()),
    ("parse track: n/30 keys that are not seconds", lambda n: R(_many_boxes(n, "k{}k")),
     lambda t: parse(t, "tracking"), None, ()),
]


def _many_boxes(n: int, key: str) -> str:
    return json.dumps({"boxes": {key.format(i): [100 + i % 50, 200, 300, 400] for i in range(1, n // 30)}})


def ms_per_call(fn, text: str, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn(text)
        best = min(best, time.perf_counter() - t0)
    return best * 1000


def pathological(full_baseline: bool, repeat: int) -> None:
    print("\npathological input, ms per call (goal ≤ 50 ms at 60,000 characters)")
    print("old: the code before the fix, timed at 20,000 characters (and 60,000 with --full-baseline; '≈' is")
    print("9× the 20,000 figure, as the old code is quadratic), or at 1,000 where it is cubic")
    print(f"{'family':<42}{'old':>22}{'ours 20k':>10}{'ours 60k':>10}")
    worst = 0.0
    for name, make, ours, old, old_sizes in PATHOLOGICAL:
        old_cells = []
        for n in old_sizes:
            if n == 60_000 and not full_baseline:
                old_cells.append(f"≈{9 * old_ms:,.0f}")
                continue
            old_ms = ms_per_call(old, make(n), 1)
            old_cells.append(f"{old_ms:,.0f}" + ("" if n == 20_000 else f" @{n // 1000}k"))
        ours_20k, ours_60k = (ms_per_call(ours, make(n), repeat) for n in (20_000, 60_000))
        worst = max(worst, ours_60k)
        print(f"{name:<42}{' / '.join(old_cells) or '—':>22}{ours_20k:>10.1f}{ours_60k:>10.1f}")
    print(f"pathological goal ≤ 50 ms per call at 60,000: {'met' if worst <= 50 else 'NOT met'} "
          f"(slowest {worst:.1f} ms)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=6000, help="completions in the mixed batch (≥ 6000)")
    ap.add_argument("--repeat", type=int, default=3, help="timed passes over each batch; the best is kept (default 3)")
    ap.add_argument("--baseline-n", type=int, default=600, help="items the slow baseline scores per batch")
    ap.add_argument("--pathological-only", action="store_true", help="only the pathological-input rows")
    ap.add_argument("--full-baseline", action="store_true",
                    help="also run the old quadratic code at 60,000 characters (minutes)")
    args = ap.parse_args()

    compute_score(make_batch(STRUCTURED + ["open-ended", "math"], 200, seed=99))  # load scorers once
    if not args.pathological_only:
        throughput(args)
    pathological(args.full_baseline, args.repeat)


def throughput(args: argparse.Namespace) -> None:
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
