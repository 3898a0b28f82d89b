"""The SQLite store: WAL, idempotent writes, threads, snapshots, session hashing, schema migration."""

import sqlite3
import threading
from dataclasses import replace

import pytest

from onethinker.answer import BoxAnswer
from onethinker.feedback import SCHEMA_VERSION, Correction, FeedbackStore, Preference, SchemaError, Vote
from onethinker.feedback import schema
from onethinker.feedback.record import prompt_key
from onethinker.feedback.codec import COLUMNS

from tests.feedback.helpers import output, record


def test_round_trip_keeps_every_field(store):
    rec = record(store, Correction(BoxAnswer((1, 2, 3, 4)), keep_reasoning=True, comment="tighter"),
                 session=store.hash_session("gradio-session-123"))
    rid = store.add(rec)
    back = store.get(rec.uid)
    assert back == replace(rec, id=rid)
    assert back.answers[0].payload == BoxAnswer((10, 20, 300, 400))
    assert [r.uid for r in store.records()] == [rec.uid]


def test_wal_mode_and_schema_version(store):
    raw = sqlite3.connect(store.path)
    assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert raw.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == store.schema_version()
    raw.close()


def test_retried_write_with_the_same_uid_is_stored_once(store):
    rec = record(store)
    assert store.add(rec) == store.add(rec)
    assert store.count() == 1


def test_session_ids_are_salted_hashes(store, tmp_path):
    h = store.hash_session("alice")
    assert len(h) == 64 and h == store.hash_session("alice") != store.hash_session("bob")
    other = FeedbackStore(tmp_path / "other.db")
    assert other.hash_session("alice") != h  # per-database salt: hashes cannot be joined across databases
    other.close()


def test_threads_share_a_store(store):
    media = record(store).media

    def work(t):
        for i in range(50):
            store.add(record(None, media=media, question=f"thread {t} item {i}"))

    threads = [threading.Thread(target=work, args=(t,)) for t in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert store.count() == 200
    assert len({r.question for r in store.records()}) == 200


def test_records_iterate_from_a_snapshot(store):
    media = record(store).media
    store.add_many([record(None, media=media, question=f"q{i}") for i in range(5)])
    it = store.records(batch=2)
    first = next(it)
    store.add(record(None, media=media, question="late"))
    rest = list(it)
    assert [r.question for r in [first, *rest]] == [f"q{i}" for i in range(5)]
    assert store.count() == 6
    assert [r.question for r in store.records(until=3)] == ["q0", "q1", "q2"]
    assert store.count("vote") == 6 and store.count("preference") == 0


def test_transaction_block_commits_together_or_not_at_all(store):
    media = record(store).media
    with pytest.raises(RuntimeError):
        with store.transaction() as tx:
            tx.add(record(None, media=media, question="a"))
            raise RuntimeError("the app crashed half-way")
    assert store.count() == 0
    with store.transaction() as tx:
        tx.add(record(None, media=media, question="a"))
        tx.add(record(None, media=media, question="b"))
    assert store.count() == 2


def _v1_database(path, rows):
    """A database as version 1 of the code wrote it."""
    conn = sqlite3.connect(path, isolation_level=None)
    schema.migrate(conn, target=1)
    v1_cols = COLUMNS[:-1]  # version 1 had no prompt_key
    conn.executemany(f"INSERT INTO records ({', '.join(v1_cols)}) VALUES ({', '.join('?' * len(v1_cols))})",
                     [r[: len(v1_cols)] for r in rows])
    conn.close()


def test_migration_from_version_1_backfills_prompt_keys(tmp_path, store):
    recs = [record(store), record(store, Vote(-1), outputs=(output("no", '{"boxes": [1, 2, 3, 4]}'),))]
    rows = [store._row(r)[0] for r in recs]
    path = tmp_path / "old.db"
    _v1_database(path, rows)
    old = FeedbackStore(path, media_dir=store.media.root)
    assert old.found_version == 1 and old.schema_version() == SCHEMA_VERSION
    keys = [k for (k,) in sqlite3.connect(path).execute("SELECT prompt_key FROM records ORDER BY id")]
    assert keys == [prompt_key(r.prompt, [m.sha256 for m in r.media]) for r in recs]
    assert [r.uid for r in old.records()] == [r.uid for r in recs]
    old.add(record(old, Preference(0), outputs=(recs[1].outputs[0], recs[0].outputs[0])))
    assert old.count() == 3
    old.close()


def test_newer_schema_is_refused(tmp_path):
    path = tmp_path / "future.db"
    FeedbackStore(path).close()
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.commit()
    conn.close()
    with pytest.raises(SchemaError, match="newer"):
        FeedbackStore(path)


def test_failed_migration_leaves_the_old_version(tmp_path, monkeypatch):
    path = tmp_path / "old.db"
    _v1_database(path, [])

    def broken(conn):
        conn.execute("ALTER TABLE records ADD COLUMN prompt_key TEXT NOT NULL DEFAULT ''")
        raise RuntimeError("power cut")

    monkeypatch.setattr(schema, "MIGRATIONS", (schema.MIGRATIONS[0], broken))
    with pytest.raises(RuntimeError):
        FeedbackStore(path)
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 1
    cols = [c[1] for c in conn.execute("PRAGMA table_info(records)")]
    assert "prompt_key" not in cols
    conn.close()


def test_many_openers_of_a_new_database_create_the_schema_once(tmp_path):
    path = tmp_path / "fresh.db"
    barrier = threading.Barrier(6)
    found, errors = [], []

    def open_it():
        try:
            barrier.wait()
            s = FeedbackStore(path)
            found.append(s.found_version)
            s.close()
        except Exception as e:  # reported below
            errors.append(e)

    threads = [threading.Thread(target=open_it) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(found) == [0] + [SCHEMA_VERSION] * 5  # exactly one opener ran the migrations
