"""A small checker for LLaMA-Factory sharegpt rows, driven by a dataset_info.json entry.

It applies the rules LLaMA-Factory enforces: messages alternate user and assistant turns (user first,
assistant last) using the entry's role/content tags (sharegpt converter), and the number of
``<image>`` / ``<video>`` / ``<audio>`` substrings over all messages equals the number of images /
videos / audios the row lists (``mm_plugin`` ``_validate_messages``; our rows list no audio).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


def sharegpt_problems(rows: list[dict[str, Any]], entry: dict[str, Any], root: Path) -> list[str]:
    problems: list[str] = []
    if entry.get("formatting") != "sharegpt":
        return ["dataset_info entry is not formatting=sharegpt"]
    cols, tags = entry["columns"], entry["tags"]
    user, assistant = tags["user_tag"], tags["assistant_tag"]
    for i, row in enumerate(rows):
        msgs = row.get(cols["messages"])
        if not isinstance(msgs, list) or len(msgs) < 2 or len(msgs) % 2:
            problems.append(f"row {i}: messages must be an even, non-empty list")
            continue
        for j, m in enumerate(msgs):
            want = user if j % 2 == 0 else assistant
            if m.get(tags["role_tag"]) != want:
                problems.append(f"row {i} message {j}: role {m.get(tags['role_tag'])!r}, expected {want!r}")
            if not isinstance(m.get(tags["content_tag"]), str):
                problems.append(f"row {i} message {j}: content is not text")
        text = "".join(m.get(tags["content_tag"]) or "" for m in msgs)
        for kind in ("images", "videos", "audios"):
            listed = row.get(cols.get(kind, kind)) or []
            marks = text.count(f"<{kind[:-1]}>")
            if marks != len(listed):
                problems.append(f"row {i}: {marks} <{kind[:-1]}> placeholders but {len(listed)} {kind}")
            problems += [f"row {i}: {p} missing" for p in listed if not (root / p).is_file()]
    return problems
