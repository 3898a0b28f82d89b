"""A results file as a table to browse: filter, sort, search, page, summarise — no model needed.

This is everything the app's Inspect tab does with a results file, so the tab stays a thin layer of
widgets.  The file (ours, the official scripts', or any JSON/JSONL rows with the same fields) is
parsed once; the columns that filters and sorting need (problem type, data type, accuracy, error,
lower-cased question + prediction) are kept as arrays, so every action on 50,000 rows is a few
vectorised operations (``benchmarks/bench_eval.py`` measures it).

Media of a row are resolved only inside the media root the caller chooses; a refused or missing
file is a message on that row (:meth:`ResultsTable.view`), never an exception.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from onethinker.eval.aggregate import compute_metrics
from onethinker.eval.files import EvalFileError, ResultsFile, gc_paused, parse_rows, read_rows
from onethinker.eval.paths import MediaPath, media_file
from onethinker.eval.rows import PREDICTED_MASKS, RowError, SegTruth, check_row, data_type_of, problem_type_of
from onethinker.tasks import UnknownTaskError, get_task

SORTS = ("worst", "best", "file")
MAIN_COMPONENTS = ("iou", "miou_gt", "tiou", "miou_inter", "J&F")  # the one a summary reports as mIoU / R@0.5
QUESTION_CHARS = 160
PREDICTION_CHARS = 80


@dataclass(frozen=True)
class Query:
    """Which rows to show: ``task`` is a ``problem_type`` as the file writes it; None or "" means all."""

    task: str | None = None
    data_type: str | None = None
    score_min: float | None = None
    score_max: float | None = None
    search: str = ""  # case-insensitive, in the question and the prediction
    errors_only: bool = False
    sort: str = "worst"  # worst | best | file
    page: int = 0
    page_size: int = 50


@dataclass
class Page:
    rows: list[dict]  # one short record per row: index, problem_id, task, data_type, question, prediction, score, error
    total: int  # rows matching the query
    page: int
    pages: int


@dataclass
class RowView:
    """One row, ready to show: question, parsed answer and truth, media inside the root, metrics."""

    index: int
    row: dict
    task: Any  # onethinker.tasks.Task, or None when the problem_type is unknown
    question: str
    options: list[str]
    answer: Any  # onethinker.answer.Answer of the output (reasoning, payload, warnings), or None
    truth: Any  # Answer of the solution for QA and coordinate tasks, or None
    truth_masks: Any  # segmentation: GroundTruthMasks, else None
    media: list[MediaPath]  # path (and additional_path): each resolved or refused with a message
    metrics: dict
    error: dict | None
    notes: list[str] = field(default_factory=list)  # why the truth could not be read, …
    predicted_masks: Any = None  # segmentation scored by the runner: its predicted masks (GroundTruthMasks form)

    @property
    def warnings(self) -> list[str]:
        """Parse warnings of the output, then the notes."""
        return list(getattr(self.answer, "warnings", ()) or ()) + self.notes


@dataclass
class GroundTruthMasks:
    """Decoded ground-truth masks: one for an image (key 0), or per annotated frame index of a video."""

    width: int
    height: int
    fps: float | None
    masks: dict[int, np.ndarray]  # frame index k (shown at k / fps seconds) -> H×W bool


def _float(v: Any) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return math.nan
    return float(v)


class ResultsTable:
    """The rows of one results file with precomputed filter columns."""

    def __init__(self, source: ResultsFile, name: str = "results") -> None:
        self.name = name
        self.rows: list[dict] = source.results
        self.meta = source.meta
        with gc_paused():
            self.metrics = compute_metrics(self.rows)  # never the file's own
            self._columns()

    def _columns(self) -> None:
        n = len(self.rows)
        tasks: dict[str, int] = {}
        dtypes: dict[str, int] = {}
        task_col = np.empty(n, np.int32)
        dtype_col = np.empty(n, np.int32)
        score = np.empty(n, np.float64)
        err = np.zeros(n, bool)
        text: list[str] = [""] * n
        for i, r in enumerate(self.rows):
            task_col[i] = tasks.setdefault(problem_type_of(r), len(tasks))
            dtype_col[i] = dtypes.setdefault(data_type_of(r), len(dtypes))
            score[i] = _float(r.get("accuracy"))
            err[i] = bool(r.get("error"))
            q, p = r.get("problem"), r.get("prediction")
            text[i] = f"{q if isinstance(q, str) else ''}\x00{p if isinstance(p, str) else ''}".lower()
        self._task_names, self._dtype_names = list(tasks), list(dtypes)
        self._task, self._dtype, self._score, self._error, self._text = task_col, dtype_col, score, err, text

    # -- loading -----------------------------------------------------------------------------
    @classmethod
    def load(cls, source: "str | os.PathLike | bytes", name: str | None = None) -> "ResultsTable":
        """From a path or the bytes of an upload; :class:`EvalFileError` says what is wrong with the file."""
        if isinstance(source, (bytes, bytearray, memoryview)):
            return cls(parse_rows(bytes(source), name or "upload"), name or "upload")
        return cls(read_rows(source), name or Path(source).name)

    @classmethod
    def load_under(cls, root: "str | os.PathLike", relative: str) -> "ResultsTable":
        """A results file named relative to a configured results root (same refusal rules as media)."""
        m = media_file(root, relative)
        if not m.ok:
            raise EvalFileError(f"results file {relative!r} cannot be opened: {m.error}")
        return cls.load(m.path, relative)

    def __len__(self) -> int:
        return len(self.rows)

    @property
    def tasks(self) -> list[str]:
        return sorted(t for t in self._task_names if t)

    @property
    def data_types(self) -> list[str]:
        return sorted(d for d in self._dtype_names if d)

    # -- querying ----------------------------------------------------------------------------
    def select(self, q: Query) -> np.ndarray:
        """Indices of the rows matching ``q``, in the query's order."""
        keep = np.ones(len(self.rows), bool)
        if q.task:
            code = self._code(self._task_names, q.task)
            keep &= self._task == code
        if q.data_type:
            keep &= self._dtype == self._code(self._dtype_names, q.data_type.strip().lower())
        if q.score_min is not None:
            keep &= self._score >= q.score_min
        if q.score_max is not None:
            keep &= self._score <= q.score_max
        if q.errors_only:
            keep &= self._error
        idx = np.flatnonzero(keep)
        needle = q.search.strip().lower()
        if needle:
            text = self._text
            idx = np.fromiter((i for i in idx.tolist() if needle in text[i]), np.int64)
        if q.sort not in SORTS:
            raise ValueError(f"sort must be one of {SORTS}, got {q.sort!r}")
        if q.sort != "file" and len(idx):
            s = self._score[idx]
            key = np.where(np.isnan(s), np.inf, s if q.sort == "worst" else -s)  # unscored rows last
            idx = idx[np.argsort(key, kind="stable")]
        return idx

    @staticmethod
    def _code(names: list[str], value: str) -> int:
        try:
            return names.index(value.strip())
        except ValueError:
            return -1

    def query(self, q: Query = Query()) -> Page:
        """One page of matching rows (the page number is clamped into range)."""
        idx = self.select(q)
        size = max(1, int(q.page_size))
        pages = max(1, -(-len(idx) // size))
        page = min(max(0, int(q.page)), pages - 1)
        return Page([self.brief(int(i)) for i in idx[page * size:(page + 1) * size]], len(idx), page, pages)

    def brief(self, i: int) -> dict:
        r = self.rows[i]
        q, p, err = r.get("problem"), r.get("prediction"), r.get("error")
        s = self._score[i]
        return {"index": i, "problem_id": r.get("problem_id"), "task": self._task_names[self._task[i]],
                "data_type": self._dtype_names[self._dtype[i]],
                "question": (q if isinstance(q, str) else "")[:QUESTION_CHARS],
                "prediction": (p if isinstance(p, str) else "")[:PREDICTION_CHARS],
                "score": None if math.isnan(s) else float(s),
                "error": err.get("message") if isinstance(err, dict) else (str(err) if err else None)}

    # -- summary -----------------------------------------------------------------------------
    def summary(self) -> list[dict]:
        """Per problem type: rows, mean accuracy, errors, and the main component's mean (mIoU) and R@0.5."""
        m = self.metrics
        out = []
        for code, task in enumerate(self._task_names):
            if not task:
                continue
            sel = self._task == code
            main = next((c for c in MAIN_COMPONENTS if f"{task}/{c}/mean" in m), None)
            out.append({"task": task, "count": int(sel.sum()), "accuracy": m.get(f"{task}/acc", 0.0),
                        "errors": int((self._error & sel).sum()), "component": main,
                        "miou": m.get(f"{task}/{main}/mean") if main else None,
                        "r_at_0_5": m.get(f"{task}/{main}/R@0.5") if main else None,
                        "format": m.get(f"{task}/format")})
        return sorted(out, key=lambda d: d["task"])

    # -- one row -----------------------------------------------------------------------------
    def media(self, i: int, media_root: "str | os.PathLike") -> list[MediaPath]:
        """The row's media files inside ``media_root``; refused or missing ones carry the message."""
        r = self.rows[i]
        found = [media_file(media_root, r.get("path"))]
        if data_type_of(r) == "video-image":
            found.append(media_file(media_root, r.get("additional_path")))
        return found

    def view(self, i: int, media_root: "str | os.PathLike | None" = None) -> RowView:
        """Everything the Inspect tab shows for row ``i``.  Never raises for bad row data."""
        from onethinker.answer import parse

        r = self.rows[i]
        notes: list[str] = []
        task = truth = masks = predicted = None
        try:
            task = get_task(problem_type_of(r), data_type_of(r) or None)
            spec = check_row(r)
            if isinstance(spec.truth, SegTruth):
                masks = ground_truth_masks(spec.truth)
                predicted = predicted_masks(r, spec.truth, notes)
            else:
                truth = parse(f"<answer>{spec.text}</answer>", task, data_type=spec.data_type)
        except UnknownTaskError:
            notes.append(f"unknown problem_type {problem_type_of(r)!r}: the answer cannot be read")
        except RowError as e:
            notes.append(f"ground truth not shown: {e.message}")
        output = r.get("output")
        answer = parse(output, task, data_type=data_type_of(r)) if task is not None and isinstance(output, str) \
            else None
        q, opts = r.get("problem"), r.get("options")
        metrics = {k: r.get(k) for k in ("accuracy", "format", "components", "reward") if k in r}
        return RowView(i, r, task, q if isinstance(q, str) else "",
                       [str(o) for o in opts] if isinstance(opts, list) else [], answer, truth, masks,
                       self.media(i, media_root) if media_root is not None else [], metrics,
                       r.get("error") if isinstance(r.get("error"), dict) else None, notes, predicted)


def predicted_masks(row: Mapping, truth: SegTruth, notes: list[str]) -> GroundTruthMasks | None:
    """The masks the runner's segmenter predicted for a segmentation row (``predicted_segmentation``), decoded at
    the ground truth's size and frames; None when the row has none (a note says why when they are unusable)."""
    record = row.get(PREDICTED_MASKS)
    if record is None:
        return None
    rles = record.get("segmentation_rle") if isinstance(record, dict) else None
    try:
        if truth.frames and isinstance(rles, dict):
            return ground_truth_masks(replace(truth, rles=rles))
        if not truth.frames and isinstance(rles, dict) and "counts" in rles:
            return ground_truth_masks(replace(truth, rles={"": rles}))
        raise RowError("bad_rle", "its shape is not the row's (an RLE for an image, frame key → RLE for a video)")
    except RowError as e:
        notes.append(f"predicted masks not shown: {e.message}")
        return None


def ground_truth_masks(truth: SegTruth) -> GroundTruthMasks:
    """Decode a segmentation row's ground truth; :class:`RowError` (``bad_rle``) if a mask is unusable."""
    from onethinker.eval.segmentation import decode_rle

    if not truth.frames:
        return GroundTruthMasks(truth.width, truth.height, None,
                                {0: decode_rle(truth.rles[""], truth.width, truth.height)})
    masks = {k: decode_rle(truth.rles[key], truth.width, truth.height, f"segmentation_rle[{key!r}]")
             for k, key in enumerate(truth.frames) if truth.rles.get(key)}
    return GroundTruthMasks(truth.width, truth.height, truth.fps, masks)

