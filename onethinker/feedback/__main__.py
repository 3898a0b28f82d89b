"""Command line: ``python -m onethinker.feedback export --db feedback.db --format sft --out exports/sft``.

``stats --db …`` prints the number of records of each kind and the schema version.  Errors print one
line and exit with status 2; a failed export leaves the previous one in place.
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
from pathlib import Path

from onethinker.feedback.exports import FORMATS, ExportOptions, ExportResult, export
from onethinker.feedback.exports.staging import ExportError
from onethinker.feedback.record import FEEDBACK_KINDS, FeedbackError
from onethinker.feedback.schema import SchemaError
from onethinker.feedback.store import FeedbackStore


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m onethinker.feedback",
                                description="Export training data from the feedback database, or count its records.")
    sub = p.add_subparsers(dest="command", required=True)
    e = sub.add_parser("export", help="write training data from the feedback database")
    e.add_argument("--db", required=True, type=Path, help="the feedback database (SQLite file)")
    e.add_argument("--format", required=True, choices=FORMATS, help="sft (LLaMA-Factory), rl (OneThinker RL "
                   "trainer), dpo (TRL), eval (OneThinker evaluation script) or hf (datasets.DatasetDict with "
                   "all four)")
    e.add_argument("--out", required=True, type=Path, help="export folder; a previous export there is replaced")
    e.add_argument("--copy-media", action="store_true", help="copy media instead of hard-linking them")
    s = sub.add_parser("stats", help="count records by kind")
    s.add_argument("--db", required=True, type=Path, help="the feedback database (SQLite file)")
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if not args.db.is_file():
        print(f"error: no feedback database at {args.db}", file=sys.stderr)
        return 2
    try:
        if args.command == "stats":
            with FeedbackStore(args.db) as store:
                counts = ", ".join(f"{k}: {store.count(k)}" for k in FEEDBACK_KINDS)
                print(f"{args.db}: {store.count()} records ({counts}); schema version {store.schema_version()}")
            return 0
        result = export(args.db, args.format, args.out, ExportOptions(link_media=not args.copy_media))
    except (ExportError, FeedbackError, SchemaError, sqlite3.Error, ValueError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    rows = ", ".join(f"{name}: {n} rows ({result.duplicates[name]} duplicates dropped{_left_out(result, name)})"
                     for name, n in result.rows.items())
    print(f"wrote {result.out} [{result.format}] {rows}; {result.media} media files; {result.seconds:.2f} s")
    return 0


def _left_out(result: ExportResult, split: str) -> str:
    """``; 3 left out: corrections without reasoning`` (nothing when nothing was left out)."""
    reasons = result.left_out.get(split) or {}
    return "".join(f"; {n} left out: {reason}" for reason, n in reasons.items())


if __name__ == "__main__":
    sys.exit(main())
