"""Preference rows (our feedback store's ``dpo`` export, TRL's conversational preference format) → DPO rows.

The export (``onethinker/feedback/exports/rows.py``) writes ``prompt`` as one user message whose content is
``{"type": "image"}`` / ``{"type": "video"}`` placeholders followed by ``{"type": "text", "text": <exact prompt>}``,
``chosen`` / ``rejected`` as one assistant message each, and the media as ``images`` / ``videos`` lists of
paths relative to the export folder — TRL's layout, where the n-th image block takes the n-th image.  Here
each placeholder gets its file's absolute path (``{"type": "image", "image": <abs path>}``), in order, so the
collator can load it with the engine's preprocessing; ``<image>`` / ``<video>`` markers in plain-text
content are turned into blocks the same way.  Blocks must match the media one to one.

Each row of the dataset: ``prompt``, ``chosen``, ``rejected`` (every ``content`` a list of typed blocks),
``images`` and ``videos`` (absolute paths, for reference).
"""

from __future__ import annotations

from itertools import repeat
from pathlib import Path
from typing import Iterator

from train.data.common import (
    MARKERS, Row, data_files, media_list, read_rows, split_markers, to_dataset,
)

DPO_FILES = ("dpo.json",)


def load_dpo(path_or_paths, media_root=None):
    """DPO rows of one or more JSON / JSONL files (or export folders) as a ``datasets.Dataset``."""
    root = Path(media_root) if media_root is not None else None
    rows = [dpo_row(r, root) for r in read_rows(data_files(path_or_paths, DPO_FILES))]
    return to_dataset(rows, ("prompt", "chosen", "rejected"))


def dpo_row(row: Row, media_root: Path | None) -> dict:
    d = row.data
    media = {"image": media_list(row, "images", "image", media_root),
             "video": media_list(row, "videos", "video", media_root)}
    supply = {k: iter(v) for k, v in media.items()}
    used = {"image": 0, "video": 0}
    out = {"images": media["image"], "videos": media["video"]}
    for key in ("prompt", "chosen", "rejected"):
        conv = d.get(key)
        if isinstance(conv, str) and key != "prompt":  # TRL's implicit-prompt text completions
            conv = [{"role": "assistant", "content": conv}]
        if not isinstance(conv, list) or not conv or not all(isinstance(m, dict) and "role" in m for m in conv):
            raise row.fail(f"'{key}' must be a non-empty list of messages with 'role' and 'content'")
        out[key] = [{"role": m["role"], "content": _blocks(row, key, m.get("content"), supply, used)} for m in conv]
    for kind, paths in media.items():
        if used[kind] != len(paths):
            raise row.fail(f"{used[kind]} {kind} block(s) or {MARKERS[kind]} marker(s) but {len(paths)} {kind}(s) "
                           f"in '{kind}s'")
    if out["chosen"] == out["rejected"]:
        raise row.fail("'chosen' and 'rejected' are the same; a preference pair needs two different answers")
    return out


def _blocks(row: Row, key: str, content, supply: dict[str, Iterator[str]], used: dict[str, int]) -> list[dict]:
    if isinstance(content, str):
        content = split_markers(content, {k: repeat({"type": k}) for k in ("image", "video")})
    if not isinstance(content, list):
        raise row.fail(f"'{key}' content must be text or a list of typed blocks")
    out = []
    for block in content:
        kind = block.get("type") if isinstance(block, dict) else None
        if kind in ("image", "video"):
            path = next(supply[kind], None)
            used[kind] += 1
            if path is None:
                continue  # counted; the mismatch is reported once all blocks are seen
            out.append({"type": kind, kind: path})
        elif kind == "text" and isinstance(block.get("text"), str):
            out.append({"type": "text", "text": block["text"]})
        else:
            raise row.fail(f"'{key}' has a content block that is not text, image or video: {block!r}")
    return out
