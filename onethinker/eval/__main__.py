"""Command line: ``python -m onethinker.eval run …`` and ``python -m onethinker.eval score …``.

    python -m onethinker.eval run eval_refcoco_val.json --media-root /data/eval --out out/refcoco.json
    python -m onethinker.eval run eval_charades.json --media-root /data/eval --out out/charades.json \\
        --server http://localhost:8000/v1 --concurrency 16
    python -m onethinker.eval score out/refcoco.json            # re-score any results file, no model

Exit status: 0 done, 2 bad input or a model/server that cannot be used (the message says which),
130 interrupted (everything saved stays; run the same command again to resume).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from onethinker.eval.files import EvalFileError


def _sampling(a):
    from onethinker.engine import SamplingParams

    return SamplingParams(temperature=a.temperature, top_p=a.top_p, top_k=a.top_k,
                          max_new_tokens=a.max_new_tokens, seed=a.seed)


def _backend(a):
    if a.server:
        from onethinker.engine import OpenAIBackend

        return OpenAIBackend(a.server, a.server_model, api_key=a.api_key)
    from onethinker.engine import TransformersBackend

    return TransformersBackend(a.model, dtype=a.dtype, quantization=a.quantization)


def _segmenter(a):
    name = (a.segmenter or "none").strip().lower()
    if name == "none":
        return None
    from onethinker.segment import get_segmenter

    return get_segmenter(name, **({"checkpoint": a.segmenter_checkpoint} if a.segmenter_checkpoint else {}))


class _Bar:
    """A tqdm progress bar with ETA on stderr, driven by ``(done, total)`` calls."""

    def __init__(self, desc: str) -> None:
        self.desc, self.bar = desc, None

    def __call__(self, done: int, total: int) -> None:
        if self.bar is None:
            from tqdm import tqdm

            self.bar = tqdm(total=total, initial=done, desc=self.desc, unit="row", dynamic_ncols=True,
                            file=sys.stderr)
        else:
            self.bar.update(done - self.bar.n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _print_metrics(metrics: dict, path) -> None:
    print(f"[metrics] {path}")
    for k, v in metrics.items():
        print(f"  {k}: {v:.4f}" if isinstance(v, float) else f"  {k}: {v}")


def cmd_run(a) -> int:
    from onethinker.eval.runner import run
    from onethinker.tasks import load_prompt_templates

    templates = load_prompt_templates(a.prompt_templates) if a.prompt_templates else None
    out = a.out or Path(a.input).with_name(Path(a.input).stem + "_results.json")
    bar = _Bar("evaluating")
    try:
        result = run(a.input, out, _backend(a), media_root=a.media_root, batch_size=a.batch_size,
                     concurrency=a.concurrency, generation_batch=a.generation_batch, sampling=_sampling(a),
                     templates=templates, segmenter=_segmenter(a), limit=a.limit, progress=bar)
    finally:
        bar.close()
    if result.resumed:
        print(f"[resume] kept {result.resumed} rows already in {out}")
    _print_metrics(result.metrics, out)
    return 0


def cmd_score(a) -> int:
    from onethinker.eval.score import score_file

    src = Path(a.results)
    out = a.out or src.with_name(src.stem + "_scored.json")
    seg = _segmenter(a)
    if seg is not None and not a.media_root:
        raise EvalFileError("--segmenter needs --media-root (the folder the rows' paths are relative to)")
    bar = _Bar("scoring")
    try:
        result = score_file(src, out, media_root=a.media_root, segmenter=seg, progress=bar)
    finally:
        bar.close()
    _print_metrics(result.metrics, out)
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m onethinker.eval",
                                description="Evaluate OneThinker-style models on the official benchmark files "
                                            "and re-score results files.")
    sub = p.add_subparsers(dest="command", required=True)

    r = sub.add_parser("run", help="generate and score every row of an evaluation file (resumable)",
                       description="Generate and score every row; the results file is rewritten after every "
                                   "batch and a rerun resumes where it stopped.")
    r.add_argument("input", help="official evaluation file (JSON list or JSONL rows)")
    r.add_argument("--media-root", required=True, help="folder the rows' path / additional_path are relative to")
    r.add_argument("--out", help="results file (default: <input>_results.json next to the input)")
    g = r.add_argument_group("model")
    g.add_argument("--model", default="OneThink/OneThinker-8B", help="hub id or local folder (transformers backend)")
    g.add_argument("--dtype", default="auto", help="auto, bfloat16, float16 or float32")
    g.add_argument("--quantization", choices=("4bit", "8bit"), help="load quantized (needs bitsandbytes)")
    g.add_argument("--server", help="OpenAI-compatible base URL (vLLM, SGLang), e.g. http://localhost:8000/v1")
    g.add_argument("--server-model", help="model name on the server (default: the first it serves)")
    g.add_argument("--api-key", help="server API key (default: $OPENAI_API_KEY)")
    g.add_argument("--concurrency", type=int, default=1, help="requests in flight (default 1; raise it for a server)")
    g.add_argument("--generation-batch", type=int, default=1,
                   help="requests the local model decodes together when greedy (default 1; more is faster where "
                        "memory allows)")
    g.add_argument("--batch-size", type=int, default=64, help="rows per saved batch (default 64)")
    g.add_argument("--limit", type=int, help="only the first N rows")
    g.add_argument("--prompt-templates", help="JSON/YAML prompt-template file (see README)")
    s = r.add_argument_group("sampling (default: greedy, as the official evaluation)")
    s.add_argument("--temperature", type=float, default=0.0, help="0 = greedy (default)")
    s.add_argument("--top-p", type=float, default=1.0)
    s.add_argument("--top-k", type=int, default=0, help="0 = off")
    s.add_argument("--max-new-tokens", type=int, default=8192)
    s.add_argument("--seed", type=int)
    _segmenter_args(r, "sam2")
    r.set_defaults(func=cmd_run)

    c = sub.add_parser("score", help="re-score a results file without a model",
                       description="Recompute prediction, accuracy, components, format, error and all metrics of "
                                   "a results file (ours, the official scripts', vLLM runs …).  Segmentation rows "
                                   "keep their stored mask metrics unless --segmenter is given.")
    c.add_argument("results", help="results file ({\"results\": [...]}) or JSON/JSONL rows with 'output'")
    c.add_argument("--out", help="where to write (default: <results>_scored.json next to it)")
    c.add_argument("--media-root", help="media folder, needed only with --segmenter")
    _segmenter_args(c, "none")
    c.set_defaults(func=cmd_score)
    return p


def _segmenter_args(p: argparse.ArgumentParser, default: str) -> None:
    p.add_argument("--segmenter", default=default, choices=("sam2", "segment-anything", "none"),
                   help=f"model that turns segmentation answers into masks (default: {default})")
    p.add_argument("--segmenter-checkpoint", help="SAM2 hub id / folder, or segment-anything .pth file")


def main(argv: list[str] | None = None) -> int:
    from onethinker.engine import EngineError
    from onethinker.eval.runner import EvalError

    a = parser().parse_args(argv)
    try:
        return a.func(a)
    except (EvalError, EvalFileError, EngineError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: finished batches are saved; run the same command again to resume", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
