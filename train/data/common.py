"""What every loader shares: reading JSON rows, resolving media paths, markers → typed blocks, Arrow-safe datasets.

Rows are read with the standard ``json`` module (a JSON list, or JSON Lines), not ``datasets.load_dataset``:
Arrow would unify the rows' types first and turn a bad row into an unreadable cast error; here each row is
checked on its own and every error names the file and the row (0-based, as ``dataset[i]`` counts).

Typed content blocks (``{"type": "image", "image": …}``, ``{"type": "video", "video": …, "fps": …}``,
``{"type": "text", "text": …}``) have different keys, and Arrow stores a list of them as one struct type,
filling each block's missing keys with ``None``.  :func:`to_dataset` therefore returns a dataset viewed
through ``with_transform(drop_none_keys)``, so every block reads back exactly as it was written.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence

IMAGE_MARKER = "<image>"
VIDEO_MARKER = "<video>"
MARKERS = {"image": IMAGE_MARKER, "video": VIDEO_MARKER}
_MARKER_SPLIT = re.compile(f"({re.escape(IMAGE_MARKER)}|{re.escape(VIDEO_MARKER)})")

PathLike = "str | os.PathLike"


class DataError(ValueError):
    """A training file or row cannot be used; the message names the file, the row and what is wrong."""


class Row:
    """One raw row and where it came from (for error messages)."""

    __slots__ = ("data", "file", "index")

    def __init__(self, data: dict, file: Path, index: int):
        self.data, self.file, self.index = data, file, index

    @property
    def where(self) -> str:
        return f"{self.file.name} row {self.index}"

    def fail(self, message: str) -> DataError:
        return DataError(f"{self.where}: {message}")


def data_files(path_or_paths: "PathLike | Sequence[PathLike]", names: Sequence[str]) -> list[Path]:
    """The JSON files to read.  A folder stands for the one file in it named like ``names`` (an export folder)."""
    paths = [path_or_paths] if isinstance(path_or_paths, (str, os.PathLike)) else list(path_or_paths)
    if not paths:
        raise DataError("no data file given")
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            found = [p / n for n in names if (p / n).is_file()]
            if len(found) != 1:
                raise DataError(f"{p} is a folder; expected exactly one of {', '.join(names)} in it "
                                f"(found {len(found)}); pass the JSON file itself")
            p = found[0]
        if not p.is_file():
            raise DataError(f"data file {p} not found")
        out.append(p)
    return out


def read_rows(files: Iterable[Path]) -> Iterator[Row]:
    """Rows of JSON list files (``.json``) or JSON Lines files (``.jsonl``), in order."""
    for f in files:
        text = f.read_text(encoding="utf-8")
        try:
            if f.suffix.lower() == ".jsonl":
                items = [json.loads(line) for line in text.splitlines() if line.strip()]
            else:
                items = json.loads(text)
        except json.JSONDecodeError as e:
            raise DataError(f"{f.name} is not valid JSON ({e})") from None
        if not isinstance(items, list):
            raise DataError(f"{f.name} must hold a JSON list of rows, got {type(items).__name__}")
        for i, item in enumerate(items):
            row = Row(item, f, i)
            if not isinstance(item, dict):
                raise row.fail(f"a row must be a JSON object, got {type(item).__name__}")
            yield row


def resolve_media(row: Row, value: Any, kind: str, media_root: Path | None) -> str:
    """Absolute path of one image / video named in ``row``; relative paths are under ``media_root``
    (default: the data file's folder).  Missing files raise :class:`DataError` naming the row and the path."""
    if not isinstance(value, str) or not value.strip():
        raise row.fail(f"{kind} path must be a non-empty string, got {value!r}")
    p = Path(value).expanduser()
    if not p.is_absolute():
        p = (media_root or row.file.parent) / p
    p = Path(os.path.normpath(p))
    if not p.is_file():
        raise row.fail(f"{kind} {value!r} not found (looked for {p}); check the path or the media root")
    return str(p)


def media_list(row: Row, key: str, kind: str, media_root: Path | None) -> list[str]:
    """``row[key]`` (a path or a list of paths, absent = none) as absolute paths."""
    value = row.data.get(key)
    if value is None or value == "":
        return []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        raise row.fail(f"'{key}' must be a list of {kind} paths, got {type(value).__name__}")
    return [resolve_media(row, v, kind, media_root) for v in value]


def count_markers(text: str) -> dict[str, int]:
    return {kind: text.count(m) for kind, m in MARKERS.items()}


def check_marker_counts(row: Row, texts: Iterable[str], media: dict[str, list], *, allow_unmarked: bool) -> dict[str, int]:
    """Markers per kind across ``texts``; they must match the media (as LLaMA-Factory requires), or be absent
    altogether when ``allow_unmarked`` (the media then go before the text)."""
    counts = {"image": 0, "video": 0}
    for t in texts:
        for kind, n in count_markers(t).items():
            counts[kind] += n
    for kind, n in counts.items():
        have = len(media.get(kind, []))
        if n != have and not (allow_unmarked and n == 0):
            raise row.fail(f"{n} {MARKERS[kind]} marker(s) but {have} {kind}(s); each {kind} needs exactly one "
                           f"{MARKERS[kind]} where it goes in the text")
    return counts


def split_markers(text: str, blocks: dict[str, Iterator[dict]]) -> list[dict]:
    """``text`` as typed blocks: each marker becomes the next block of its kind, in place; empty text is dropped."""
    out: list[dict] = []
    for part in _MARKER_SPLIT.split(text):
        if part == IMAGE_MARKER:
            out.append(next(blocks["image"]))
        elif part == VIDEO_MARKER:
            out.append(next(blocks["video"]))
        elif part:
            out.append({"type": "text", "text": part})
    return out


def drop_none_keys(value: Any) -> Any:
    """Undo Arrow's struct filling: dict keys whose value is None are removed, recursively."""
    if isinstance(value, dict):
        return {k: drop_none_keys(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [drop_none_keys(v) for v in value]
    return value


def _transform(columns: tuple[str, ...]):
    def transform(batch: dict[str, list]) -> dict[str, list]:
        return {k: ([drop_none_keys(v) for v in vals] if k in columns else vals) for k, vals in batch.items()}

    return transform


def to_dataset(rows: list[dict], conversation_columns: Sequence[str]):
    """A ``datasets.Dataset`` of ``rows`` whose conversation columns read back without Arrow's None keys."""
    import datasets

    if not rows:
        raise DataError("no rows to train on (the data files are empty)")
    ds = datasets.Dataset.from_list(rows)
    return ds.with_transform(_transform(tuple(conversation_columns)))
