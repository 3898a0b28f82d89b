"""The feedback store: SQLite in WAL mode, safe for many threads and processes at once.

Why it is shaped like this:

* WAL lets readers (exports, the admin panel) run while writers write, and each commit is a small
  append to the log, which is what makes thousands of single-record transactions a second possible.
* Every write is one ``BEGIN IMMEDIATE`` transaction: the write lock is taken up front, so two writers
  never deadlock upgrading read locks (a case SQLite's busy handler cannot resolve).  Waiting for the
  lock is SQLite's busy timeout; if even that runs out, the whole transaction is retried with
  back-off.  Records carry a ``uid`` and inserts ignore a uid already present, so a retry after an
  ambiguous failure can never store a record twice.
* Records are validated before the transaction starts: a refused record writes nothing.
* ``synchronous=NORMAL`` (default) survives any process crash, SIGKILL included; pass
  ``synchronous="FULL"`` to also survive power loss, at some cost in speed.
* One connection per thread (and per process: a connection inherited across ``fork`` is never reused).

Supported: SQLite ≥ 3.24 (tested with 3.40) through the standard library ``sqlite3`` module, on a local
disk.  WAL does not work on network file systems; the store refuses to open there.
"""

from __future__ import annotations

import hashlib
import os
import random
import sqlite3
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, TypeVar

from onethinker.feedback import codec, schema
from onethinker.feedback.media import MAX_IMAGE_BYTES, MAX_VIDEO_BYTES, MediaStore, Source
from onethinker.feedback.record import MediaRef, Record
from onethinker.feedback.validate import validate

T = TypeVar("T")

_INSERT = (f"INSERT INTO records ({', '.join(codec.COLUMNS)}) VALUES ({', '.join('?' * len(codec.COLUMNS))}) "
           "ON CONFLICT (uid) DO NOTHING")
_SELECT = f"SELECT id, {', '.join(codec.COLUMNS)} FROM records"


def is_busy(e: BaseException) -> bool:
    """SQLITE_BUSY / SQLITE_LOCKED: another connection holds the lock; worth retrying."""
    if not isinstance(e, sqlite3.OperationalError):
        return False
    code = getattr(e, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in (5, 6)
    msg = str(e).lower()
    return "locked" in msg or "busy" in msg


class FeedbackStore:
    """Append-only store of :class:`Record` s with content-addressed media next to the database.

    ``max_image_bytes`` / ``max_video_bytes`` cap what :meth:`put_media` accepts (see
    :mod:`onethinker.feedback.media`).
    """

    def __init__(self, path: str | os.PathLike, *, media_dir: str | os.PathLike | None = None,
                 timeout_s: float = 30.0, synchronous: str = "NORMAL", retries: int = 20,
                 max_image_bytes: int = MAX_IMAGE_BYTES, max_video_bytes: int = MAX_VIDEO_BYTES) -> None:
        if synchronous.upper() not in ("NORMAL", "FULL", "EXTRA"):
            raise ValueError("synchronous must be NORMAL, FULL or EXTRA")
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.media = MediaStore(media_dir if media_dir is not None else self.path.parent / "media",
                                max_image_bytes=max_image_bytes, max_video_bytes=max_video_bytes)
        self.timeout_s = timeout_s
        self.synchronous = synchronous.upper()
        self.retries = retries
        self._local = threading.local()
        self._conns: list[tuple[int, sqlite3.Connection]] = []
        self._conns_lock = threading.Lock()
        conn = self._conn()
        self.found_version = self._retrying(lambda: schema.migrate(conn))
        self._salt = conn.execute("SELECT value FROM meta WHERE key = 'session_salt'").fetchone()[0]

    # -- connections ---------------------------------------------------------------------------
    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=self.timeout_s, isolation_level=None, check_same_thread=False)
        conn.execute(f"PRAGMA busy_timeout = {int(self.timeout_s * 1000)}")
        mode = self._retrying(lambda: conn.execute("PRAGMA journal_mode = WAL").fetchone()[0])
        if str(mode).lower() != "wal":
            conn.close()
            raise sqlite3.OperationalError(f"cannot use WAL journaling on {self.path} (got {mode!r}); "
                                           "put the database on a local disk")
        conn.execute(f"PRAGMA synchronous = {self.synchronous}")
        return conn

    def _conn(self) -> sqlite3.Connection:
        local = self._local
        if getattr(local, "pid", None) != os.getpid():
            local.conn, local.pid = self._connect(), os.getpid()
            with self._conns_lock:
                self._conns.append((local.pid, local.conn))
        return local.conn

    def _retrying(self, fn: Callable[[], T]) -> T:
        """Run ``fn``, retrying with jittered exponential back-off while the database is busy."""
        for attempt in range(self.retries + 1):
            try:
                return fn()
            except sqlite3.OperationalError as e:
                if not is_busy(e) or attempt == self.retries:
                    raise
                time.sleep(min(0.5, 0.002 * 2 ** attempt) * (0.5 + random.random()))
        raise AssertionError("unreachable")

    def close(self) -> None:
        """Close this process's connections (never those inherited from a parent across ``fork``)."""
        with self._conns_lock:
            for pid, c in self._conns:
                if pid == os.getpid():
                    try:
                        c.close()
                    except sqlite3.Error:
                        pass
            self._conns.clear()
        self._local = threading.local()

    def __enter__(self) -> "FeedbackStore":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # -- writing -------------------------------------------------------------------------------
    def put_media(self, source: Source, kind: str) -> MediaRef:
        """Store an image or video (bytes, a path or a binary file) once; returns its reference.

        Only a regular file within the size limit whose content decodes is stored; anything else raises
        ``FeedbackError("media", …)`` and leaves nothing behind.
        """
        return self.media.put(source, kind)

    def hash_session(self, raw_id: str) -> str:
        """The value for ``Record.session``: a salted sha256, so raw session or user ids are never stored."""
        return hashlib.sha256(f"{self._salt}\0{raw_id}".encode("utf-8")).hexdigest()

    def add(self, record: Record) -> int:
        """Validate and store one record in one transaction; returns its id (the existing id for a known uid)."""
        return self.add_many([record])[0]

    def add_many(self, records: Iterable[Record]) -> list[int]:
        """Validate all, then store all in one transaction: all are written or none."""
        rows = [self._row(r) for r in records]

        def write() -> list[int]:
            with self._transaction() as conn:
                return [_insert(conn, row, media) for row, media in rows]

        return self._retrying(write)

    @contextmanager
    def transaction(self) -> Iterator["Writer"]:
        """Several writes as one transaction: ``with store.transaction() as tx: tx.add(a); tx.add(b)``.

        Not retried automatically (the block may have side effects); it waits up to ``timeout_s`` for the lock.
        """
        with self._transaction() as conn:
            yield Writer(self, conn)

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        conn = self._conn()
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    def _row(self, record: Record) -> tuple[tuple[Any, ...], list[MediaRef]]:
        task = validate(record, self.media)
        return codec.encode(record, task), list(record.media)

    # -- reading -------------------------------------------------------------------------------
    def count(self, kind: str | None = None) -> int:
        conn = self._conn()
        if kind is None:
            return conn.execute("SELECT count(*) FROM records").fetchone()[0]
        return conn.execute("SELECT count(*) FROM records WHERE kind = ?", (kind,)).fetchone()[0]

    def revision(self) -> int:
        """The highest record id: records are append-only, so equal revisions mean equal contents."""
        return self._conn().execute("SELECT coalesce(max(id), 0) FROM records").fetchone()[0]

    def schema_version(self) -> int:
        return schema.version(self._conn())

    def get(self, uid: str) -> Record | None:
        row = self._conn().execute(f"{_SELECT} WHERE uid = ?", (uid,)).fetchone()
        return None if row is None else codec.decode(row[0], row[1:])

    def records(self, kind: str | None = None, until: int | None = None, batch: int = 2000) -> Iterator[Record]:
        """Records in id order, from one consistent snapshot (writers may go on meanwhile).

        ``until``: only ids up to this :meth:`revision`, so several passes see the same records.
        """
        kinds = None if kind is None else (kind,)
        for row in self._scan(("id", *codec.COLUMNS), kinds, until, batch):
            yield codec.decode(row[0], row[1:])

    def items(self, kinds: tuple[str, ...] | None = None, until: int | None = None) -> Iterator[codec.Item]:
        """Like :meth:`records`, as the light :class:`~onethinker.feedback.codec.Item` view exports use."""
        for row in self._scan(codec.ITEM_COLUMNS, kinds, until):
            yield codec.Item(row)

    def _scan(self, columns: tuple[str, ...], kinds: tuple[str, ...] | None, until: int | None,
              batch: int = 2000) -> Iterator[tuple[Any, ...]]:
        """Rows in id order from one read transaction on a connection of its own."""
        conn = self._connect()
        try:
            conn.execute("BEGIN")
            where, args = "WHERE id <= ?", [until if until is not None else 2**63 - 1]
            if kinds is not None:
                where += f" AND kind IN ({', '.join('?' * len(kinds))})"
                args += list(kinds)
            cur = conn.execute(f"SELECT {', '.join(columns)} FROM records {where} ORDER BY id", args)
            while rows := cur.fetchmany(batch):
                yield from rows
        finally:
            conn.close()


class Writer:
    """Handle for writes inside :meth:`FeedbackStore.transaction`."""

    def __init__(self, store: FeedbackStore, conn: sqlite3.Connection) -> None:
        self._store, self._conn = store, conn

    def add(self, record: Record) -> int:
        row, media = self._store._row(record)
        return _insert(self._conn, row, media)


def _insert(conn: sqlite3.Connection, row: tuple[Any, ...], media: list[MediaRef]) -> int:
    cur = conn.execute(_INSERT, row)
    if cur.rowcount == 1:
        rid = cur.lastrowid
    else:  # the uid is already stored: this is a retry of a write that did commit
        rid = conn.execute("SELECT id FROM records WHERE uid = ?", (row[0],)).fetchone()[0]
    if media:
        conn.executemany("INSERT OR IGNORE INTO media (sha256, kind, ext, created) VALUES (?, ?, ?, ?)",
                         [(m.sha256, m.kind, m.ext, row[1]) for m in media])
    return rid

