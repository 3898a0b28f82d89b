"""Resumable stages: each has a key (a hash of what it reads), an output, and a line in ``stages.json``.

A stage is skipped when ``stages.json`` records the same key for it and its output still exists; otherwise it
runs (its old output is replaced) and every stage after it that reads its output gets a new key too, because
keys chain.  ``stages.json`` also keeps each stage's wall time, which the report prints.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

log = logging.getLogger("train.nano")

STATE_FILE = "stages.json"


def digest(*parts: Any) -> str:
    h = hashlib.sha256()
    for p in parts:
        h.update(p if isinstance(p, bytes) else json.dumps(p, sort_keys=True, default=str).encode())
        h.update(b"\0")
    return h.hexdigest()[:16]


def file_digest(path: "str | os.PathLike") -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]


@dataclass
class Stage:
    name: str
    key: str
    output: Path  # exists once the stage is done
    run: Callable[[], Any]
    title: str = ""


class StageState:
    """``<run>/stages.json``, rewritten atomically after each stage."""

    def __init__(self, folder: Path):
        self.path = folder / STATE_FILE
        try:
            self.data: dict[str, dict] = json.loads(self.path.read_text(encoding="utf-8")) if self.path.is_file() else {}
        except json.JSONDecodeError:
            log.warning("%s is damaged; every stage will run again", self.path)
            self.data = {}

    def done(self, stage: Stage) -> bool:
        return self.data.get(stage.name, {}).get("key") == stage.key and stage.output.exists()

    def record(self, stage: Stage, seconds: float, info: Any = None) -> None:
        self.data[stage.name] = {"key": stage.key, "output": str(stage.output), "seconds": round(seconds, 1),
                                 "finished": time.strftime("%Y-%m-%dT%H:%M:%S"), "info": info}
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        os.replace(tmp, self.path)

    def seconds(self, name: str) -> float | None:
        return self.data.get(name, {}).get("seconds")


def run_stages(stages: list[Stage], state: StageState, *, force: bool = False, bar=None) -> list[str]:
    """Run the stages in order, skipping finished ones; returns the names that ran."""
    ran = []
    for st in stages:
        if bar is not None:
            bar.set_description(f"nano: {st.title or st.name}")
        if not force and state.done(st):
            log.info("stage %s: unchanged (key %s), keeping %s", st.name, st.key, st.output)
        else:
            log.info("stage %s: running (key %s) → %s", st.name, st.key, st.output)
            t0 = time.perf_counter()
            info = st.run()
            dt = time.perf_counter() - t0
            state.record(st, dt, info)
            log.info("stage %s: done in %.1f s", st.name, dt)
            ran.append(st.name)
        if bar is not None:
            bar.update(1)
    return ran
