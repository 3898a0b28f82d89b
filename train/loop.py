"""The feedback → retrain loop: export from the store, train, and leave a model the app loads.

    python -m train.loop --db data/feedback.db --base-model OneThink/OneThinker-8B --out runs/feedback
    python -m train.loop ... --stages sft,grpo,dpo --set sft.num_train_epochs=2 --set dpo.beta=0.2

Stages run in the recipe's order, each starting from the model the previous one wrote:

1. ``sft``  — supervised fine-tuning on up-voted answers and corrections (export ``sft``, :mod:`train.sft`);
2. ``grpo`` — EMA-GRPO on the same answers as RL rows (export ``rl``, :mod:`train.grpo`, imported only when
   this stage runs; off by default: it needs generation, i.e. a GPU);
3. ``dpo``  — DPO on preference pairs and up/down-vote pairs (export ``dpo``, :mod:`train.dpo`).

Each stage takes its trainer's YAML (``train/configs/sft.yaml``, ``ema_grpo.yaml``, ``dpo.yaml`` unless
``--<stage>-config`` says otherwise); the loop sets the model, the data and the output folder, and
``--set stage.key=value`` overrides any other field.  A stage whose export has no rows is skipped.

Everything lands under ``--out``: ``exports/<format>/`` (the store's exports), ``<stage>/`` (checkpoints),
``loop.json`` (per stage: what it read, what it wrote, a key) and ``model`` → the last stage's folder, which
``onethinker.engine.TransformersBackend`` (``python app.py --model <out>/model``) loads.  A stage's key hashes
its inputs — the exported rows (media are named by content hash), the model it starts from (the previous
stage's key) and its configuration — so a rerun skips every stage whose inputs are unchanged, and a new
record in the store reruns the stages it reaches.  ``--force`` reruns everything.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import json
import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

from train.model import TrainError

log = logging.getLogger("train.loop")

ORDER = ("sft", "grpo", "dpo")
EXPORT_FORMAT = {"sft": "sft", "grpo": "rl", "dpo": "dpo"}
CONFIGS = Path(__file__).parent / "configs"
DEFAULT_CONFIG = {"sft": CONFIGS / "sft.yaml", "grpo": CONFIGS / "ema_grpo.yaml", "dpo": CONFIGS / "dpo.yaml"}
STATE_FILE = "loop.json"


def _sft_main(argv: list[str]):
    from train.sft import main

    return main(argv)


def _dpo_main(argv: list[str]):
    from train.dpo import main

    return main(argv)


def _grpo_main(argv: list[str]):
    """The EMA-GRPO stage: ``python -m train.grpo`` with these arguments, in this process."""
    try:
        from train.grpo import main
    except ImportError as e:
        raise TrainError(f"the grpo stage needs train.grpo, which cannot be imported here ({e}); "
                         "run the loop without grpo in --stages") from None
    return main(argv)


RUNNERS: dict[str, Callable[[list[str]], object]] = {"sft": _sft_main, "grpo": _grpo_main, "dpo": _dpo_main}


@dataclass
class LoopResult:
    model: Path  # the folder the engine loads (``<out>/model``)
    ran: list[str] = field(default_factory=list)  # stages (and exports, as "export:<fmt>") that ran
    skipped: list[str] = field(default_factory=list)  # with the reason, e.g. "dpo (unchanged)"


def _digest(*parts) -> str:
    h = hashlib.sha256()
    for p in parts:
        h.update(p if isinstance(p, bytes) else json.dumps(p, sort_keys=True, default=str).encode())
        h.update(b"\0")
    return h.hexdigest()[:16]


def model_key(model: str) -> str:
    """A local model folder is identified by its files (name, size, mtime); a hub id by itself."""
    p = Path(model).expanduser()
    if p.is_dir():
        return _digest(sorted((f.name, f.stat().st_size, f.stat().st_mtime_ns) for f in p.iterdir() if f.is_file()))
    return _digest(model)


class State:
    """``loop.json``: per step, its key and what it read and wrote; rewritten atomically after each step."""

    def __init__(self, path: Path):
        self.path = path
        try:
            self.data = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
        except json.JSONDecodeError:
            log.warning("%s is damaged; every stage will run again", path)
            self.data = {}

    def unchanged(self, step: str, key: str, output: Path) -> bool:
        entry = self.data.get(step, {})
        return entry.get("key") == key and output.exists()

    def record(self, step: str, key: str, read: dict, wrote: str) -> None:
        self.data[step] = {"key": key, "read": read, "wrote": wrote,
                           "finished": time.strftime("%Y-%m-%dT%H:%M:%S")}
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        os.replace(tmp, self.path)


def _export(db: Path, fmt: str, out: Path, state: State, force: bool, result: LoopResult) -> int:
    """Export ``fmt`` unless the store has not changed since the last export; the number of rows."""
    from onethinker.feedback import FeedbackStore
    from onethinker.feedback.exports import export

    step = f"export:{fmt}"
    store = FeedbackStore(db)
    try:
        revision = store.revision()
        key = _digest("export", fmt, revision, store.schema_version())
        if not force and state.unchanged(step, key, out / "export.json"):
            rows = json.loads((out / "export.json").read_text(encoding="utf-8"))["rows"][fmt]
            log.info("%s: store unchanged since the last export (revision %d); %d rows in %s", step, revision, rows, out)
            result.skipped.append(f"{step} (store unchanged)")
            return rows
        res = export(store, fmt, out)
    finally:
        store.close()
    rows = res.rows[fmt]
    log.info("%s: read %s (revision %d), wrote %d rows and %d media files to %s", step, db, revision, rows,
             res.media, out)
    state.record(step, key, {"db": str(db), "revision": revision}, str(out))
    result.ran.append(step)
    return rows


def _overrides(stage: str, sets: Sequence[str]) -> list[str]:
    """``--set stage.key=value`` entries for ``stage`` as command-line arguments (``--key value``)."""
    args: list[str] = []
    for item in sets:
        name, sep, value = item.partition("=")
        target, dot, key = name.partition(".")
        if not sep or not dot or not key or target not in ORDER:
            raise TrainError(f"--set {item!r}: write stage.key=value with stage one of {', '.join(ORDER)}")
        if target == stage:
            args += [f"--{key}", value]
    return args


def run_loop(db, base_model: str, out, *, stages: Sequence[str] = ("sft", "dpo"),
             configs: dict[str, Path] | None = None, sets: Sequence[str] = (), force: bool = False) -> LoopResult:
    """Export → train stage by stage → ``<out>/model``.  See the module docstring."""
    db, out = Path(db), Path(out)
    unknown = [s for s in stages if s not in ORDER]
    if unknown:
        raise TrainError(f"unknown stage(s) {unknown}; choose from {', '.join(ORDER)}")
    if not db.is_file():
        raise TrainError(f"no feedback database at {db}")
    for stage in stages:
        _overrides(stage, sets)  # reject a malformed --set before any work
    out.mkdir(parents=True, exist_ok=True)
    state = State(out / STATE_FILE)
    result = LoopResult(out / "model")
    model, key = base_model, model_key(base_model)
    last: Path | None = None
    for stage in (s for s in ORDER if s in stages):
        fmt = EXPORT_FORMAT[stage]
        data = out / "exports" / fmt
        rows = _export(db, fmt, data, state, force, result)
        if rows == 0:
            log.info("%s: the %s export has no rows; stage skipped", stage, fmt)
            result.skipped.append(f"{stage} (no rows)")
            continue
        config = (configs or {}).get(stage, DEFAULT_CONFIG[stage])
        extra = _overrides(stage, sets)
        config_text = Path(config).read_text(encoding="utf-8") if config and Path(config).is_file() else ""
        key = _digest(stage, key, (data / f"{fmt}.json").read_bytes(), config_text, extra)
        target = out / stage
        if not force and state.unchanged(stage, key, target / "config.json"):
            log.info("%s: inputs unchanged (%s rows, model %s); keeping %s", stage, rows, model, target)
            result.skipped.append(f"{stage} (unchanged)")
        else:
            argv = (["--config", str(config)] if config_text else []) + [
                "--model_name_or_path", str(model), "--train_files", str(data), "--media_root", str(data),
                "--output_dir", str(target), *extra]
            log.info("%s: read %d rows from %s and model %s; training into %s", stage, rows, data, model, target)
            RUNNERS[stage](argv)
            _release_memory()
            if not (target / "config.json").is_file():
                raise TrainError(f"{stage} finished without writing a model to {target}")
            state.record(stage, key, {"rows": rows, "data": str(data), "model": str(model), "config": str(config),
                                      "overrides": extra}, str(target))
            log.info("%s: wrote %s", stage, target)
            result.ran.append(stage)
        model, last = str(target), target
    if last is None:
        raise TrainError(f"nothing to train on: the store at {db} has no rows for {', '.join(stages)} "
                         "(up-votes or corrections for sft / grpo, preferences or vote pairs for dpo)")
    _point(out / "model", last)
    log.info("model: %s → %s (load it with: python app.py --model %s)", out / "model", last.name, out / "model")
    return result


def _point(link: Path, target: Path) -> None:
    """``link`` → ``target`` (a relative symlink), replaced atomically."""
    tmp = link.with_name(f".{link.name}.tmp")
    if tmp.is_symlink() or tmp.exists():
        tmp.unlink()
    tmp.symlink_to(os.path.relpath(target, link.parent), target_is_directory=True)
    os.replace(tmp, link)


def _release_memory() -> None:
    gc.collect()
    try:
        import torch

        if torch.cuda.is_available():
            torch.cuda.empty_cache()
    except ImportError:
        pass


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m train.loop", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--db", required=True, type=Path, help="the feedback store (data/feedback.db)")
    p.add_argument("--base-model", required=True, help="hub id or folder of the model to start from")
    p.add_argument("--out", required=True, type=Path, help="run folder: exports, checkpoints, loop.json, model")
    p.add_argument("--stages", default="sft,dpo", help=f"comma-separated, from {', '.join(ORDER)} (run in that order)")
    for stage in ORDER:
        p.add_argument(f"--{stage}-config", type=Path, default=DEFAULT_CONFIG[stage], help=f"YAML for the {stage} stage")
    p.add_argument("--set", action="append", default=[], metavar="STAGE.KEY=VALUE",
                   help="override a trainer field, e.g. sft.learning_rate=5e-6 (repeatable)")
    p.add_argument("--force", action="store_true", help="rerun every step even when its inputs are unchanged")
    return p


def main(argv: list[str] | None = None) -> LoopResult:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    args = parser().parse_args(argv)
    stages = [s.strip() for s in args.stages.split(",") if s.strip()]
    configs = {s: getattr(args, f"{s}_config") for s in ORDER}
    try:
        return run_loop(args.db, args.base_model, args.out, stages=stages, configs=configs, sets=args.set,
                        force=args.force)
    except TrainError as e:
        raise SystemExit(f"train.loop: {e}") from None


if __name__ == "__main__":
    main()
