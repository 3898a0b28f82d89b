"""Reading evaluation inputs and results files, and writing results so a crash never loses them.

The official ``eval_bench.py`` reads a ``.jsonl`` file as one row per line and anything else as
one JSON document holding a list of rows.  We read both by content rather than by name, and also
accept a results file (``{"results": [...], ...}``, ours or the official scripts') wherever rows
are expected, so files from any source load.

Results are written in the official shape ``{"results": [...], "metrics": {...}, "meta": {...}}``
(UTF-8, two-space indent) to a temporary file in the same folder, flushed to disk and renamed over
the old one: a reader sees either the previous complete file or the new one, never half of it.
"""

from __future__ import annotations

import gc
import os
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson


class EvalFileError(ValueError):
    """A file cannot be used as evaluation input or results; the message names the file and the problem."""


@dataclass
class ResultsFile:
    """The rows of a file and, for a results file, what it said about them (never trusted for metrics)."""

    path: Path | None
    results: list[dict]
    metrics: dict = field(default_factory=dict)  # as stored; callers recompute
    meta: dict = field(default_factory=dict)
    wrapped: bool = False  # the file was {"results": [...]} rather than bare rows


@contextmanager
def gc_paused():
    """Pause the cyclic garbage collector for a bulk job over many rows.

    Loading or scoring tens of thousands of rows creates millions of container objects, and every
    automatic collection re-scans all of them (about 40 % of a 50,000-row load, measured).  These jobs
    make no reference cycles, so reference counting frees everything anyway.
    """
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def _loads(data: bytes, what: str) -> Any:
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as e:
        raise EvalFileError(f"{what} is not valid JSON ({e})") from None


def _jsonl(data: bytes, name: str) -> list:
    rows = []
    for n, line in enumerate(data.splitlines(), 1):
        if line.strip():
            rows.append(_loads(line, f"{name} line {n}"))
    return rows


def parse_rows(data: bytes, name: str = "input") -> ResultsFile:
    """Rows from the bytes of a JSON list, JSONL or a results file, whatever the file is called."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    head = data.lstrip()[:1]
    if not head:
        return ResultsFile(None, [])
    try:
        with gc_paused():
            doc = orjson.loads(data)
    except orjson.JSONDecodeError as e:
        if head != b"{":
            raise EvalFileError(f"{name} is not valid JSON ({e})") from None
        with gc_paused():
            doc = _jsonl(data, name)  # one JSON object per line
    if isinstance(doc, dict) and "results" in doc:
        results, metrics, meta = doc["results"], doc.get("metrics"), doc.get("meta")
        if not isinstance(results, list):
            raise EvalFileError(f"{name}: 'results' must be a list of rows, got {type(results).__name__}")
        out = ResultsFile(None, results, metrics if isinstance(metrics, dict) else {},
                          meta if isinstance(meta, dict) else {}, True)
    elif isinstance(doc, dict):
        out = ResultsFile(None, [doc])  # JSONL of a single row
    elif isinstance(doc, list):
        out = ResultsFile(None, doc)
    else:
        raise EvalFileError(f"{name} must hold a list of rows or a results object, got {type(doc).__name__}")
    bad = next((i for i, r in enumerate(out.results) if not isinstance(r, dict)), None)
    if bad is not None:
        raise EvalFileError(f"{name}: row {bad} is a {type(out.results[bad]).__name__}, not an object")
    return out


def read_rows(path: str | os.PathLike) -> ResultsFile:
    """Rows of an evaluation input or results file; :class:`EvalFileError` names what is wrong."""
    p = Path(path)
    try:
        data = p.read_bytes()
    except FileNotFoundError:
        raise EvalFileError(f"{p}: file not found") from None
    except IsADirectoryError:
        raise EvalFileError(f"{p}: is a folder, not a file") from None
    except OSError as e:
        raise EvalFileError(f"{p}: cannot read ({e.strerror or e})") from None
    out = parse_rows(data, str(p))
    out.path = p
    return out


def dump_results(results: list[dict], metrics: dict, meta: dict) -> bytes:
    """The official results-file shape as UTF-8 JSON (non-finite numbers become null)."""
    return orjson.dumps({"results": results, "metrics": metrics, "meta": meta},
                        option=orjson.OPT_INDENT_2 | orjson.OPT_SERIALIZE_NUMPY)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_FILE_MODE = 0o666 & ~_umask()  # what open() would give a new file


def write_atomic(path: str | os.PathLike, data: bytes) -> None:
    """Replace ``path`` with ``data`` atomically (temporary file in the same folder, fsync, rename)."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp", dir=p.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            os.fchmod(f.fileno(), p.stat().st_mode & 0o777 if p.exists() else _FILE_MODE)
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, p)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    try:
        dfd = os.open(p.parent, os.O_RDONLY)
    except OSError:  # some file systems do not open folders; the rename is still atomic
        return
    try:
        os.fsync(dfd)
    except OSError:
        pass
    finally:
        os.close(dfd)


def write_results(path: str | os.PathLike, results: list[dict], metrics: dict, meta: dict) -> None:
    write_atomic(path, dump_results(results, metrics, meta))
