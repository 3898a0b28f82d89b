"""Exports: the feedback store → training and evaluation data folders (``sft``, ``rl``, ``dpo``, ``eval``, ``hf``).

``export(db, fmt, out)`` is what both the CLI and the app's admin panel call.  An export folder holds

* ``sft.json`` + ``dataset_info.json`` (LLaMA-Factory), ``rl.json`` (OneThinker RL), ``dpo.json`` (TRL)
  or ``eval.json`` (OneThinker evaluation): a JSON list, one row per line; or, for ``hf``, a
  ``datasets.DatasetDict`` with splits ``sft``, ``rl``, ``dpo``, ``eval``;
* ``media/``: every image and video the rows use, named by content hash, linked or copied from the store;
  row paths are relative to the export folder (give the folder as the consumer's media root);
* ``export.json``: what was written (format, row counts, duplicates dropped, items left out and why).

Exports are deterministic (the same database gives byte-identical JSON files), deduplicated (a row
equal to an earlier one, i.e. same prompt, media and answer, is written once) and atomic (see
:mod:`.staging`).  Row shapes and what each format leaves out: :mod:`.rows`.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from onethinker.feedback.exports.rows import KINDS, NUMBERED, Built, Rows
from onethinker.feedback.exports.staging import MANIFEST, ExportError, staged_folder
from onethinker.feedback.record import MediaRef
from onethinker.feedback.schema import SCHEMA_VERSION
from onethinker.feedback.store import FeedbackStore

FORMATS = ("sft", "rl", "dpo", "eval", "hf")
HF_SPLITS = ("sft", "rl", "dpo", "eval")
DATASET_NAME = "onethinker_feedback"

# LLaMA-Factory's dataset_info.json entry for sharegpt-style rows with images and videos.
SHAREGPT_INFO = {
    "formatting": "sharegpt",
    "columns": {"messages": "messages", "images": "images", "videos": "videos"},
    "tags": {"role_tag": "role", "content_tag": "content", "user_tag": "user", "assistant_tag": "assistant"},
}


@dataclass(frozen=True)
class ExportOptions:
    """``link_media``: hard-link media into the export when possible (else copy)."""

    link_media: bool = True


@dataclass(frozen=True)
class ExportResult:
    out: Path
    format: str
    rows: dict[str, int]  # per file / split
    duplicates: dict[str, int]
    media: int
    left_out: dict[str, dict[str, int]] = field(default_factory=dict)  # per file / split: {reason: items}
    seconds: float = field(compare=False, default=0.0)


def export(db: "str | os.PathLike | FeedbackStore", fmt: str, out: "str | os.PathLike",
           options: ExportOptions = ExportOptions()) -> ExportResult:
    """Write the ``fmt`` export of ``db`` to the folder ``out``, replacing a previous export there atomically.

    Raises ``ValueError`` for an unknown format and :class:`ExportError` when the export cannot be
    written (the previous export is then untouched).
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}; choose one of {', '.join(FORMATS)}")
    if not isinstance(db, FeedbackStore) and not Path(db).is_file():
        raise ExportError(f"no feedback database at {db}")
    started = time.perf_counter()
    store = db if isinstance(db, FeedbackStore) else FeedbackStore(db)
    try:
        until = store.revision()  # records are append-only: this pins the snapshot the export shows
        splits = HF_SPLITS if fmt == "hf" else (fmt,)
        built = _build(store, splits, until)
        used = {name: ref for split in built.values() for name, ref in split.media.items()}
        with staged_folder(out) as tmp:
            _place_media(store, used.values(), tmp / "media", options.link_media)
            _write_rows(tmp, fmt, built)
            manifest = {"format": fmt, "rows": {n: len(b.lines) for n, b in built.items()},
                        "duplicates_dropped": {n: b.duplicates for n, b in built.items()},
                        "left_out": {n: dict(sorted(b.left_out.items())) for n, b in built.items()},
                        "media": len(used), "schema_version": SCHEMA_VERSION, "db_revision": until}
            (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    finally:
        if store is not db:
            store.close()
    return ExportResult(Path(out), fmt, manifest["rows"], manifest["duplicates_dropped"], len(used),
                        manifest["left_out"], time.perf_counter() - started)


def _write_rows(folder: Path, fmt: str, built: dict[str, "_Split"]) -> None:
    if fmt == "hf":
        from onethinker.feedback.exports.hf import save_dataset_dict

        save_dataset_dict({name: split.lines for name, split in built.items()}, folder)
        return
    _write_json_list(folder / f"{fmt}.json", built[fmt].lines)
    if fmt == "sft":
        info = {DATASET_NAME: {"file_name": "sft.json", **SHAREGPT_INFO}}
        (folder / "dataset_info.json").write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")


_ENCODER = json.JSONEncoder(ensure_ascii=False, allow_nan=False)  # one encoder: json.dumps(…, **kw) builds one per call


class _Split:
    """One file's rows as JSON lines, exact repeats dropped, the media they use, and what was left out."""

    def __init__(self, numbered: bool) -> None:
        self.lines: list[str] = []
        self.duplicates = 0
        self.left_out: Counter[str] = Counter()
        self.media: dict[str, MediaRef] = {}
        self._numbered = numbered
        self._seen: set[str] = set()

    def take(self, built: "Built | str | None") -> None:
        """A row from a builder, or the reason an item was left out (None: nothing for this format)."""
        if built is None:
            return
        if isinstance(built, str):
            self.left_out[built] += 1
            return
        row, media = built
        line = _ENCODER.encode(row)
        if line in self._seen:
            self.duplicates += 1
            return
        self._seen.add(line)
        if self._numbered:  # numbered after the duplicate check, so a repeat is still a repeat
            line = _ENCODER.encode({"problem_id": len(self.lines) + 1, **row})
        self.lines.append(line)
        for m in media:
            self.media[m.filename] = m


def _build(store: FeedbackStore, splits: tuple[str, ...], until: int) -> dict[str, _Split]:
    """Every split's rows from one pass over one snapshot of the store (records up to ``until``)."""
    builders = {name: Rows(name) for name in splits}
    out = {name: _Split(name in NUMBERED) for name in splits}
    kinds = tuple(sorted({k for name in splits for k in KINDS[name]}))
    for item in store.items(kinds, until):
        for name, builder in builders.items():
            out[name].take(builder.feed(item))
    for name, builder in builders.items():
        for built in builder.rest():
            out[name].take(built)
    return out


def _write_json_list(path: Path, lines: list[str]) -> None:
    """A JSON list with one row per line: valid JSON for LLaMA-Factory and ``datasets``, readable in a diff."""
    with open(path, "w", encoding="utf-8") as f:
        f.write("[\n" + ",\n".join(lines) + ("\n]\n" if lines else "]\n"))


def _place_media(store: FeedbackStore, refs: Iterable[MediaRef], folder: Path, link: bool) -> None:
    folder.mkdir()
    for ref in sorted(refs, key=lambda m: m.filename):
        src = store.media.path(ref)
        dst = folder / ref.filename
        if not src.is_file():
            raise ExportError(f"media {ref.filename} is referenced by a record but missing from {store.media.root}")
        if link:
            try:
                os.link(src, dst)
                continue
            except OSError:
                pass  # another file system, or links not allowed: copy instead
        shutil.copyfile(src, dst)


__all__ = ["export", "ExportOptions", "ExportResult", "ExportError", "FORMATS", "HF_SPLITS"]
