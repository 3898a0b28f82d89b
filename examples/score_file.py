"""Score a JSONL file of model responses with the OneThinker reward and print a per-task table.

    python examples/score_file.py examples/sample_responses.jsonl

Each line needs ``response``, ``ground_truth``, ``problem_type`` and ``data_type`` (the EasyR1
reward-input keys).  Lines that are not valid JSON are reported and skipped.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from onethinker.answer import parse  # noqa: E402
from onethinker.rewards import score  # noqa: E402


def main(path: str) -> int:
    totals: dict[str, list[float]] = defaultdict(list)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        print(f"error: cannot read {path}: {getattr(e, 'strerror', None) or e}", file=sys.stderr)
        return 2
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except ValueError as e:
            print(f"line {n}: skipped, not JSON ({e})", file=sys.stderr)
            continue
        s = score(item.get("response"), item.get("ground_truth"), item.get("problem_type") or "",
                  item.get("data_type"))
        if s.error:
            print(f"line {n}: {s.error}", file=sys.stderr)
        shown = parse(item.get("response") or "", item.get("problem_type") or "", data_type=item.get("data_type"))
        note = f"  [{'; '.join(shown.warnings)}]" if shown.warnings else ""
        print(f"{n:>3} {shown.task:<28} overall {s.overall:.3f}  acc {s.accuracy:.3f}{note}")
        totals[shown.task].append(s.overall)
    print("\nmean overall per task")
    for task, vals in sorted(totals.items()):
        print(f"  {task:<28} {sum(vals) / len(vals):.3f}  ({len(vals)})")
    return 0


if __name__ == "__main__":
    summary, _, details = __doc__.partition("\n\n")
    ap = argparse.ArgumentParser(description=summary, epilog=details.partition("\n\n")[2],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("responses", help="a JSONL file of model responses, e.g. examples/sample_responses.jsonl")
    sys.exit(main(ap.parse_args().responses))
