"""The OneThinker-nano run, stage by stage (``python -m train.nano``; every number is in :mod:`train.nano.recipe`).

    data → build (untrained) → eval → vision warm-up → language warm-up → SFT → eval → EMA-GRPO → eval → GRPO (same SFT start, steps, seed) → eval
         → loop (the EMA-GRPO model's own validation failures, corrected, through the feedback store and
           ``train.loop``; those cases re-evaluated) → report (``train/reports/nano.md``, model card, checkpoint)

Everything goes through the project's own code: ``train.synthetic`` writes the data, ``train.sft`` and
``train.grpo`` train (their trainers, configs and checkpoint writer), ``onethinker.eval`` evaluates through the
engine's ``TransformersBackend`` (so the model's ``onethinker.json`` profile sets its inputs, as in the app),
and ``onethinker.feedback`` + ``train.loop`` close the loop.  Stages are resumable (see
:mod:`train.nano.stages`); a GPU is used when there is one, else the CPU.  Training is float32 on either:
``train.sft`` / ``train.grpo`` would load bf16 weights on a GPU, and a 5 M model trained from scratch at lr 1e-3 loses
its small AdamW updates to bf16 rounding while gaining no speed worth having.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
from pathlib import Path
from typing import Any

from train.nano.recipe import SFT, Language, Recipe
from train.nano.sampler import MixedStepLengthSortedSampler
from train.nano.stages import Stage, StageState, digest, file_digest, run_stages

log = logging.getLogger("train.nano")

HERE = Path(__file__).resolve().parent
TEMPLATES = HERE / "prompt_templates.json"
MODELS = ("untrained", "sft", "ema-grpo", "grpo")
TITLES = {"untrained": "untrained initialisation", "sft": "after SFT", "ema-grpo": "after EMA-GRPO",
          "grpo": "after plain GRPO"}


def _bar(total: int, desc: str):
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, leave=False, dynamic_ncols=True)


def _log_callback(stage: str):
    """A TrainerCallback that writes every logged metrics dict to the run's log as one JSON line."""
    from transformers import TrainerCallback

    class LogToFile(TrainerCallback):
        def on_log(self, args, state, control, logs=None, **kwargs):
            if logs:
                log.info("%s step %d %s", stage, state.global_step, json.dumps(logs, default=float))

    return LogToFile()


def _time_limit(minutes: float | None):
    """A TrainerCallback that ends training after ``minutes`` (None: no limit), at a step boundary.

    It keeps the whole run inside its time budget on a slower or busier machine; the report prints the steps
    actually taken.  The learning-rate schedule is the one planned for all steps, so a stop leaves it unfinished.
    """
    import time as _time

    from transformers import TrainerCallback

    class TimeLimit(TrainerCallback):
        def on_train_begin(self, args, state, control, **kwargs):
            self.t0 = _time.perf_counter()

        def on_step_end(self, args, state, control, **kwargs):
            if minutes is not None and _time.perf_counter() - self.t0 > minutes * 60:
                log.warning("time limit of %g min reached after %d of %d steps; stopping", minutes,
                            state.global_step, state.max_steps)
                control.should_training_stop = True

    return TimeLimit()


def _replace_dir(tmp: Path, final: Path) -> None:
    if final.exists():
        shutil.rmtree(final)
    os.replace(tmp, final)


def _fresh(path: Path) -> Path:
    if path.exists():
        shutil.rmtree(path)
    return path


class NanoRun:
    """One run folder (``--out``): data, checkpoints, evaluation results, loop evidence, ``stages.json``."""

    def __init__(self, out: "str | os.PathLike", recipe: Recipe, *, report: "str | os.PathLike | None" = None,
                 publish: "str | os.PathLike | None" = None, command: str = "python -m train.nano"):
        self.out = Path(out)
        self.recipe = recipe
        self.report_path = Path(report) if report else None
        self.publish_dir = Path(publish) if publish else None
        self.command = command
        self.data = self.out / "data"
        self.model_dir = {m: self.out / m for m in MODELS}
        self.vision_dir = self.out / "vision"
        self.language_dir = self.out / "language"
        self.eval_dir = self.out / "eval"
        self.loop_dir = self.out / "loop"
        self.log_file = self.out / "train.log"

    # -- keys -------------------------------------------------------------------------------------
    def keys(self) -> dict[str, str]:
        from train.nano.vision_warmup import VERSION as WARMUP_VERSION
        from train.synthetic.write import GENERATOR_VERSION

        r = self.recipe
        k: dict[str, str] = {}
        k["data"] = digest("data", GENERATOR_VERSION, r.seed, r.train_size, r.validation_size, r.test_size, r.mix,
                           file_digest(TEMPLATES))
        k["build"] = digest("build", k["data"], r.part("model"), r.part("media"), r.seed)
        k["vision"] = digest("vision", k["build"], r.part("vision"), r.part("media"), WARMUP_VERSION)
        shared_sft = {f: r.part("sft")[f] for f in ("warmup", "weight_decay", "answer_loss_weight", "max_length")}
        k["language"] = digest("language", k["vision"], r.part("language"), shared_sft, GENERATOR_VERSION,
                               file_digest(TEMPLATES))
        k["sft"] = digest("sft", k["language"], r.part("sft"))
        k["ema-grpo"] = digest("ema-grpo", k["sft"], r.part("grpo"))
        k["grpo"] = digest("grpo", k["sft"], r.part("grpo"), k["ema-grpo"])  # it takes as many steps as EMA-GRPO did
        model_key = {"untrained": k["build"], "sft": k["sft"], "ema-grpo": k["ema-grpo"], "grpo": k["grpo"]}
        for m in MODELS:
            k[f"eval-{m}"] = digest("eval", model_key[m], k["data"], r.eval_max_new_tokens, r.segmenter)
        k["loop"] = digest("loop", k["ema-grpo"], k["data"], r.part("loop"), r.eval_max_new_tokens, r.segmenter)
        k["report"] = digest("report", [k[f"eval-{m}"] for m in MODELS], k["loop"], str(self.report_path),
                             str(self.publish_dir))
        return k

    def stages(self) -> list[Stage]:
        k = self.keys()
        st = [Stage("data", k["data"], self.data / "test" / "eval.json", self.make_data, "synthetic data"),
              Stage("build", k["build"], self.model_dir["untrained"] / "config.json", self.build, "untrained model")]
        order = [("untrained", None), ("sft", self.sft), ("ema-grpo", lambda: self.grpo("ema_grpo")),
                 ("grpo", lambda: self.grpo("grpo"))]
        for name, train in order:
            if name == "sft":
                st.append(Stage("vision", k["vision"], self.vision_dir / "config.json", self.warm_up_vision,
                                "vision warm-up"))
                st.append(Stage("language", k["language"], self.language_dir / "config.json",
                                self.warm_up_language, "language warm-up"))
            if train is not None:
                st.append(Stage(name, k[name], self.model_dir[name] / "config.json", train, name.upper()))
            st.append(Stage(f"eval-{name}", k[f"eval-{name}"], self.eval_dir / f"{name}.json",
                            lambda name=name: self.evaluate_test(name), f"evaluate {TITLES[name]}"))
        st.append(Stage("loop", k["loop"], self.loop_dir / "evidence.json", self.loop, "feedback loop"))
        report_out = self.out / "report.md"
        st.append(Stage("report", k["report"], report_out, self.report, "report"))
        return st

    def run(self, *, force: bool = False, only: list[str] | None = None) -> list[str]:
        from tqdm.auto import tqdm

        self.out.mkdir(parents=True, exist_ok=True)
        stages = self.stages()
        if only:
            unknown = set(only) - {s.name for s in stages}
            if unknown:
                raise ValueError(f"unknown stage(s) {sorted(unknown)}; stages: {[s.name for s in stages]}")
            stages = [s for s in stages if s.name in only]
        (self.out / "recipe.json").write_text(json.dumps(self.recipe.to_dict(), indent=2, default=str) + "\n",
                                              encoding="utf-8")
        with tqdm(total=len(stages), desc="nano", position=0, dynamic_ncols=True) as bar:
            return run_stages(stages, StageState(self.out), force=force, bar=bar)

    # -- stages -----------------------------------------------------------------------------------
    def make_data(self) -> dict:
        from onethinker.tasks import load_prompt_templates
        from train.synthetic.write import generate

        r = self.recipe
        tmp = _fresh(self.out / "data.tmp")
        sizes = {"train": r.train_size, "validation": r.validation_size, "test": r.test_size}
        bars: dict[str, Any] = {}

        def progress(split: str, done: int, total: int) -> None:
            if split not in bars:
                bars[split] = _bar(total, f"data {split}")
            bars[split].update(done - bars[split].n)

        metas = generate(tmp, r.seed, sizes, mix=r.mix, templates=load_prompt_templates(TEMPLATES), progress=progress,
                         workers=len(os.sched_getaffinity(0)))
        for b in bars.values():
            b.close()
        _replace_dir(tmp, self.data)
        return {s: m["per_task"] for s, m in metas.items()}

    def build(self) -> dict:
        from onethinker.engine.profile import write_profile
        from train.nano.build import build_nano

        r = self.recipe
        rows = json.loads((self.data / "train" / "sft.json").read_text(encoding="utf-8"))
        corpus = [m["content"] for row in rows for m in row["messages"]]
        tmp = _fresh(self.out / "untrained.tmp")
        build_nano(tmp, corpus, r.model, seed=r.seed)
        write_profile(tmp, templates_from=TEMPLATES, video=r.media.video(), image=r.media.image())
        _replace_dir(tmp, self.model_dir["untrained"])
        return {"parameters": _parameters(self.model_dir["untrained"])}

    def warm_up_vision(self) -> dict:
        """The untrained model with its vision tower trained on dense scene labels (the start of SFT)."""
        import torch
        from transformers import AutoModelForImageTextToText, AutoProcessor

        from train.model import patch_embeddings_as_matmul
        from train.nano.vision_warmup import warm_up_vision

        r = self.recipe
        v = r.vision
        tmp = _fresh(self.out / "vision.tmp")
        shutil.copytree(self.model_dir["untrained"], tmp)
        model = AutoModelForImageTextToText.from_pretrained(tmp, dtype="float32")
        patch_embeddings_as_matmul(model)  # as every training stage does (train.model.load_model)
        if torch.cuda.is_available():  # python -m train.nano --cpu hides the GPU
            model.to("cuda")
        processor = AutoProcessor.from_pretrained(tmp)
        bar = _bar(v.steps, "vision warm-up")
        try:
            info = warm_up_vision(model, processor.image_processor, steps=v.steps, batch_size=v.batch_size,
                                  learning_rate=v.learning_rate, seed=r.seed, max_minutes=v.max_minutes,
                                  min_pixels=r.media.image_min_pixels, max_pixels=r.media.image_max_pixels,
                                  progress=lambda step: bar.update(step - bar.n))
        finally:
            bar.close()
        model.save_pretrained(tmp)
        _replace_dir(tmp, self.vision_dir)
        return info

    def warm_up_language(self) -> dict:
        """The warmed-up vision model after text-only multiple-choice drills (the start of SFT)."""
        import numpy as np

        from onethinker.tasks import load_prompt_templates
        from train.model import save_for_engine
        from train.nano.language import drill_scores
        from train.synthetic.drills import write_drills

        r, lang = self.recipe, self.recipe.language
        tmp = _fresh(self.out / "language.tmp")
        templates = load_prompt_templates(TEMPLATES)
        train_seed, check_seed = (int(s.generate_state(1)[0]) for s in
                                  np.random.SeedSequence([r.seed, 0xD7111]).spawn(2))  # streams of their own
        drills = write_drills(self.out / "drills" / "train", lang.drills, train_seed, templates)
        held_out = write_drills(self.out / "drills" / "held-out", lang.held_out, check_seed, templates)
        trainer = self.sft_trainer(tmp, start=self.vision_dir, plan=lang, stage="language",
                                   train_files=[str(drills)])
        result = trainer.train()
        scores = drill_scores(trainer.model, trainer.processing_class, held_out)
        log.info("language warm-up: held-out drills answered right %s", scores)
        save_for_engine(trainer, tmp)
        _replace_dir(tmp, self.language_dir)
        return {"train_loss": result.training_loss, "steps": result.global_step, "drills": lang.drills,
                "held_out": scores}

    def sft(self) -> dict:
        from train.model import save_for_engine

        tmp = _fresh(self.out / "sft.tmp")
        trainer = self.sft_trainer(tmp)
        result = trainer.train()
        save_for_engine(trainer, tmp)
        _replace_dir(tmp, self.model_dir["sft"])
        return {"train_loss": result.training_loss, "steps": result.global_step}

    def sft_trainer(self, output_dir: Path, *, start: Path | None = None, plan: "SFT | Language | None" = None,
                    stage: str = "sft", **overrides):
        """``train.sft``'s trainer from ``start`` (default: the language warm-up's model), sampling with
        :class:`~train.nano.sampler.MixedStepLengthSortedSampler`.  ``plan`` (default: the recipe's SFT) gives the
        steps, batch sizes, learning rate and time limit; ``overrides`` are other SFTConfig fields; ``stage`` names
        the log lines."""
        from train.sft import OneThinkerSFTConfig, make_trainer

        s = self.recipe.sft
        plan = plan or s
        fields = dict(
            output_dir=str(output_dir), model_name_or_path=str(start or self.language_dir),
            train_files=[str(self.data / "train" / "sft.json")],
            freeze_vision_tower=False, freeze_projector=False,  # an untrained model learns to see
            per_device_train_batch_size=plan.micro_batch_size,
            gradient_accumulation_steps=plan.batch_size // plan.micro_batch_size,
            learning_rate=plan.learning_rate, vision_lr_scale=s.vision_lr_scale, answer_loss_weight=s.answer_loss_weight,
            lr_scheduler_type="cosine", warmup_steps=s.warmup,
            weight_decay=s.weight_decay, max_steps=plan.steps, max_length=s.max_length, gradient_checkpointing=False,
            logging_steps=10, save_strategy="no", report_to="none", seed=self.recipe.seed, data_seed=self.recipe.seed,
            dataloader_num_workers=1, bf16=False)
        trainer = make_trainer(OneThinkerSFTConfig(**{**fields, **overrides}))
        # every step a random mixture, its micro-batches of similar length (see train.nano.sampler)
        sampler = MixedStepLengthSortedSampler(_lengths(trainer.train_dataset), plan.batch_size, self.recipe.seed)
        trainer._get_train_sampler = lambda *_: sampler
        trainer.add_callback(_log_callback(stage))
        trainer.add_callback(_time_limit(plan.max_minutes))
        return trainer

    def grpo(self, estimator: str) -> dict:
        from train.grpo import OneThinkerGRPOConfig, make_trainer
        from train.model import save_for_engine

        g, m = self.recipe.grpo, self.recipe.media
        name = "ema-grpo" if estimator == "ema_grpo" else "grpo"
        steps, limit = g.steps, g.max_minutes
        if name == "grpo":  # the same number of steps as EMA-GRPO took (its time limit may have stopped it early)
            steps = (StageState(self.out).data.get("ema-grpo", {}).get("info") or {}).get("steps") or g.steps
            limit = None
        start = self.model_dir["sft"]
        tmp = _fresh(self.out / f"{name}.tmp")
        config = OneThinkerGRPOConfig(
            output_dir=str(tmp), model_name_or_path=str(start), train_files=[str(self.data / "train" / "rl.json")],
            # the model's profile, stated explicitly: train.grpo's rows take the config's media settings
            prompt_templates=str(start / TEMPLATES.name), video_fps=m.video_fps, video_max_frames=m.video_max_frames,
            video_min_pixels=m.video_min_pixels, video_max_pixels=m.video_max_pixels,
            image_min_pixels=m.image_min_pixels, image_max_pixels=m.image_max_pixels,
            advantage_estimator=estimator, num_generations=g.num_generations,
            per_device_train_batch_size=g.prompts_per_step * g.num_generations, gradient_accumulation_steps=1,
            steps_per_generation=1, temperature=g.temperature, max_completion_length=g.max_completion_length,
            learning_rate=g.learning_rate, beta=0.0, loss_type="dapo", max_steps=steps, logging_steps=1,
            save_strategy="no", report_to="none", seed=g.seed, data_seed=g.seed, gradient_checkpointing=False,
            bf16=False)
        trainer = make_trainer(config)
        trainer.add_callback(_log_callback(name))
        trainer.add_callback(_time_limit(limit))
        result = trainer.train()
        save_for_engine(trainer, tmp)
        trainer.save_ema_state(str(tmp))
        _replace_dir(tmp, self.model_dir[name])
        rewards = [h.get("reward") for h in trainer.state.log_history if "reward" in h]
        return {"train_loss": result.training_loss, "steps": result.global_step,
                "reward_first": rewards[0] if rewards else None, "reward_last": rewards[-1] if rewards else None}

    def evaluate(self, model: Path, split_dir: Path, out: Path, key: str, rows: Path | None = None) -> dict:
        """Evaluate ``model`` on a split's ``eval.json`` (or ``rows``) through the engine; results → ``out``.

        Rows are saved after every batch to ``<out>.<key>.partial.json``, so an interrupted evaluation of the
        same model resumes; a partial file of another key (another model) is dropped.
        """
        from onethinker.engine import SamplingParams, TransformersBackend, unload_model
        from onethinker.eval import run
        from train.nano.segmenter import ColourSegmenter

        out.parent.mkdir(parents=True, exist_ok=True)
        partial = out.with_name(f"{out.stem}.{key}.partial.json")
        for old in out.parent.glob(f"{out.stem}.*.partial.json"):
            if old != partial:
                old.unlink()
        bar = _bar(1, f"eval {model.name}")

        def progress(done: int, total: int) -> None:
            bar.total = total
            bar.update(done - bar.n)

        try:
            result = run(rows or split_dir / "eval.json", partial, TransformersBackend(str(model)),
                         media_root=split_dir, segmenter=ColourSegmenter(),
                         sampling=SamplingParams(max_new_tokens=self.recipe.eval_max_new_tokens),
                         batch_size=32, generation_batch=self.recipe.eval_generation_batch, progress=progress)
        finally:
            bar.close()
            unload_model()
        os.replace(partial, out)
        return {"overall/acc": result.metrics.get("overall/acc"), "overall/format": result.metrics.get("overall/format")}

    def evaluate_test(self, name: str) -> dict:
        return self.evaluate(self.model_dir[name], self.data / "test", self.eval_dir / f"{name}.json",
                             self.keys()[f"eval-{name}"])

    def loop(self) -> dict:
        from train.nano.evidence import loop_evidence

        return loop_evidence(self)

    def report(self) -> dict:
        from train.nano.report import publish, write_report

        text = write_report(self)
        (self.out / "report.md").write_text(text, encoding="utf-8")
        if self.report_path is not None:
            self.report_path.parent.mkdir(parents=True, exist_ok=True)
            self.report_path.write_text(text, encoding="utf-8")
            shutil.copyfile(self.log_file, self.report_path.with_suffix(".log"))
        if self.publish_dir is not None:
            publish(self, self.publish_dir)
        return {"report": str(self.report_path), "published": str(self.publish_dir)}


def _lengths(dataset) -> list[int]:
    """A rough token count per SFT row (text characters / 3, plus the media's usual token counts); only the
    order matters, for sorting a step's rows into micro-batches of similar length."""
    out = []
    for row in dataset:
        n = 0
        for m in row["messages"]:
            for b in m["content"]:
                n += len(b.get("text", "")) // 3 + {"image": 40, "video": 130}.get(b.get("type"), 0)
        out.append(n)
    return out


def _parameters(model_dir: Path) -> int:
    from safetensors import safe_open

    total = 0
    with safe_open(str(model_dir / "model.safetensors"), "pt") as f:
        for name in f.keys():
            n = 1
            for d in f.get_slice(name).get_shape():
                n *= int(d)
            total += n
    return total


def setup_logging(log_file: Path) -> None:
    """INFO lines of train.* and onethinker.* to ``log_file`` (appending: a resumed run continues its log).

    A handler this process already had on the same path is replaced, so a log file moved aside since is reopened."""
    log_file.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(log_file, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s: %(message)s"))
    for name in ("train", "onethinker"):
        lg = logging.getLogger(name)
        lg.setLevel(logging.INFO)
        for old in [h for h in lg.handlers if isinstance(h, logging.FileHandler)
                    and Path(h.baseFilename) == log_file.resolve()]:
            lg.removeHandler(old)
            old.close()
        lg.addHandler(handler)
    logging.getLogger("train.nano").info("log started %s", time.strftime("%Y-%m-%dT%H:%M:%S"))
