"""OneThinker-nano SFT steps: padding and seconds per step for three ways of batching, taking turns.

    python -m train.nano --only data build         # once: the run folder's data and untrained model
    python benchmarks/bench_nano_sft.py [--run runs/nano] [--steps 6]

Each optimiser step is the same random draw of 8 training rows, trained three ways in turn on one model:
the baseline, one padded batch of 8 (what a random sampler gives); the nano recipe's, the 8 rows sorted by
length into micro-batches of 4 and of 2 (gradient accumulation: the same gradient, less padding).  Printed:
tokens per step including padding (exact) and wall seconds per step (noisy on a shared machine).
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--run", default="runs/nano", help="a train.nano run folder with data/ and untrained/")
    p.add_argument("--steps", type=int, default=6)
    args = p.parse_args()
    import torch
    from transformers import AutoModelForImageTextToText, AutoProcessor

    from onethinker.engine.profile import load_profile
    from train.collators import VisionSFTCollator
    from train.data import load_sft
    from train.nano.pipeline import _lengths

    run = Path(args.run)
    model_dir = run / "untrained"
    if not (model_dir / "config.json").is_file():
        raise SystemExit(f"{model_dir} is missing: run `python -m train.nano --out {run} --only data build` first")
    processor = AutoProcessor.from_pretrained(model_dir)
    model = AutoModelForImageTextToText.from_pretrained(model_dir).train()
    rows = load_sft([str(run / "data" / "train" / "sft.json")], profile=load_profile(model_dir))
    collate = VisionSFTCollator(processor, max_length=1024)
    lengths = _lengths(rows)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-6)
    rng = random.Random(0)
    ways = {"one batch of 8 (baseline)": 8, "micro-batches of 4": 4, "micro-batches of 2": 2}
    tokens = {w: [] for w in ways}
    seconds = {w: [] for w in ways}
    for step in range(args.steps):
        draw = sorted(rng.sample(range(len(rows)), 8), key=lambda i: lengths[i])
        order = list(ways) if step % 2 == 0 else list(reversed(ways))  # take turns
        for way in order:
            micro = ways[way]
            batches = [collate([rows[i] for i in draw[j:j + micro]]) for j in range(0, 8, micro)]
            t0 = time.perf_counter()
            for b in batches:
                (model(**b).loss * micro / 8).backward()
            opt.step()
            opt.zero_grad()
            seconds[way].append(time.perf_counter() - t0)
            tokens[way].append(sum(b["input_ids"].numel() for b in batches))
    base = statistics.mean(tokens["one batch of 8 (baseline)"])
    print(f"{'batching':28s} {'tokens/step':>12s} {'vs baseline':>12s} {'s/step (median)':>16s}")
    for way in ways:
        t = statistics.mean(tokens[way])
        print(f"{way:28s} {t:12.0f} {t / base:12.2f} {statistics.median(seconds[way]):16.2f}")


if __name__ == "__main__":
    main()
