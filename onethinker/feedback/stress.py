"""Concurrent-writer stress run, shared by the reliability test and the benchmark.

``python -m onethinker.feedback.stress --db /tmp/stress.db --procs 8 --writes 1000`` starts the
writer processes together (a barrier), each storing its records one transaction at a time, then
checks that exactly ``procs × writes`` rows are there, all readable, and the database is intact.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import sqlite3
import sys
import time
from dataclasses import replace
from pathlib import Path

from onethinker.answer import parse
from onethinker.feedback.record import MediaRef, Record, Vote
from onethinker.feedback.store import FeedbackStore
from onethinker.tasks import build_prompt

# A real 1×1 PNG (what PIL writes for one (200, 30, 30) pixel): the store decodes every image it keeps.
PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010802000000907753de0000000c49444154789c6338"
                    "2127070002b6010534a675aa0000000049454e44ae426082")


def sample_record(media: MediaRef, i: int, worker: int = 0, vote: int = 1) -> Record:
    """A valid spatial-grounding vote; ``i`` and ``worker`` vary the answer so rows are distinct."""
    x = i % 900
    out = f'<think>worker {worker} looks at item {i}.</think><answer>{{"boxes": [{x}, 10, {x + 50}, 500]}}</answer>'
    question = f"Where is object {i % 97}?"
    return Record(
        task="spatial grounding", data_type="image", question=question,
        prompt=build_prompt("spatial grounding", question), outputs=(out,),
        answers=(parse(out, "spatial grounding", data_type="image"),), feedback=Vote(vote),
        media=(media,), model_id="OneThinker/OneThinker-8B", model_revision="main", backend="stress",
        sampling={"temperature": 0.7},
    )


def _writer(db: str, media: MediaRef, worker: int, writes: int, barrier: "mp.synchronize.Barrier") -> None:
    store = FeedbackStore(db)
    records = [replace(sample_record(media, i, worker), uid=f"w{worker}-{i}") for i in range(writes)]
    barrier.wait()
    for r in records:
        store.add(r)
    store.close()


def run_writers(db: str | Path, procs: int, writes: int) -> float:
    """Start ``procs`` writer processes at once, ``writes`` single-record transactions each; returns seconds."""
    store = FeedbackStore(db)
    media = store.put_media(PNG, "image")
    store.close()
    ctx = mp.get_context("spawn")  # no inherited locks or connections, same on every platform
    barrier = ctx.Barrier(procs + 1)
    workers = [ctx.Process(target=_writer, args=(str(db), media, w, writes, barrier)) for w in range(procs)]
    for p in workers:
        p.start()
    barrier.wait()
    started = time.perf_counter()
    for p in workers:
        p.join()
    elapsed = time.perf_counter() - started
    failed = [p.exitcode for p in workers if p.exitcode != 0]
    if failed:
        raise RuntimeError(f"{len(failed)} writer processes failed (exit codes {failed})")
    return elapsed


def check(db: str | Path) -> tuple[int, str]:
    """(rows readable through the store, SQLite's integrity_check verdict)."""
    with FeedbackStore(db) as store:
        readable = sum(1 for _ in store.records())
    conn = sqlite3.connect(db)
    try:
        verdict = conn.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        conn.close()
    return readable, verdict


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m onethinker.feedback.stress", description=__doc__.splitlines()[0])
    p.add_argument("--db", required=True, type=Path, help="a new SQLite file to create (refused if it exists)")
    p.add_argument("--procs", type=int, default=8, help="writer processes started together (default 8)")
    p.add_argument("--writes", type=int, default=1000, help="single-record transactions per process (default 1000)")
    a = p.parse_args(argv)
    if a.db.exists():
        print(f"error: {a.db} exists; the stress run needs a new database", file=sys.stderr)
        return 2
    seconds = run_writers(a.db, a.procs, a.writes)
    rows, verdict = check(a.db)
    total = a.procs * a.writes
    print(f"{a.procs} writers x {a.writes}: {total / seconds:,.0f} rows/s; {rows} rows readable "
          f"(expected {total}); integrity_check: {verdict}")
    return 0 if rows == total and verdict == "ok" else 1


if __name__ == "__main__":
    sys.exit(main())
