"""Metric primitives shared by the rewards, the evaluation runner and the app's overlays.

All functions are total: malformed input scores 0.0 (or False) instead of raising, matching the
strict reading of the OneThinker reward (a value that is not a number list of the right length
earns nothing).  Numbers written as numeric strings count as numbers.
"""

from __future__ import annotations

import math
import threading
from functools import lru_cache
from typing import Any, Mapping, Sequence

import numpy as np

# ---------------------------------------------------------------------------------------------
# Strict number handling


def strict_number(v: Any) -> float | None:
    """A finite number, or a string that ``float`` reads as one; anything else is None."""
    if isinstance(v, bool):
        return None
    if isinstance(v, (int, float)):
        f = float(v)
    elif isinstance(v, str):
        try:
            f = float(v)
        except ValueError:
            return None
    else:
        return None
    return f if math.isfinite(f) else None


def strict_numbers(v: Any, n: int) -> tuple[float, ...] | Sequence[float] | None:
    """Exactly ``n`` strict numbers in a list, else None."""
    if not isinstance(v, (list, tuple)) or len(v) != n:
        return None
    # Fast path for what JSON gives almost always: plain ints, or floats whose sum is finite.
    if all(type(x) is int or type(x) is float for x in v) and math.isfinite(sum(v)):
        return v
    out = tuple(strict_number(x) for x in v)
    return None if None in out else out


# ---------------------------------------------------------------------------------------------
# Overlap


def interval_iou(pred: Any, gt: Any) -> float:
    """Temporal IoU of two ``[start, end]`` spans; an end-first span has no length."""
    p, g = strict_numbers(pred, 2), strict_numbers(gt, 2)
    if p is None or g is None:
        return 0.0
    inter = max(0.0, min(p[1], g[1]) - max(p[0], g[0]))
    union = max(p[1], g[1]) - min(p[0], g[0])
    return inter / union if union > 1e-12 else 0.0


def box4(v: Any) -> Sequence[float] | None:
    """``strict_numbers(v, 4)`` with a fast path for the all-int lists JSON answers usually hold."""
    if type(v) is list and len(v) == 4:
        a, b, c, d = v
        if type(a) is int and type(b) is int and type(c) is int and type(d) is int:
            return v
    return strict_numbers(v, 4)


def box_iou(a: Any, b: Any) -> float:
    """IoU of two ``[x1, y1, x2, y2]`` boxes; a box with corners reversed has no area."""
    # Hot path of every grounding reward: all-int JSON lists are unpacked without further calls.
    if type(a) is list and type(b) is list and len(a) == 4 and len(b) == 4:
        px1, py1, px2, py2 = a
        gx1, gy1, gx2, gy2 = b
        if not (type(px1) is int and type(py1) is int and type(px2) is int and type(py2) is int
                and type(gx1) is int and type(gy1) is int and type(gx2) is int and type(gy2) is int):
            p, g = strict_numbers(a, 4), strict_numbers(b, 4)
            if p is None or g is None:
                return 0.0
            px1, py1, px2, py2 = p
            gx1, gy1, gx2, gy2 = g
    else:
        p, g = strict_numbers(a, 4), strict_numbers(b, 4)
        if p is None or g is None:
            return 0.0
        px1, py1, px2, py2 = p
        gx1, gy1, gx2, gy2 = g
    iw = (px2 if px2 < gx2 else gx2) - (px1 if px1 > gx1 else gx1)
    ih = (py2 if py2 < gy2 else gy2) - (py1 if py1 > gy1 else gy1)
    inter = iw * ih if iw > 0 and ih > 0 else 0.0
    area_p = (px2 - px1) * (py2 - py1) if px2 > px1 and py2 > py1 else 0.0
    area_g = (gx2 - gx1) * (gy2 - gy1) if gx2 > gx1 and gy2 > gy1 else 0.0
    union = area_p + area_g - inter
    return inter / union if union > 1e-12 else 0.0


def mean_iou_over_truth(pred: Any, gt: Any) -> float:
    """Tracking: mean box IoU over the ground-truth seconds; a second the prediction lacks scores 0."""
    if not isinstance(gt, Mapping) or not gt:
        return 0.0
    if not isinstance(pred, Mapping):
        return 0.0
    get = pred.get
    total = 0.0
    for k, g in gt.items():
        p = get(k)
        if p is not None:
            total += box_iou(p, g)
    return total / len(gt)


def mean_iou_over_common(pred: Any, gt: Any) -> float:
    """Spatio-temporal grounding: mean box IoU over the seconds both sides have (0 if none)."""
    if not isinstance(pred, Mapping) or not isinstance(gt, Mapping):
        return 0.0
    common = [k for k in pred if k in gt]
    if not common:
        return 0.0
    return sum(box_iou(pred[k], gt[k]) for k in common) / len(common)


def three_points(v: Any) -> tuple[tuple[float, float], ...] | None:
    """Exactly three ``[x, y]`` strict-number points, else None."""
    if not isinstance(v, (list, tuple)) or len(v) != 3:
        return None
    out = []
    for q in v:
        if type(q) is list and len(q) == 2 and type(q[0]) is int and type(q[1]) is int:
            out.append((q[0], q[1]))
            continue
        xy = strict_numbers(q, 2)
        if xy is None:
            return None
        out.append((xy[0], xy[1]))
    return tuple(out)


_PERMS3 = ((0, 1, 2), (0, 2, 1), (1, 0, 2), (1, 2, 0), (2, 0, 1), (2, 1, 0))


def point_set_similarity(pred: Any, gt: Any, sigma: float = 50.0) -> float:
    """exp(-d²/(2σ²)) with d the mean distance of the best one-to-one matching of 3 points to 3 points.

    0.0 unless both sides are exactly three valid ``[x, y]`` points.
    """
    p, g = three_points(pred), three_points(gt)
    if p is None or g is None:
        return 0.0
    hypot = math.hypot
    d = [[hypot(pi[0] - gj[0], pi[1] - gj[1]) for gj in g] for pi in p]
    best = min(d[a][0] + d[b][1] + d[c][2] for a, b, c in _PERMS3)
    mean = best / 3.0
    return math.exp(-(mean * mean) / (2.0 * sigma * sigma))


# ---------------------------------------------------------------------------------------------
# Masks (segmentation evaluation: any non-zero pixel is foreground)


def _binary(mask: Any) -> np.ndarray | None:
    m = np.asarray(mask)
    return m != 0 if m.ndim == 2 else None


def mask_inter_union(pred: Any, gt: Any) -> tuple[int, int]:
    """Pixels in both masks and in either; (0, 0) unless both are 2-D masks of the same shape."""
    p, g = _binary(pred), _binary(gt)
    if p is None or g is None or p.shape != g.shape:
        return 0, 0
    return int(np.count_nonzero(p & g)), int(np.count_nonzero(p | g))


def mask_iou(pred: Any, gt: Any) -> float:
    """Region similarity J: intersection over union; 0.0 when the union is empty (two empty masks)."""
    inter, union = mask_inter_union(pred, gt)
    return inter / union if union else 0.0


def mask_boundary(mask: np.ndarray) -> np.ndarray:
    """Foreground pixels with at least one of their 8 neighbours outside the mask (or the picture)."""
    m = np.pad(mask, 1)
    h, w = mask.shape
    inner = mask.copy()
    for dy in (0, 1, 2):
        for dx in (0, 1, 2):
            if dy != 1 or dx != 1:
                inner &= m[dy:dy + h, dx:dx + w]
    return mask & ~inner


def _dilate(b: np.ndarray, r: int) -> np.ndarray:
    """Binary dilation by a (2r+1)×(2r+1) square: two running-sum passes, exact and O(pixels)."""
    k = 2 * r + 1
    for axis in (0, 1):
        pad = [(0, 0), (0, 0)]
        pad[axis] = (r + 1, r)
        c = np.cumsum(np.pad(b, pad), axis=axis, dtype=np.int32)
        hi = c[k:] if axis == 0 else c[:, k:]
        lo = c[:-k] if axis == 0 else c[:, :-k]
        b = hi > lo
    return b


def boundary_f_measure(pred: Any, gt: Any, tolerance: float = 0.0075) -> float:
    """Contour accuracy F: F-measure of boundary precision and recall, matched within a tolerance.

    The tolerance is ``tolerance`` × the picture's diagonal, rounded, at least one pixel (a square
    neighbourhood).  Two empty masks score 1.0, one empty mask 0.0, as the official OneThinker
    segmentation post-processing does; masks of different shapes score 0.0.
    """
    p, g = _binary(pred), _binary(gt)
    if p is None or g is None or p.shape != g.shape:
        return 0.0
    p_any, g_any = bool(p.any()), bool(g.any())
    if not p_any and not g_any:
        return 1.0
    if not p_any or not g_any:
        return 0.0
    h, w = p.shape
    r = max(1, int(round(tolerance * math.hypot(h, w))))
    pb, gb = mask_boundary(p), mask_boundary(g)
    n_p, n_g = int(np.count_nonzero(pb)), int(np.count_nonzero(gb))
    precision = np.count_nonzero(pb & _dilate(gb, r)) / n_p
    recall = np.count_nonzero(gb & _dilate(pb, r)) / n_g
    return 0.0 if precision + recall == 0 else float(2 * precision * recall / (precision + recall))


# ---------------------------------------------------------------------------------------------
# Numbers


MRA_THRESHOLDS = tuple(0.50 + 0.05 * i for i in range(10))  # 0.50, 0.55, …, 0.95


def mean_relative_accuracy(pred: Any, gt: Any) -> float:
    """Share of thresholds θ in 0.50…0.95 with |p − g| / |g| < 1 − θ."""
    p, g = strict_number(pred), strict_number(gt)
    if p is None or g is None:
        return 0.0
    rel = abs(p - g) / (abs(g) + 1e-8)
    return sum(rel < 1.0 - t for t in MRA_THRESHOLDS) / len(MRA_THRESHOLDS)


def numbers_match(pred: Any, gt: Any, decimals: int = 2) -> bool:
    p, g = strict_number(_decomma(pred)), strict_number(_decomma(gt))
    return p is not None and g is not None and round(p, decimals) == round(g, decimals)


def _decomma(v: Any) -> Any:
    return v.replace(",", "") if isinstance(v, str) else v


# ---------------------------------------------------------------------------------------------
# Text


def word_error_rate(reference: Any, hypothesis: Any) -> float:
    """Word-level Levenshtein distance over the reference length (whitespace tokens, case kept)."""
    ref = reference.split() if isinstance(reference, str) else []
    hyp = hypothesis.split() if isinstance(hypothesis, str) else []
    if not ref:
        return float(len(hyp))
    prev = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        cur = [i] + [0] * len(hyp)
        for j, h in enumerate(hyp, 1):
            cur[j] = prev[j - 1] if r == h else 1 + min(prev[j], cur[j - 1], prev[j - 1])
        prev = cur
    return prev[-1] / len(ref)


def ocr_accuracy(reference: Any, hypothesis: Any) -> float:
    return min(1.0, max(0.0, 1.0 - word_error_rate(reference, hypothesis)))


class _StemCachingTokenizer:
    """rouge-score's default tokenisation with Porter stemming, memoising each word's stem."""

    def __init__(self) -> None:
        from nltk.stem import porter
        from rouge_score.tokenizers import DefaultTokenizer

        self._plain = DefaultTokenizer(use_stemmer=False)
        self._stem = lru_cache(maxsize=1 << 16)(porter.PorterStemmer().stem)

    def tokenize(self, text: str) -> list[str]:
        stem = self._stem
        return [stem(t) if len(t) > 3 else t for t in self._plain.tokenize(text)]


_rouge_lock = threading.Lock()
_rouge = None


def _rouge_scorer():
    global _rouge
    if _rouge is None:
        with _rouge_lock:
            if _rouge is None:
                from rouge_score import rouge_scorer

                _rouge = rouge_scorer.RougeScorer(
                    ["rouge1", "rouge2", "rougeL"], use_stemmer=True, tokenizer=_StemCachingTokenizer()
                )
    return _rouge


def rouge_mean_f(reference: Any, hypothesis: Any) -> float:
    """Mean of ROUGE-1, ROUGE-2 and ROUGE-L F-measures (Porter stemming)."""
    if not isinstance(reference, str) or not isinstance(hypothesis, str):
        return 0.0
    s = _rouge_scorer().score(reference, hypothesis)
    return min(1.0, max(0.0, (s["rouge1"].fmeasure + s["rouge2"].fmeasure + s["rougeL"].fmeasure) / 3.0))


# ---------------------------------------------------------------------------------------------
# Math


def _strip_math(s: str) -> str:
    s = s.strip()
    for a, b in (("$$", "$$"), ("$", "$"), ("\\(", "\\)"), ("\\[", "\\]")):
        if len(s) >= len(a) + len(b) and s.startswith(a) and s.endswith(b):
            s = s[len(a) : len(s) - len(b)].strip()
    if s.startswith("\\boxed{") and s.endswith("}"):
        s = s[7:-1].strip()
    return s.rstrip(".").replace("\\!", "").replace("\\,", "").replace(" ", "")


def _plain_number(s: str) -> float | None:
    t = _strip_math(s)
    if t.count(",") and all(len(part) == 3 for part in t.split(",")[1:]):
        t = t.replace(",", "")
    return strict_number(t) if t and (t[0].isdigit() or t[0] in "+-.") else None


def math_equal(pred: Any, gt: Any) -> bool:
    """Symbolic equivalence of two final math answers (math-verify), with fast and fallback paths.

    Plain numbers compare numerically without sympy; if math-verify cannot decide (error or
    timeout) the answers are compared as normalised strings.  Non-text input is never equal.
    """
    if not isinstance(pred, str) or not isinstance(gt, str) or not pred.strip() or not gt.strip():
        return False
    return _math_equal(pred, gt)


@lru_cache(maxsize=1 << 14)  # GRPO groups repeat the same final answers
def _math_equal(pred: str, gt: str) -> bool:
    a, b = _plain_number(pred), _plain_number(gt)
    if a is not None and b is not None:
        return abs(a - b) <= 1e-6 * max(1.0, abs(b))
    if _strip_math(pred) == _strip_math(gt):
        return True
    try:
        from math_verify import parse as mv_parse
        from math_verify import verify as mv_verify

        # math-verify's timeouts use signals, which only work in the main thread.
        main = threading.current_thread() is threading.main_thread()
        timeout = 5 if main else None
        gold = mv_parse(_wrap_math(gt), parsing_timeout=timeout)
        target = mv_parse(_wrap_math(pred), parsing_timeout=timeout)
        return bool(mv_verify(gold, target, timeout_seconds=timeout))
    except Exception:  # math-verify raises many types on odd LaTeX; then it cannot decide
        return _strip_math(pred).lower() == _strip_math(gt).lower()


def _wrap_math(s: str) -> str:
    s = s.strip()
    return s if "$" in s or "\\(" in s or "\\[" in s or "\\boxed" in s else f"${s}$"
