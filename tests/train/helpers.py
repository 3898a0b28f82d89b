"""Small builders for training tests: JSON data files written the way people and our exports write them."""

from __future__ import annotations

import json
from pathlib import Path


def write_json(path: Path, rows: list[dict], jsonl: bool = False) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if jsonl:
        path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    else:
        path.write_text(json.dumps(rows, indent=1), encoding="utf-8")
    return path


def text_of(content: list[dict]) -> str:
    return "".join(b["text"] for b in content if b["type"] == "text")


def kinds(content: list[dict]) -> list[str]:
    return [b["type"] for b in content]
