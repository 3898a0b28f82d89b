"""Batched generation: the engine's ``generate_many`` against one request at a time.  Prints figures, asserts nothing.

    python benchmarks/bench_generate_many.py [--model models/onethinker-nano] [--rows 48] [--batch 1 4 8 16]

Rows are held-out synthetic samples of every task (``train.synthetic``, a seed no training split uses), written
to a temporary folder and asked through ``TransformersBackend`` greedily, as the evaluation runner asks them.
Baseline: ``generate`` on each request in turn, in the same process, after one warm-up request.  For each batch
size: wall seconds, rows per second, the speed-up over the baseline, and how many answers differ from the
baseline's text (greedy decoding of the same prompts: the goal is 0).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

HELD_OUT_SEED = 424_242


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default="models/onethinker-nano")
    ap.add_argument("--rows", type=int, default=48)
    ap.add_argument("--batch", type=int, nargs="+", default=[4, 8, 16])
    ap.add_argument("--max-new-tokens", type=int, default=288)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()

    import torch

    from onethinker.engine import SamplingParams, TransformersBackend
    from onethinker.eval.rows import check_row
    from onethinker.eval.runner import build_request
    from onethinker.tasks import DEFAULT_TEMPLATES
    from train.synthetic import GENERATORS
    from train.synthetic.write import SplitSpec, write_split

    torch.set_num_threads(a.threads)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        write_split(folder, SplitSpec("bench", a.rows, HELD_OUT_SEED), mix={g: 1.0 for g in GENERATORS})
        rows = json.loads((folder / "eval.json").read_text(encoding="utf-8"))
        sampling = SamplingParams(max_new_tokens=a.max_new_tokens)
        requests = [build_request(r, check_row(r), folder, sampling, DEFAULT_TEMPLATES) for r in rows]
        backend = TransformersBackend(a.model)
        backend.generate(requests[0])  # load and warm up

        t0 = time.perf_counter()
        alone = [backend.generate(r) for r in requests]
        base = time.perf_counter() - t0
        tokens = sum(c.completion_tokens or 0 for c in alone)
        kinds = sorted({r["data_type"] for r in rows})
        print(f"model {a.model}: {len(rows)} rows ({', '.join(kinds)}), {tokens} answer tokens, "
              f"{a.threads} torch threads")
        print(f"  one at a time (baseline): {base:6.1f} s  {len(rows) / base:5.2f} rows/s")
        for size in a.batch:
            t0 = time.perf_counter()
            together = backend.generate_many(requests, batch_size=size)
            took = time.perf_counter() - t0
            differ = sum(not hasattr(t, "text") or t.text != c.text for t, c in zip(together, alone))
            print(f"  batches of {size:2d}:            {took:6.1f} s  {len(rows) / took:5.2f} rows/s  "
                  f"{base / took:4.1f}× the baseline  answers differing: {differ}")


if __name__ == "__main__":
    main()
