"""Run a model over an evaluation file, batch by batch, resumably.

Each batch's rows are checked (task, ground truth, media inside the media root) before any
generation; rows that fail get their error and score 0 without calling the model.  The rest are
generated (``concurrency`` requests in flight, which helps an OpenAI-compatible server; or
``generation_batch`` requests decoded together as one padded batch by the local transformers backend,
which otherwise runs one at a time), scored, segmented when they are segmentation rows,
and the whole results file is rewritten atomically after the batch.  Rerunning with the same
``out`` resumes after the last saved batch; the metrics are recomputed from all rows every time.

A failure of the model or the server on one row is that row's error.  A model that cannot load or
a server that cannot be reached ends the run with :class:`EvalError`; everything saved stays.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

from onethinker.engine import Completion, EngineError, Request, SamplingParams
from onethinker.eval.aggregate import compute_metrics
from onethinker.eval.files import EvalFileError, read_rows, write_results
from onethinker.eval.paths import media_file
from onethinker.eval.rows import RowError, RowSpec, check_row
from onethinker.eval.score import failed, score_row
from onethinker.segment.base import Segmenter
from onethinker.tasks import DEFAULT_TEMPLATES, PromptTemplates

Progress = Callable[[int, int], None]  # (rows done, rows in total)
RESUME_KEYS = ("problem_id", "problem", "problem_type", "path")


class EvalError(RuntimeError):
    """The run cannot start or go on; the message says why and what to do.  Saved rows are kept."""


@dataclass
class RunResult:
    path: Path
    results: list[dict]
    metrics: dict
    meta: dict
    resumed: int = 0  # rows found in the results file and kept
    generated: int = 0  # rows sent to the model in this run


@dataclass
class _Job:
    row: Mapping
    spec: RowSpec | None = None
    request: Request | None = None
    result: dict | None = None  # set once the row is final


def _backend_model(backend: Any) -> str | None:
    return getattr(backend, "model_id", None) or getattr(backend, "model", None)


def _segmenter(seg: "Segmenter | str | None") -> Segmenter | None:
    if seg is None or not isinstance(seg, str):
        return seg
    if seg.strip().lower() in ("", "none"):
        return None
    from onethinker.segment import get_segmenter

    return get_segmenter(seg)  # loads nothing until the first segmentation row


def build_request(row: Mapping, spec: RowSpec, media_root: str | os.PathLike, sampling: SamplingParams,
                  templates: PromptTemplates = DEFAULT_TEMPLATES) -> Request:
    """The engine request for a row (media resolved inside ``media_root``); :class:`RowError` if it cannot be made."""
    question = row.get("problem")
    if not isinstance(question, str) or not question.strip():
        raise RowError("missing_field", "problem (the question) is missing")
    m = media_file(media_root, row.get("path"))
    if not m.ok:
        raise RowError(m.kind, m.error)
    image = video = None
    if spec.data_type == "image":
        image = m.path
    else:
        video = m.path
    if spec.data_type == "video-image":
        extra = media_file(media_root, row.get("additional_path"))
        if not extra.ok:
            raise RowError(extra.kind, f"additional_path: {extra.error}")
        image = extra.path
    options = row.get("options")
    if spec.task.reward != "option" or not isinstance(options, list) or not options:
        options = None  # the official prompt lists options for multiple choice only
    return Request(question, spec.task, options=options, image=image, video=video, sampling=sampling,
                   templates=templates)


def _raise_or_return(answer: "Completion | EngineError") -> Completion:
    if isinstance(answer, EngineError):
        raise answer
    return answer


def sent_record(c: Completion) -> dict:
    """What the model saw (frames, times, sizes) and how it ended; file paths are left to the row."""
    media = [{k: v for k, v in m.items() if k != "path"} for m in c.sent.media]
    return {"backend": c.sent.backend, "model": c.sent.model, "media": media, "prompt_tokens": c.prompt_tokens,
            "completion_tokens": c.completion_tokens, "finish_reason": c.finish_reason}


def _fatal(e: EngineError) -> bool:
    status = getattr(e, "status", None)
    return e.kind == "model" or (e.kind == "server" and status is None)


class Runner:
    """Evaluates rows with one backend.  :func:`run` drives it over files; ``train/`` may use it directly."""

    def __init__(self, backend: Any, media_root: str | os.PathLike, *, concurrency: int = 1,
                 generation_batch: int = 1, sampling: SamplingParams | None = None,
                 templates: PromptTemplates | None = None, segmenter: "Segmenter | str | None" = "sam2") -> None:
        for name, value in (("concurrency", concurrency), ("generation batch", generation_batch)):
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name} must be a whole number ≥ 1, got {value!r}")
        if concurrency > 1 and generation_batch > 1:
            raise ValueError("choose concurrency (requests in flight, for a server) or a generation batch "
                             "(requests decoded together by a local model), not both")
        self.backend = backend
        self.generation_batch = generation_batch
        self.media_root = Path(media_root)
        if not self.media_root.is_dir():
            raise EvalError(f"media root {self.media_root} is not a folder")
        self.concurrency = concurrency
        self.sampling = (sampling or SamplingParams()).validate()
        self.templates = templates or DEFAULT_TEMPLATES
        self._segmenter_spec = segmenter
        self._segmenter: Segmenter | None = None
        self._segmenter_made = False

    @property
    def segmenter(self) -> Segmenter | None:
        if not self._segmenter_made:
            self._segmenter, self._segmenter_made = _segmenter(self._segmenter_spec), True
        return self._segmenter

    def segmenter_name(self) -> str | None:
        s = self._segmenter_spec
        return s if isinstance(s, str) or s is None else getattr(s, "name", type(s).__name__)

    # -- one batch -------------------------------------------------------------------------------
    def evaluate(self, rows: list[Mapping], progress: Callable[[], None] | None = None) -> list[dict]:
        """Scored rows, in order.  Raises :class:`EvalError` when the model or server is unusable."""
        jobs = [self._prepare(r) for r in rows]
        pending = [j for j in jobs if j.result is None]
        for j in jobs:
            if j.result is not None and progress:
                progress()
        if self.generation_batch > 1 and len(pending) > 1:
            answers = self.backend.generate_many([j.request for j in pending], batch_size=self.generation_batch)
            for j, answer in zip(pending, answers):
                self._finish(j, lambda a=answer: _raise_or_return(a), progress)
        elif self.concurrency > 1 and len(pending) > 1:
            with ThreadPoolExecutor(self.concurrency, thread_name_prefix="onethinker-eval") as pool:
                futures = [(j, pool.submit(self.backend.generate, j.request)) for j in pending]
                try:
                    for j, fut in futures:
                        self._finish(j, fut.result, progress)
                except BaseException:
                    for _, fut in futures:
                        fut.cancel()
                    self.backend.cancel()
                    raise
        else:
            for j in pending:
                self._finish(j, lambda j=j: self.backend.generate(j.request), progress)
        return [j.result for j in jobs]

    def _prepare(self, row: Mapping) -> _Job:
        job = _Job(row)
        try:
            job.spec = check_row(row)
            job.request = build_request(row, job.spec, self.media_root, self.sampling, self.templates)
        except RowError as e:
            job.result = failed({**row, "output": None, "sent": None}, e, job.spec)
        return job

    def _finish(self, job: _Job, get: Callable[[], Completion], progress) -> None:
        try:
            c = get()
        except EngineError as e:
            if _fatal(e):
                raise EvalError(str(e)) from None
            kind = "missing_media" if e.kind == "input" else "engine"
            job.result = failed({**job.row, "output": None, "sent": None}, RowError(kind, str(e)), job.spec)
        else:
            row = {**job.row, "output": c.text, "sent": sent_record(c)}
            seg = self.segmenter if job.spec.segmentation else None
            job.result = score_row(row, media_root=self.media_root, segmenter=seg, spec=job.spec)
        if progress:
            progress()


def _same(saved: Mapping, row: Mapping) -> bool:
    return all(saved.get(k) == row.get(k) for k in RESUME_KEYS)


def _load_saved(out: Path, rows: list[dict], model: str | None) -> list[dict]:
    if not out.exists():
        return []
    try:
        saved = read_rows(out)
    except EvalFileError as e:
        raise EvalError(f"cannot resume from {out}: {e}; move it away to start again") from None
    if not saved.wrapped:
        raise EvalError(f"{out} is not a results file ({{\"results\": [...]}}); choose another output path")
    old_model = saved.meta.get("model_path")
    if model and old_model and old_model != model:
        raise EvalError(f"{out} holds results of model {old_model}, not {model}; choose another output path")
    for i, (s, r) in enumerate(zip(saved.results, rows)):
        if not _same(s, r):
            raise EvalError(f"{out} was made from another input (row {i}: problem_id {s.get('problem_id')!r} "
                            f"vs {r.get('problem_id')!r}); choose another output path")
    return saved.results


def run(input_path: str | os.PathLike, out_path: str | os.PathLike, backend: Any, *,
        media_root: str | os.PathLike, batch_size: int = 64, concurrency: int = 1, generation_batch: int = 1,
        sampling: SamplingParams | None = None, templates: PromptTemplates | None = None,
        segmenter: "Segmenter | str | None" = "sam2", limit: int | None = None,
        progress: Progress | None = None) -> RunResult:
    """Evaluate ``backend`` on the rows of ``input_path``; results go to ``out_path`` after every batch.

    ``segmenter``: a :class:`~onethinker.segment.base.Segmenter`, a backend name (``"sam2"``,
    ``"segment-anything"``), or None to leave segmentation rows unsegmented (``not_segmented``).
    """
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch size must be a whole number ≥ 1, got {batch_size!r}")
    try:
        rows = read_rows(input_path).results
    except EvalFileError as e:
        raise EvalError(str(e)) from None
    if limit is not None:
        rows = rows[:max(0, int(limit))]
    runner = Runner(backend, media_root, concurrency=concurrency, generation_batch=generation_batch,
                    sampling=sampling, templates=templates, segmenter=segmenter)
    out = Path(out_path)
    model = _backend_model(backend)
    done = list(_load_saved(out, rows, model))
    resumed = len(done)
    meta = {"input_json": os.fspath(input_path), "model_path": model, "batch_size": batch_size,
            "backend": getattr(backend, "name", type(backend).__name__), "concurrency": concurrency,
            "generation_batch": generation_batch,
            "sampling": asdict(runner.sampling), "media_root": os.fspath(media_root),
            "segmenter": runner.segmenter_name(), "runner": "onethinker.eval"}
    total = max(len(rows), len(done))
    count = [len(done)]

    def tick() -> None:
        count[0] += 1
        if progress:
            progress(count[0], total)

    if progress:
        progress(count[0], total)
    generated = 0
    for start in range(len(done), len(rows), batch_size):
        batch = rows[start:start + batch_size]
        scored = runner.evaluate(batch, tick)
        generated += sum(1 for r in scored if r.get("output") is not None)
        done.extend(scored)
        if meta["model_path"] is None:
            meta["model_path"] = next((r["sent"]["model"] for r in scored if r.get("sent")), None)
        write_results(out, done, compute_metrics(done), meta)
    metrics = compute_metrics(done)
    if len(done) == resumed:  # nothing new: still refresh the metrics from the rows
        write_results(out, done, metrics, meta)
    return RunResult(out, done, metrics, meta, resumed, generated)
