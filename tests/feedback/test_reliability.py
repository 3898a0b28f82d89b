"""Concurrent processes and killed writers (the reliability checks of the feedback issue)."""

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from onethinker.feedback import FeedbackStore
from onethinker.feedback.stress import PNG, check, run_writers, sample_record

ROOT = Path(__file__).resolve().parents[2]

_CHILD = """
import sys, time
from dataclasses import replace
from onethinker.feedback.store import FeedbackStore
from onethinker.feedback.stress import PNG, sample_record
store = FeedbackStore(sys.argv[1])
media = store.put_media(PNG, "image")
mode = sys.argv[2]
if mode == "hold":
    for i in range(5):
        store.add(replace(sample_record(media, i), uid=f"done-{i}"))
    with store.transaction() as tx:
        tx.add(replace(sample_record(media, 99), uid="in-flight"))
        print("inside", flush=True)
        time.sleep(60)
else:
    i = 0
    while True:
        store.add(replace(sample_record(media, i), uid=f"r{i}"))
        print(f"r{i}", flush=True)
        i += 1
"""


def _child(db, mode):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.Popen([sys.executable, "-c", _CHILD, str(db), mode], stdout=subprocess.PIPE, text=True,
                            env=env, cwd=ROOT)


def _integrity(db):
    conn = sqlite3.connect(db)
    try:
        return conn.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        conn.close()


@pytest.mark.slow
def test_eight_processes_thousand_writes_each(tmp_path):
    db = tmp_path / "stress.db"
    seconds = run_writers(db, procs=8, writes=1000)
    rows, verdict = check(db)
    assert (rows, verdict) == (8000, "ok")
    with FeedbackStore(db) as store:
        uids = {r.uid for r in store.records()}
    assert uids == {f"w{w}-{i}" for w in range(8) for i in range(1000)}
    print(f"8 x 1000 writes: {8000 / seconds:,.0f} rows/s")


def test_sigkill_inside_a_transaction_loses_only_that_record(tmp_path):
    db = tmp_path / "kill.db"
    child = _child(db, "hold")
    assert child.stdout.readline().strip() == "inside"  # the child holds the write lock mid-transaction
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    assert _integrity(db) == "ok"
    started = time.perf_counter()
    with FeedbackStore(db, timeout_s=5) as store:
        assert {r.uid for r in store.records()} == {f"done-{i}" for i in range(5)}
        media = store.put_media(PNG, "image")
        store.add(sample_record(media, 7))  # the dead writer's lock is gone
        assert store.count() == 6
    assert time.perf_counter() - started < 4


def test_sigkill_at_a_random_moment_keeps_every_acknowledged_record(tmp_path):
    db = tmp_path / "stream.db"
    child = _child(db, "stream")
    acknowledged = [child.stdout.readline().strip() for _ in range(40)]
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    acknowledged += [line.strip() for line in child.stdout if line.strip()]
    assert _integrity(db) == "ok"
    with FeedbackStore(db) as store:
        stored = [r.uid for r in store.records()]
    assert set(acknowledged) <= set(stored)
    assert len(stored) - len(acknowledged) <= 1  # at most the record whose commit was not yet acknowledged
    assert len(stored) == len(set(stored))
