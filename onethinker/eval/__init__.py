"""Evaluation: run a model over the official OneThinker benchmark files, score, and browse the results.

::

    from onethinker.eval import run, score_file, ResultsTable
    run("eval_refcoco_val.json", "out/refcoco.json", TransformersBackend(), media_root="/data/eval")
    score_file("official_results.json", "rescored.json")          # no model needed
    table = ResultsTable.load("out/refcoco.json")                  # what the Inspect tab shows
    table.query(task="spatial grounding", sort="worst", page=0)

Files are the official results shape ``{"results": [...], "metrics": {...}, "meta": {...}}``; the
metrics are always recomputed from the rows.  Command line: ``python -m onethinker.eval --help``.
"""

from onethinker.eval.aggregate import RECALL_THRESHOLDS, compute_metrics
from onethinker.eval.files import EvalFileError, ResultsFile, parse_rows, read_rows, write_results
from onethinker.eval.paths import MediaPath, media_file, resolve_media
from onethinker.eval.rows import ERROR_KINDS, RowError, RowSpec, check_row
from onethinker.eval.runner import EvalError, Runner, RunResult, run
from onethinker.eval.score import score_file, score_row, score_rows
from onethinker.eval.table import Page, Query, ResultsTable

__all__ = [
    "run", "Runner", "RunResult", "EvalError", "score_file", "score_rows", "score_row", "compute_metrics",
    "RECALL_THRESHOLDS", "read_rows", "parse_rows", "write_results", "ResultsFile", "EvalFileError",
    "resolve_media", "media_file", "MediaPath", "check_row", "RowSpec", "RowError", "ERROR_KINDS",
    "ResultsTable", "Query", "Page",
]
