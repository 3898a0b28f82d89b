"""The database schema and its migrations.

The schema version lives in SQLite's ``PRAGMA user_version``.  :data:`MIGRATIONS` is the whole
history: step *n* takes a database from version *n* to *n + 1*, so a fresh database and a year-old
one run the same code to reach :data:`SCHEMA_VERSION`.  :func:`migrate` runs the missing steps and
bumps the version inside one ``BEGIN IMMEDIATE`` transaction, so two processes opening an old
database at once cannot both migrate it, and a crash mid-migration leaves the old version intact.
Never edit a released step; append a new one.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
from typing import Callable

from onethinker.feedback.record import prompt_key

_V1 = """
CREATE TABLE records (
    id             INTEGER PRIMARY KEY,
    uid            TEXT NOT NULL UNIQUE,
    created        TEXT NOT NULL,
    session        TEXT NOT NULL,
    model_id       TEXT NOT NULL,
    model_revision TEXT NOT NULL,
    backend        TEXT NOT NULL,
    task           TEXT NOT NULL,
    data_type      TEXT NOT NULL,
    kind           TEXT NOT NULL CHECK (kind IN ('vote', 'preference', 'correction')),
    prompt         TEXT NOT NULL,
    question       TEXT NOT NULL,
    body           TEXT NOT NULL,   -- JSON: the rest of the record, see onethinker.feedback.codec
    answers        TEXT NOT NULL    -- JSON: the parsed outputs, Answer.to_dict() without "raw"
);
CREATE INDEX records_kind ON records (kind);
CREATE TABLE media (
    sha256  TEXT PRIMARY KEY,
    kind    TEXT NOT NULL,
    ext     TEXT NOT NULL,
    created TEXT NOT NULL
);
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


def _v1(conn: sqlite3.Connection) -> None:
    """The first schema, plus the per-database salt used to hash session ids."""
    _run_script(conn, _V1)
    conn.execute("INSERT INTO meta (key, value) VALUES ('session_salt', ?)", (secrets.token_hex(16),))


def _v2(conn: sqlite3.Connection) -> None:
    """Add ``prompt_key`` (sha256 of prompt + media) so DPO exports can pair up/down votes on the same
    request with an index instead of a scan; existing rows are backfilled."""
    conn.execute("ALTER TABLE records ADD COLUMN prompt_key TEXT NOT NULL DEFAULT ''")
    rows = conn.execute("SELECT id, prompt, body FROM records").fetchall()
    conn.executemany(
        "UPDATE records SET prompt_key = ? WHERE id = ?",
        [(prompt_key(p, [m["sha256"] for m in json.loads(body)["media"]]), i) for i, p, body in rows],
    )
    conn.execute("CREATE INDEX records_prompt_key ON records (prompt_key)")


MIGRATIONS: tuple[Callable[[sqlite3.Connection], None], ...] = (_v1, _v2)
SCHEMA_VERSION = len(MIGRATIONS)


class SchemaError(RuntimeError):
    """The database was written by a newer version of this code (or is not a feedback database)."""


def _run_script(conn: sqlite3.Connection, script: str) -> None:
    """Run ``;``-separated DDL inside the caller's transaction (``executescript`` would commit first)."""
    code = "\n".join(line.split("--", 1)[0] for line in script.splitlines())
    for statement in code.split(";"):
        if statement.strip():
            conn.execute(statement)


def version(conn: sqlite3.Connection) -> int:
    return conn.execute("PRAGMA user_version").fetchone()[0]


def migrate(conn: sqlite3.Connection, target: int = SCHEMA_VERSION) -> int:
    """Bring the database to ``target``; returns the version found before.  ``conn`` is in autocommit mode."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        found = version(conn)
        if found > SCHEMA_VERSION:
            raise SchemaError(f"the feedback database has schema version {found}, newer than this code's "
                              f"{SCHEMA_VERSION}; upgrade onethinker")
        for step in MIGRATIONS[found:target]:
            step(conn)
        if target > found:
            conn.execute(f"PRAGMA user_version = {int(target)}")
        conn.execute("COMMIT")
        return found
    except BaseException:
        conn.execute("ROLLBACK")
        raise
