"""The loop, shown on the nano model: its own failures → corrections in the feedback store → retrain → re-check.

1. The EMA-GRPO model answers the validation split (``loop/validation.json``, through the evaluation runner).
2. Its failures (accuracy below ``fail_below`` or a malformed answer), at most ``max_cases``, taken round-robin
   over tasks, become feedback records as a reviewer would write them in the app: the model's output, and a
   :class:`~onethinker.feedback.record.Correction` whose payload is the ground truth and whose rationale is the
   scene's true reasoning (the synthetic sample's own reasoning text, standing in for the reviewer's).
3. ``train.loop`` exports the store and runs a short SFT from the EMA-GRPO checkpoint (``loop/run/model``).
4. The failure cases are evaluated again with the retrained model (``loop/cases-after.json``), and, to show
   what the retraining costs elsewhere, the held-out test split too (``loop/test-after.json``).

``loop/evidence.json`` keeps the before / after numbers the report prints.
"""

from __future__ import annotations

import json
import logging
import shutil
from collections import defaultdict
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from train.nano.pipeline import NanoRun

log = logging.getLogger("train.nano")


def pick_failures(results: list[dict], fail_below: float, max_cases: int) -> list[dict]:
    """Failed rows (low accuracy or a malformed answer), at most ``max_cases``, round-robin over tasks."""
    by_task: dict[str, list[dict]] = defaultdict(list)
    for r in results:
        if r.get("output") is None:
            continue  # the model was never asked (a row error): nothing to correct
        if (r.get("accuracy") or 0.0) < fail_below or not r.get("format"):
            by_task[r.get("task") or r.get("problem_type")].append(r)
    picked: list[dict] = []
    queues = [by_task[t] for t in sorted(by_task)]
    while len(picked) < max_cases and any(queues):
        for q in queues:
            if q and len(picked) < max_cases:
                picked.append(q.pop(0))
    return picked


def reasoning_of(response: str) -> str:
    """The text inside ``<think>…</think>`` of a synthetic SFT response."""
    start, end = response.find("<think>"), response.find("</think>")
    return response[start + len("<think>"):end].strip() if 0 <= start < end else ""


def make_records(cases: list[dict], split_dir: Path, store, model: str, templates, sampling: dict) -> list:
    """Feedback records (corrections with the scene's reasoning) for failed evaluation rows."""
    from onethinker.answer import parse
    from onethinker.feedback.record import Correction, Record
    from onethinker.tasks import build_prompt, get_task

    sft = {r["problem_id"]: r for r in json.loads((split_dir / "sft.json").read_text(encoding="utf-8"))}
    records = []
    for row in cases:
        task = get_task(row["task"], row["data_type"])
        truth = parse("<think></think>" + row["solution"], task, data_type=row["data_type"])
        if truth.payload is None:
            raise ValueError(f"ground truth of {row['problem_id']} does not parse: {truth.error}")
        options = row.get("options") or []
        prompt = build_prompt(task, row["problem"], options if task.reward == "option" else None, row["data_type"],
                              templates)
        ref = store.put_media(split_dir / row["path"], row["data_type"])
        frame_times = tuple(t for m in (row.get("sent") or {}).get("media", []) for t in m.get("timestamps", []) or [])
        rationale = reasoning_of(sft[row["problem_id"]]["messages"][1]["content"])
        records.append(Record(
            task=task.id, data_type=row["data_type"], prompt=prompt, question=row["problem"],
            outputs=(row["output"],), answers=(parse(row["output"], task, data_type=row["data_type"]),),
            feedback=Correction(truth.payload, rationale=rationale, comment="synthetic ground truth"),
            options=tuple(options), media=(ref,), model_id=model, backend="transformers", sampling=sampling,
            frame_times=tuple(sorted(frame_times))))
    return records


def _loop_config(run: "NanoRun", path: Path) -> Path:
    lp = run.recipe.loop
    lines = [
        "# train.loop's SFT stage for the nano model (written by train.nano; the loop adds model, data, output)",
        "freeze_vision_tower: false", "freeze_projector: false", "assistant_only_loss: true",
        f"max_length: {run.recipe.sft.max_length}", f"per_device_train_batch_size: {lp.batch_size}",
        f"learning_rate: {lp.learning_rate}", "lr_scheduler_type: constant", "warmup_steps: 0",
        "weight_decay: 0.0", f"max_steps: {lp.steps}", "gradient_checkpointing: false", "logging_steps: 5",
        "save_strategy: 'no'", "report_to: none", f"seed: {run.recipe.seed}", "dataloader_num_workers: 0",
        "bf16: false  # float32, as the rest of the nano run",
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _summary(rows: list[dict]) -> dict:
    from onethinker.eval import compute_metrics

    by_task: dict[str, list[dict]] = defaultdict(list)
    for r in rows:
        by_task[r.get("task") or r.get("problem_type")].append(r)
    out = {"all": _brief(compute_metrics(rows))}
    for t, rs in sorted(by_task.items()):
        out[t] = _brief(compute_metrics(rs))
    return out


def _brief(m: dict) -> dict:
    return {"count": m.get("overall/count", 0), "accuracy": m.get("overall/acc", 0.0),
            "format": m.get("overall/format", 0.0)}


def loop_evidence(run: "NanoRun") -> dict:
    from onethinker.engine.profile import load_profile
    from onethinker.feedback import FeedbackStore
    from train.loop import run_loop

    lp = run.recipe.loop
    d = run.loop_dir
    if d.exists():
        shutil.rmtree(d)
    d.mkdir(parents=True)
    base = run.model_dir["ema-grpo"]
    val = run.data / "validation"
    keys = run.keys()
    run.evaluate(base, val, d / "validation.json", keys["loop"] + "-val")
    results = json.loads((d / "validation.json").read_text(encoding="utf-8"))["results"]
    cases = pick_failures(results, lp.fail_below, lp.max_cases)
    if not cases:
        info = {"validation": _summary(results), "cases": 0, "note": "no failures on the validation split"}
        (d / "evidence.json").write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
        return info
    store = FeedbackStore(d / "feedback.db")
    try:
        sampling = {"temperature": 0.0, "max_new_tokens": run.recipe.eval_max_new_tokens}
        records = make_records(cases, val, store, str(base), load_profile(base).templates, sampling)
        store.add_many(records)
    finally:
        store.close()
    log.info("loop: %d corrections of the model's own validation failures stored in %s", len(records), d / "feedback.db")
    loop_result = run_loop(d / "feedback.db", str(base), d / "run", stages=("sft",),
                           configs={"sft": _loop_config(run, d / "loop_sft.yaml")}, force=True)
    retrained = (d / "run" / "model").resolve()
    case_rows = [{k: v for k, v in r.items() if k in ORIGINAL_KEYS} for r in cases]
    (d / "cases.json").write_text(json.dumps(case_rows, indent=1) + "\n", encoding="utf-8")
    run.evaluate(retrained, val, d / "cases-after.json", keys["loop"] + "-after", rows=d / "cases.json")
    after = json.loads((d / "cases-after.json").read_text(encoding="utf-8"))["results"]
    run.evaluate(retrained, run.data / "test", d / "test-after.json", keys["loop"] + "-test")
    info = {"validation": _summary(results), "cases": len(cases), "records": len(records),
            "before": _summary(cases), "after": _summary(after), "ran": loop_result.ran,
            "retrained_model": str(retrained), "config": run.recipe.part("loop")}
    (d / "evidence.json").write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
    return {k: info[k] for k in ("cases", "records")} | {"before": info["before"]["all"], "after": info["after"]["all"]}


# the evaluation input's own fields (results rows add output, scores, sent, …)
ORIGINAL_KEYS = ("problem_id", "problem", "problem_type", "data_type", "path", "additional_path", "options",
                 "solution", "task", "resolution", "fps", "segmentation_output")
