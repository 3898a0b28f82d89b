"""Corpus metrics, always recomputed from the rows (a file's own ``metrics`` are never trusted).

Keys as the official ``eval_bench.py`` writes them:

* ``overall/acc``; ``<problem_type>/acc``;
* ``<problem_type>/<component>/mean`` and ``<problem_type>/<component>/R@0.3|0.5|0.7`` (the share of
  rows whose component is at least the threshold);

and ours besides:

* ``overall/count``, ``overall/format``, ``<problem_type>/count``, ``<problem_type>/format`` (share of
  well-formed outputs, over the rows that record it);
* ``data_type/<image|video|video-image>/acc`` and ``/count``;
* for segmentation, over image rows ``segmentation/gIoU`` (mean IoU) and ``segmentation/cIoU``
  (Σ intersection / Σ union), over video rows ``segmentation/J``, ``segmentation/F``, ``segmentation/J&F``;
* ``errors/total`` and ``errors/<kind>`` (rows with an error).

Every row counts in every mean it belongs to; a row with an error counts with accuracy 0.
"""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Any, Iterable, Mapping

RECALL_THRESHOLDS = (0.3, 0.5, 0.7)


def _num(v: Any) -> float | None:
    if type(v) is float:
        return v if math.isfinite(v) else None
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return None
    return float(v)


class _Mean:
    __slots__ = ("total", "n")

    def __init__(self) -> None:
        self.total, self.n = 0.0, 0

    def add(self, v: float) -> None:
        self.total += v
        self.n += 1

    @property
    def value(self) -> float:
        return self.total / self.n if self.n else 0.0


def compute_metrics(rows: Iterable[Mapping]) -> dict[str, float]:
    """The metrics of a results file (see the module docstring); an empty file gives ``overall/acc`` 0."""
    overall, overall_fmt = _Mean(), _Mean()
    acc: dict[str, _Mean] = defaultdict(_Mean)
    fmt: dict[str, _Mean] = defaultdict(_Mean)
    by_dtype: dict[str, _Mean] = defaultdict(_Mean)
    comp: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    errors: dict[str, int] = defaultdict(int)
    giou, j, f, jf = [], [], [], []
    inter = union = 0
    for row in rows:
        ptype = row.get("problem_type")
        ptype = ptype.strip() if isinstance(ptype, str) else ""
        a = _num(row.get("accuracy")) or 0.0
        overall.add(a)
        acc[ptype].add(a)
        dtype = row.get("data_type")
        if isinstance(dtype, str) and dtype.strip():
            by_dtype[dtype.strip().lower()].add(a)
        fm = _num(row.get("format"))
        if fm is not None:
            overall_fmt.add(fm)
            fmt[ptype].add(fm)
        comps = row.get("components")
        if isinstance(comps, dict):
            per = comp[ptype]
            for name, v in comps.items():
                per[name].append(_num(v) or 0.0)
        err = row.get("error")
        if err:
            kind = err.get("kind") if isinstance(err, dict) else None
            errors[kind if isinstance(kind, str) and kind else "other"] += 1
        if ptype.lower() == "segmentation":
            r = row.get("reward")
            if isinstance(r, dict):
                if _num(r.get("J&F")) is not None:
                    j.append(_num(r.get("J")) or 0.0)
                    f.append(_num(r.get("F")) or 0.0)
                    jf.append(_num(r["J&F"]))
                elif _num(r.get("IoU")) is not None:
                    giou.append(_num(r["IoU"]))
                    inter += int(_num(r.get("inter")) or 0)
                    union += int(_num(r.get("union")) or 0)

    out: dict[str, float] = {"overall/acc": overall.value}
    for ptype, m in acc.items():
        out[f"{ptype}/acc"] = m.value
    for ptype, per in comp.items():
        for name, vals in per.items():
            if not vals:
                continue
            n = len(vals)
            out[f"{ptype}/{name}/mean"] = sum(vals) / n
            for t in RECALL_THRESHOLDS:
                out[f"{ptype}/{name}/R@{t}"] = sum(1 for v in vals if v >= t) / n
    out["overall/count"] = overall.n
    if overall_fmt.n:
        out["overall/format"] = overall_fmt.value
    for ptype, m in acc.items():
        out[f"{ptype}/count"] = m.n
        if fmt[ptype].n:
            out[f"{ptype}/format"] = fmt[ptype].value
    for dtype, m in sorted(by_dtype.items()):
        out[f"data_type/{dtype}/acc"] = m.value
        out[f"data_type/{dtype}/count"] = m.n
    if giou:
        out["segmentation/gIoU"] = sum(giou) / len(giou)
        out["segmentation/cIoU"] = inter / union if union else 0.0
    if jf:
        out["segmentation/J"] = sum(j) / len(j)
        out["segmentation/F"] = sum(f) / len(f)
        out["segmentation/J&F"] = sum(jf) / len(jf)
    out["errors/total"] = sum(errors.values())
    for kind in sorted(errors):
        out[f"errors/{kind}"] = errors[kind]
    return out
