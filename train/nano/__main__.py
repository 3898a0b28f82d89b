"""``python -m train.nano``: train OneThinker-nano from nothing and report on it (see ``--help``)."""

from __future__ import annotations

import argparse
import os
import sys

DESCRIPTION = """\
Train OneThinker-nano with this repository's own code and measure it with its own runner:
synthetic data -> untrained Qwen3-VL (a few M parameters) -> evaluate -> vision warm-up -> SFT -> evaluate -> EMA-GRPO -> evaluate
-> plain GRPO from the same SFT checkpoint (same steps and seed) -> evaluate -> the feedback loop on the model's
own validation failures -> train/reports/nano.md, the training log, and the checkpoint in models/onethinker-nano.

Stages: data, build, eval-untrained, vision (warm-up), sft, eval-sft, ema-grpo, eval-ema-grpo, grpo, eval-grpo, loop, report.
Every stage is resumable: a rerun skips stages whose output exists and whose inputs (recipe numbers, upstream
outputs) are unchanged. Uses a GPU when one is visible (float32), else the CPU: at most about 90 minutes on 2 cores
(SFT and EMA-GRPO stop at time limits; the numbers are in train/nano/recipe.py).
"""


def main(argv: list[str] | None = None) -> int:
    from train.nano.recipe import RECIPES

    p = argparse.ArgumentParser(prog="python -m train.nano", description=DESCRIPTION,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default="runs/nano", help="run folder: data, checkpoints, results, log (default runs/nano)")
    p.add_argument("--recipe", choices=sorted(RECIPES), default="default",
                   help="'default': the documented run; 'quick': a tiny model on a few samples (smoke test)")
    p.add_argument("--report", default="train/reports/nano.md",
                   help="where the report goes (its training log goes beside it, .log); '' for the run folder only")
    p.add_argument("--publish", default="models/onethinker-nano",
                   help="folder for the final (EMA-GRPO) checkpoint and its model card; '' to skip")
    p.add_argument("--only", nargs="+", metavar="STAGE", help="run just these stages (their inputs must exist)")
    p.add_argument("--force", action="store_true",
                   help="rerun stages even when their inputs are unchanged (rerunning them all starts a fresh log; "
                        "the old one becomes train.log.previous)")
    p.add_argument("--cpu", action="store_true", help="ignore any GPU")
    args = p.parse_args(argv)
    if args.cpu:
        os.environ["CUDA_VISIBLE_DEVICES"] = ""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

    from pathlib import Path

    from train.nano.pipeline import NanoRun, setup_logging

    run = NanoRun(args.out, RECIPES[args.recipe], report=args.report or None, publish=args.publish or None,
                  command="python -m train.nano" + (f" --recipe {args.recipe}" if args.recipe != "default" else ""))
    log_file = Path(args.out) / "train.log"
    if args.force and not args.only and log_file.exists():  # a forced full rerun is a new run: a fresh log
        log_file.replace(log_file.with_suffix(".log.previous"))
    setup_logging(log_file)
    try:
        ran = run.run(force=args.force, only=args.only)
    except (ValueError, RuntimeError) as e:
        print(f"train.nano: {e}", file=sys.stderr)
        return 2
    print(f"train.nano: ran {', '.join(ran) or 'nothing (all stages up to date)'}; run folder {args.out}"
          + (f"; report {args.report}" if args.report else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
