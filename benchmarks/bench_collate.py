"""Encoding training batches with the assistant mask: over torch tensors (baseline) vs over numpy, taking turns.

    python -m train.nano --only data build language   # once: data, untrained model and drills in the run folder
    python benchmarks/bench_collate.py [--run runs/nano] [--rounds 12]

``train.data.encode`` asks transformers for the assistant-token mask, which it finds by walking each row's token
offsets one by one.  Baseline: that walk over the torch tensors the processor returns (what ``encode`` did before);
now: the processor returns numpy arrays, walked much faster, then made tensors.  Two kinds of batch, as the nano
run trains them: 32 text-only drills (the language warm-up) and 4 mixed rows with their images and videos (an SFT
micro-batch, media decoded each time as in training).  Printed: median milliseconds per batch each way, the
ratio, and whether every tensor came out equal.
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
    p.add_argument("--run", default="runs/nano", help="a train.nano run folder with data/, untrained/ and drills/")
    p.add_argument("--rounds", type=int, default=12)
    args = p.parse_args()
    import torch
    from transformers import AutoProcessor

    from onethinker.engine.profile import load_profile
    from train.data import encode, load_sft, training_template
    from train.data.vision import apply_template, load_media, token_factor

    run = Path(args.run)
    model_dir, drills = run / "untrained", run / "drills" / "train" / "sft.json"
    for need in (model_dir / "config.json", run / "data" / "train" / "sft.json", drills):
        if not need.is_file():
            raise SystemExit(f"{need} is missing: run `python -m train.nano --out {run} --only data build language`")
    processor = AutoProcessor.from_pretrained(model_dir)
    template = training_template(processor)
    kinds = {"32 drills (language warm-up)": (list(load_sft([str(drills)])), 32),
             "4 mixed rows with media (SFT)": (list(load_sft([str(run / "data" / "train" / "sft.json")],
                                                             profile=load_profile(model_dir))), 4)}

    def over_tensors(convs):
        loaded = load_media(convs, factor=token_factor(processor))
        return apply_template(processor, loaded, add_generation_prompt=False, assistant_mask=True,
                              chat_template=template, return_tensors="pt")

    def over_numpy(convs):
        return encode(processor, convs, add_generation_prompt=False, assistant_mask=True, chat_template=template)

    rng = random.Random(0)
    print(f"{'batch':32s} {'tensors (baseline)':>18s} {'numpy':>9s} {'speed-up':>9s}  same tensors")
    for kind, (rows, size) in kinds.items():
        batches = [[r["messages"] for r in rng.sample(rows, size)] for _ in range(args.rounds)]
        over_tensors(batches[0]), over_numpy(batches[0])  # warm-up: templates compiled, codecs loaded
        times = {"tensors": [], "numpy": []}
        same = True
        for i, convs in enumerate(batches):
            ways = [("tensors", over_tensors), ("numpy", over_numpy)]
            out = {}
            for name, fn in ways if i % 2 == 0 else ways[::-1]:  # take turns
                t0 = time.perf_counter()
                out[name] = fn(convs)
                times[name].append(time.perf_counter() - t0)
            a, b = out["tensors"], out["numpy"]
            same &= set(a) == set(b) and all(a[k].dtype == b[k].dtype and torch.equal(a[k], b[k]) for k in a)
        base, now = (statistics.median(times[w]) * 1000 for w in ("tensors", "numpy"))
        print(f"{kind:32s} {base:15.1f} ms {now:6.1f} ms {base / now:8.2f}×  {'yes' if same else 'NO'}")


if __name__ == "__main__":
    main()
