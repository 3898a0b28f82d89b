"""``train/reports/nano.md`` and the model card, written from the run's own files.

Every number comes from the evaluation runner's results files (``<run>/eval/*.json``, metrics recomputed
from their rows with :func:`onethinker.eval.compute_metrics`, per synthetic task), the loop evidence
(``<run>/loop/evidence.json``) and ``stages.json`` (wall times); nothing is typed in by hand.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
from collections import defaultdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from train.nano.pipeline import NanoRun

# the synthetic tasks in reading order, with the metric that localises each (the runner's metric key suffix)
TASK_ORDER = ("multiple choice", "numerical", "captioning", "spatial grounding", "temporal grounding",
              "spatial-temporal grounding", "tracking", "segmentation-image", "segmentation-video")
GOALS = (  # (what, task or None for all, metric, threshold)
    ("format rate", None, "format", 0.95),
    ("multiple-choice accuracy", "multiple choice", "accuracy", 0.8),
    ("spatial-grounding mean IoU", "spatial grounding", "iou", 0.5),
    ("temporal-grounding mean tIoU", "temporal grounding", "tiou", 0.5),
)
# files of a checkpoint that the published model keeps (weights, configs, tokenizer, processor, profile)
PUBLISH_FILES = ("config.json", "generation_config.json", "model.safetensors", "tokenizer.json",
                 "tokenizer_config.json", "chat_template.jinja", "processor_config.json", "preprocessor_config.json",
                 "video_preprocessor_config.json", "special_tokens_map.json", "onethinker.json",
                 "prompt_templates.json", "nano_config.json")


def task_metrics(rows: list[dict]) -> dict[str, dict[str, float | None]]:
    """Per synthetic task (and ``all``): count, format, accuracy, IoU, tIoU, J&F from the runner's metrics."""
    from onethinker.eval import compute_metrics

    groups: dict[str, list[dict]] = defaultdict(list)
    for r in rows:
        groups[r.get("task") or r.get("problem_type") or "?"].append(r)
    out = {t: _metrics(compute_metrics(rs)) for t, rs in groups.items()}
    out["all"] = _metrics(compute_metrics(rows))
    return out


def _metrics(m: dict[str, float]) -> dict[str, float | None]:
    def first(*suffixes: str) -> float | None:
        for s in suffixes:
            for k, v in m.items():
                if k.endswith(s):
                    return v
        return None

    return {"count": m.get("overall/count", 0), "format": m.get("overall/format"), "accuracy": m.get("overall/acc"),
            "iou": first("segmentation/gIoU", "/iou/mean", "/miou_inter/mean", "/miou_gt/mean"),
            "tiou": first("/tiou/mean"), "j&f": m.get("segmentation/J&F")}


def load_results(path: Path) -> list[dict]:
    return json.loads(path.read_text(encoding="utf-8"))["results"]


def _f(v: Any, digits: int = 2) -> str:
    return "–" if v is None else f"{v:.{digits}f}"


def goals(metrics: dict[str, dict]) -> list[tuple[str, float | None, float, bool]]:
    out = []
    for what, task, key, threshold in GOALS:
        v = metrics.get(task or "all", {}).get(key)
        out.append((what, v, threshold, v is not None and v >= threshold))
    return out


def _row_value(row: dict, key: str) -> float | None:
    """One result row's share of a goal's metric: its format, accuracy or IoU / tIoU component (None if unscored)."""
    if key in ("format", "accuracy"):
        return row.get(key)
    return (row.get("components") or {}).get(key)


def goal_errors(rows: list[dict]) -> dict[str, tuple[int, float | None]]:
    """Per goal: the rows it averages and the standard error of that mean (sample std / √n), so a reader can see
    how far a value could move on another draw of a test split this size."""
    import statistics

    out = {}
    for what, task, key, _ in GOALS:
        values = [v for r in rows if task is None or (r.get("task") or r.get("problem_type")) == task
                  for v in [_row_value(r, key)] if v is not None]
        se = statistics.stdev(values) / len(values) ** 0.5 if len(values) > 1 else None
        out[what] = (len(values), se)
    return out


def _table(names: list[str], per_model: dict[str, dict], key: str, tasks: list[str]) -> list[str]:
    from train.nano.pipeline import TITLES

    lines = ["| task | n | " + " | ".join(TITLES[n] for n in names) + " |",
             "|---|---:|" + "---:|" * len(names)]
    for t in tasks + (["all"] if key in ("format", "accuracy") else []):  # IoU & co. per task only
        vals = [per_model[n].get(t, {}).get(key) for n in names]
        if all(v is None for v in vals):
            continue
        n = next((per_model[m].get(t, {}).get("count") for m in names if per_model[m].get(t)), 0)
        label = "**all tasks**" if t == "all" else t
        lines.append(f"| {label} | {n} | " + " | ".join(_f(v) for v in vals) + " |")
    return lines


def machine() -> str:
    try:
        import torch

        if torch.cuda.is_available():
            return f"GPU {torch.cuda.get_device_name(0)}"
        threads = torch.get_num_threads()
    except ImportError:
        threads = None
    return f"CPU ({os.cpu_count()} cores, {threads} torch threads, {platform.processor() or platform.machine()})"


def write_report(run: "NanoRun") -> str:
    from train.nano.pipeline import MODELS, TITLES
    from train.nano.stages import StageState

    r = run.recipe
    state = StageState(run.out)
    per_model = {m: task_metrics(load_results(run.eval_dir / f"{m}.json")) for m in MODELS}
    tasks = [t for t in TASK_ORDER if any(t in per_model[m] for m in MODELS)]
    tasks += sorted({t for m in MODELS for t in per_model[m]} - set(tasks) - {"all"})
    names = list(MODELS)
    total = sum(v.get("seconds") or 0 for v in state.data.values())
    ceiling = segmenter_ceiling(run.data / "test")

    def info(stage: str) -> dict:
        return state.data.get(stage, {}).get("info") or {}

    def steps(stage: str):
        return info(stage).get("steps", "?")
    params = (state.data.get("build", {}).get("info") or {}).get("parameters")
    L: list[str] = []
    L += ["# OneThinker-nano: trained here, measured by our runner", "",
          f"Produced by `{run.command}` (`train/nano/`); every number below is computed from the evaluation "
          "runner's results files of this run (`onethinker.eval`, metrics per synthetic task).", "",
          f"* Machine: {machine()}; stages took **{total / 60:.1f} min** in all (table at the end).",
          f"* Model: Qwen3-VL architecture, {params or '?'} parameters ({r.model.num_hidden_layers} text layers, "
          f"hidden {r.model.hidden_size}; vision depth {r.model.vision_depth}, hidden {r.model.vision_hidden_size}; "
          f"patch 16, merge 2; the vision tower's position table starts as "
          f"{'2-D sine/cosine waves' if r.model.vision_position_init == 'sincos' else 'random noise'}), "
          "BPE tokenizer trained on the synthetic corpus.",
          f"* Data (`train.synthetic`, seed {r.seed}): {r.train_size} training, {r.validation_size} validation, "
          f"{r.test_size} held-out test samples, every task (generator weights {r.mix or 'default'}); images "
          "128–256 px, videos 4–8 s at 4 fps.",
          f"* Inputs (the checkpoint's `onethinker.json`): video {r.media.video_fps:g} fps, ≤ {r.media.video_max_frames} "
          f"frames of ≤ {r.media.video_max_pixels} px; images {r.media.image_min_pixels}–{r.media.image_max_pixels} px; "
          "short prompt templates (`prompt_templates.json`).",
          f"* Vision warm-up (`train/nano/vision_warmup.py`): {steps('vision')} of {r.vision.steps} planned steps "
          f"(time limit {r.vision.max_minutes} min) × {r.vision.batch_size} synthetic pictures of their own seed; "
          "linear heads on the tower's output learn each image token's shape, colour, that shape's box (as four "
          "numbers and as the hundreds and tens digits the language model writes) and the token's place, and are "
          "then dropped. Held-out, before → after: "
          + _warmup_scores(info("vision")) + ".",
          f"* Language warm-up (`train/nano/language.py`): {steps('language')} of {r.language.steps} planned steps "
          f"(time limit {r.language.max_minutes} min) × {r.language.batch_size} text-only multiple-choice drills "
          f"(`train/synthetic/drills.py`: the image questions with their scene written in words; {r.language.drills} "
          "drills of their own seed), so the language model reads a question's options before it learns to see. "
          f"Held-out drills answered right afterwards: {_drill_scores(info('language'))}.",
          f"* SFT (`train.sft`): {steps('sft')} of {r.sft.steps} planned steps (time limit {r.sft.max_minutes} min) × "
          f"{r.sft.batch_size} samples (a random mixture of tasks per step, micro-batches of {r.sft.micro_batch_size} "
          f"sorted by length), AdamW lr {r.sft.learning_rate:g} cosine, warm-up {r.sft.warmup:g}, "
          + (f"answer tokens weighted {r.sft.answer_loss_weight:g}× a reasoning token in the loss, "
             if r.sft.answer_loss_weight != 1 else "")
          + f"everything trained (the vision tower and projector at {r.sft.vision_lr_scale:g}× the learning rate).",
          f"* RL (`train.grpo`), both runs from the same SFT checkpoint with seed {r.grpo.seed}: {steps('ema-grpo')} "
          f"steps (planned {r.grpo.steps}, time limit {r.grpo.max_minutes} min; plain GRPO ran {steps('grpo')}) × "
          f"{r.grpo.prompts_per_step} prompts × {r.grpo.num_generations} rollouts (temperature {r.grpo.temperature:g}, "
          f"≤ {r.grpo.max_completion_length} tokens), lr {r.grpo.learning_rate:g}, no KL, OneThinker reward; "
          "EMA-GRPO (`advantage_estimator: ema_grpo`) vs plain GRPO (`grpo`).",
          f"* Evaluation: greedy, ≤ {r.eval_max_new_tokens} new tokens, through the engine's `TransformersBackend` "
          f"({r.eval_generation_batch} requests decoded together, `generate_many`). "
          "Segmentation masks come from the **colour-region segmenter** (`train/nano/segmenter.py`) prompted with "
          "the model's box and points, in place of SAM2 (no SAM weights offline); prompted with the test split's "
          f"ground-truth answers it scores mask IoU {_f(ceiling.get('segmentation-image'))} on images and J&F "
          f"{_f(ceiling.get('segmentation-video'))} on videos, the ceiling of those two rows.", ""]
    errors = goal_errors(load_results(run.eval_dir / "ema-grpo.json"))
    L += ["## Goals after EMA-GRPO (held-out test split)", "",
          "| goal | value | standard error (rows) | target | met |", "|---|---:|---:|---:|:---:|"]
    for what, v, thr, ok in goals(per_model["ema-grpo"]):
        n, se = errors[what]
        met = "yes" if ok else "**no**"
        L.append(f"| {what} | {_f(v)} | {_f(se, 3)} ({n}) | ≥ {thr:g} | {met} |")
    L += ["", "The standard error is the rows' standard deviation over √rows: a value within about two of them of "
          "its target could land on either side of it on another test split of this size.", ""]
    for key, title, note in (
            ("format", "Format rate", "share of answers with `<think>…</think><answer>…</answer>` well formed"),
            ("accuracy", "Accuracy", "the OneThinker reward's accuracy term: exact option / number, ROUGE for "
                                     "captions, IoU / tIoU / mean IoU for coordinates, mask IoU (image) and J&F "
                                     "(video) for segmentation"),
            ("iou", "IoU", "spatial grounding: box IoU; spatio-temporal: mean box IoU over common seconds; tracking: "
                           "mean IoU over the truth's seconds; image segmentation: mask gIoU"),
            ("tiou", "tIoU", "temporal IoU of the time span"),
            ("j&f", "J&F (video segmentation)", "mask IoU and boundary F over every frame")):
        L += [f"## {title}", "", f"{note}.", ""] + _table(names, per_model, key, tasks) + [""]
    ema, plain = per_model["ema-grpo"]["all"], per_model["grpo"]["all"]
    L += ["## EMA-GRPO vs plain GRPO", "",
          f"Same SFT start, steps, data order and seed. Mean accuracy over all test tasks: EMA-GRPO "
          f"{_f(ema['accuracy'], 3)}, plain GRPO {_f(plain['accuracy'], 3)} (SFT alone: "
          f"{_f(per_model['sft']['all']['accuracy'], 3)}). " + _verdict(ema["accuracy"], plain["accuracy"])
          + " Mean training reward (OneThinker reward of the rollouts), first → last step: "
          + "; ".join(f"{label} {_f(info(n).get('reward_first'))} → {_f(info(n).get('reward_last'))}"
                      for n, label in (("ema-grpo", "EMA-GRPO"), ("grpo", "plain GRPO"))) + ".", ""]
    L += _loop_section(run)
    L += ["## Stage times", "", "| stage | seconds |", "|---|---:|"]
    for st in run.stages():
        if st.name in state.data:
            L.append(f"| {st.name} | {state.data[st.name].get('seconds', 0):.0f} |")
    L += ["", f"Training log: `{run.report_path.with_suffix('.log').name if run.report_path else run.log_file}`.", ""]
    return "\n".join(L)


def _drill_scores(info: dict) -> str:
    scores = info.get("held_out") or {}
    return ", ".join(f"{kind} {_f(v)}" for kind, v in scores.items()) or "not measured"


def _warmup_scores(info: dict) -> str:
    before, after = info.get("before") or {}, info.get("after") or {}
    parts = (("colour accuracy", "colour_acc"), ("shape accuracy", "shape_acc"), ("box error", "box_l1"),
             ("place error", "place_l1"), ("box hundreds digits all right", "hundreds_acc"))
    return ", ".join(f"{label} {_f(before.get(key))} → {_f(after.get(key))}" for label, key in parts
                     if key in before or key in after) + \
        " (accuracies over the tokens on a shape; errors: mean absolute, as a share of the picture)"


def segmenter_ceiling(split: Path) -> dict[str, float]:
    """Mean accuracy (image IoU, video J&F) of the segmenter prompted with the split's ground-truth answers."""
    from onethinker.eval import score_row
    from train.nano.segmenter import ColourSegmenter

    rows = [r for r in json.loads((split / "eval.json").read_text(encoding="utf-8")) if r.get("segmentation_output")]
    seg, scores = ColourSegmenter(), defaultdict(list)
    for r in rows:
        scored = score_row({**r, "output": "<think></think>" + r["solution"]}, media_root=split, segmenter=seg)
        scores[r["task"]].append(scored["accuracy"])
    return {t: sum(v) / len(v) for t, v in scores.items()}


def _verdict(a: float | None, b: float | None) -> str:
    if a is None or b is None:
        return ""
    d = a - b
    if abs(d) < 0.01:
        return "At this scale the two are within 0.01 of each other: no difference shows."
    better = "EMA-GRPO" if d > 0 else "plain GRPO"
    return f"{better} is ahead by {abs(d):.3f} on this run (one seed; small RL budgets are noisy)."


def _loop_section(run: "NanoRun") -> list[str]:
    path = run.loop_dir / "evidence.json"
    if not path.is_file():
        return []
    ev = json.loads(path.read_text(encoding="utf-8"))
    L = ["## The loop: the model's own failures, corrected, retrained", ""]
    if not ev.get("cases"):
        return L + [ev.get("note", "no failures to correct"), ""]
    lp = run.recipe.loop
    L += [f"The EMA-GRPO model answered the {ev['validation']['all']['count']} validation samples; "
          f"{ev['cases']} of its failures (accuracy < {lp.fail_below:g} or a malformed answer, round-robin over "
          "tasks) became feedback records in a `FeedbackStore`: the model's output plus a correction whose payload "
          "is the ground truth and whose rationale is the scene's true reasoning (standing in for a reviewer's). "
          f"`train.loop` exported them and ran SFT from the EMA-GRPO checkpoint ({lp.steps} steps × {lp.batch_size}, "
          f"lr {lp.learning_rate:g}); the same cases were then answered again.", "",
          "| task | cases | accuracy before | accuracy after | format before | format after |",
          "|---|---:|---:|---:|---:|---:|"]
    for t, b in ev["before"].items():
        a = ev["after"].get(t, {})
        label = "**all cases**" if t == "all" else t
        L.append(f"| {label} | {b['count']} | {_f(b['accuracy'])} | {_f(a.get('accuracy'))} | {_f(b['format'])} | "
                 f"{_f(a.get('format'))} |")
    test_after = run.loop_dir / "test-after.json"
    if test_after.is_file():
        after = task_metrics(load_results(test_after))["all"]
        before = task_metrics(load_results(run.eval_dir / "ema-grpo.json"))["all"]
        L += ["", f"On the held-out test split the retrained model scores accuracy {_f(after['accuracy'], 3)} "
                  f"(format {_f(after['format'], 3)}) against {_f(before['accuracy'], 3)} "
                  f"(format {_f(before['format'], 3)}) before the loop: the cost, or gain, elsewhere."]
    return L + [""]


def publish(run: "NanoRun", folder: Path) -> Path:
    """Copy the EMA-GRPO checkpoint into ``folder`` (the files the engine needs) with a model card."""
    src = run.model_dir["ema-grpo"]
    tmp = folder.with_name(folder.name + ".tmp")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    for name in PUBLISH_FILES:
        if (src / name).is_file():
            shutil.copyfile(src / name, tmp / name)
    (tmp / "README.md").write_text(model_card(run), encoding="utf-8")
    if folder.exists():
        shutil.rmtree(folder)
    os.replace(tmp, folder)
    return folder


def model_card(run: "NanoRun") -> str:
    from train.nano.stages import StageState

    r = run.recipe
    m = task_metrics(load_results(run.eval_dir / "ema-grpo.json"))
    params = (StageState(run.out).data.get("build", {}).get("info") or {}).get("parameters")
    rows = ["| task | n | format | accuracy | IoU | tIoU | J&F |", "|---|---:|---:|---:|---:|---:|---:|"]
    for t in [t for t in TASK_ORDER if t in m] + ["all"]:
        v = m[t]
        loc = ("", "", "") if t == "all" else (_f(v["iou"]), _f(v["tiou"]), _f(v["j&f"]))
        rows.append(f"| {'all tasks' if t == 'all' else t} | {v['count']} | {_f(v['format'])} | {_f(v['accuracy'])} | "
                    + " | ".join(loc) + " |")
    missed = [f"* Reach its {what} goal: {_f(v)} against ≥ {threshold:g}"
              + (" (chance is 0.25)" if what.startswith("multiple") else "") + "."
              for what, v, threshold, met in goals(m) if not met]
    return "\n".join([
        "# OneThinker-nano", "",
        f"A {params or '?'}-parameter model with the Qwen3-VL architecture, trained from scratch in this repository "
        f"by `{run.command}` (a vision warm-up on dense labels of the synthetic scenes, a language warm-up on "
        "text-only multiple-choice drills, then SFT and EMA-GRPO with "
        "our `train/`). It is the app's offline fallback: it shows "
        "the whole path (streamed reasoning, parsed answers drawn on the media, feedback) working on a machine that "
        "cannot download OneThinker-8B.", "",
        "## What it was trained on", "",
        f"Only synthetic scenes from `train.synthetic` (seed {r.seed}, {r.train_size} training samples): coloured "
        "squares, circles, triangles and diamonds (red, green, blue, yellow, purple) on pale plain or lightly "
        "textured backgrounds; images 128–256 px; videos of 4–8 s at 4 fps where shapes appear, move in straight "
        "lines and disappear. Questions: multiple choice (colour, shape, count, which appears first), counting, "
        "spatial grounding (\"Find the red circle.\"), temporal grounding (\"When is the red circle visible?\"), "
        "spatio-temporal grounding, tracking from a first-frame box, image and video segmentation prompts, and "
        "template captions. Reasoning texts are short templates.", "",
        "## How it reads its inputs", "",
        "`onethinker.json` (read by the engine, the evaluation runner and `train.data`): video at "
        f"{r.media.video_fps:g} fps, at most {r.media.video_max_frames} frames of at most {r.media.video_max_pixels} px; "
        f"images of {r.media.image_min_pixels}–{r.media.image_max_pixels} px; short prompts from "
        "`prompt_templates.json` (the full catalogue instructions are longer than its training prompts).", "",
        "## Held-out synthetic test results", "",
        *rows, "",
        "Segmentation scores use the colour-region segmenter of `train/nano/segmenter.py`, not SAM. Full report: "
        "`train/reports/nano.md`.", "",
        "## What it cannot do", "",
        *missed,
        "* Anything outside the synthetic scenes: real photos and videos, other objects, words, text in images (OCR), "
        "math, open questions, long videos. Its answers to such inputs are meaningless, however well formed.",
        "* Fine localisation: boxes are rough (see the IoU column), times are at about half-second precision at best.",
        "* Its vocabulary is the synthetic corpus's: other words break into bytes it has rarely seen.",
        "* It is a demonstration that the training code teaches a model, not a model to rely on.", "",
        "## Licence and provenance", "",
        "Weights made entirely in this repository from generated data; no third-party weights or data.", ""])
