"""``python -m train.synthetic``: write the synthetic splits (see ``--help``)."""

from __future__ import annotations

import argparse
import json
import sys


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m train.synthetic",
                                description="Write synthetic shape scenes (images and videos) with exact answers "
                                            "in the SFT (sharegpt), RL and evaluation formats.")
    p.add_argument("--out", required=True, help="output folder; one sub-folder per split")
    p.add_argument("--seed", type=int, default=0, help="base seed; the splits use independent seeds drawn from it")
    p.add_argument("--train", type=int, default=2000, help="training samples (default 2000)")
    p.add_argument("--validation", type=int, default=200, help="validation samples (default 200)")
    p.add_argument("--test", type=int, default=200, help="held-out test samples (default 200)")
    p.add_argument("--mix", help='JSON object of task weights, e.g. \'{"spatial": 2, "temporal": 1}\'')
    p.add_argument("--templates", help="prompt-template file (JSON/YAML) used to write the prompts")
    p.add_argument("--workers", type=int, default=1,
                   help="processes that draw and write samples (default 1); the files are the same for any number")
    args = p.parse_args(argv)

    from train.synthetic.write import generate
    from onethinker.tasks import DEFAULT_TEMPLATES, load_prompt_templates

    try:
        mix = json.loads(args.mix) if args.mix else None
        templates = load_prompt_templates(args.templates) if args.templates else DEFAULT_TEMPLATES
        sizes = {k: v for k, v in (("train", args.train), ("validation", args.validation), ("test", args.test)) if v}

        def progress(split: str, done: int, total: int) -> None:
            if done == total or done % 50 == 0:
                print(f"\r{split}: {done}/{total}", end="\n" if done == total else "", file=sys.stderr, flush=True)

        metas = generate(args.out, args.seed, sizes, mix=mix, templates=templates, progress=progress,
                         workers=args.workers)
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(json.dumps(metas, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
