"""Feedback store throughput and export speed.

    python benchmarks/bench_feedback.py [--writes 1000] [--records 100000] [--keep DIR]

Prints
  * rows/second with 1 and with 8 concurrent writer processes, each record its own transaction
    (goal ≥ 2,000 rows/s with 8 writers), then checks the row count and SQLite's integrity_check;
  * seconds to export 100,000 mixed records (up/down votes, corrections, preferences over image
    and video tasks, 2,000 media files) to each format: sft, rl, dpo, eval, hf (goal ≤ 10 s each); the
    one-time import of ``datasets`` that the first hf export in a process pays is printed apart.
Timings are printed, never asserted.
"""

from __future__ import annotations

import argparse
import importlib
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from onethinker.answer import BoxAnswer, OptionLetter, Track, parse  # noqa: E402
from onethinker.feedback import FORMATS, Correction, FeedbackStore, Preference, Record, Vote, export  # noqa: E402
from onethinker.feedback.stress import check, run_writers  # noqa: E402
from onethinker.tasks import build_prompt  # noqa: E402

N_MEDIA = 1000


def _templates(rng: random.Random) -> list[tuple[str, str, tuple[str, ...], list[str]]]:
    """(task, data_type, options, outputs) — a handful of answer shapes, parsed once and reused."""
    out = []
    for _ in range(50):
        x, y = rng.randint(0, 600), rng.randint(0, 600)
        boxes = {str(s): [x + s, y, x + s + 200, y + 300] for s in range(1, 9)}
        out += [
            ("spatial grounding", "image", (), [f'<think>look {x}</think><answer>{{"boxes": [{x}, {y}, {x + 300}, '
                                                f'{y + 200}]}}</answer>', f'<think>guess</think><answer>{{"boxes": '
                                                f'[{y}, {x}, {y + 100}, {x + 100}]}}</answer>']),
            ("multiple choice", "image", ("A. cat", "B. dog", "C. bird"),
             [f"<think>count {x}</think><answer>B</answer>", f"<think>hmm {y}</think><answer>C</answer>"]),
            ("tracking", "video", (), [f'<think>follow {x}</think><answer>{{"boxes": {boxes}}}</answer>'
                                       .replace("'", '"'), '<think>lost it</think><answer>{"boxes": {"1": '
                                                           '[0, 0, 10, 10]}}</answer>']),
        ]
    return out


def real_media(n: int) -> tuple[list[bytes], list[bytes]]:
    """``n`` distinct real images and videos (the store decodes everything it keeps).

    Images: 1×1 PNGs of ``n`` colours.  Videos: one short H.264 clip, made distinct by a trailing ISO-BMFF
    ``free`` box (which players skip) holding its number.
    """
    import io

    import numpy as np
    from PIL import Image

    from onethinker.media.video_writer import write_video

    images = []
    for i in range(n):
        buf = io.BytesIO()
        Image.new("RGB", (1, 1), (i % 256, i // 256 % 256, 7)).save(buf, "PNG")
        images.append(buf.getvalue())
    with tempfile.TemporaryDirectory() as d:
        clip = Path(write_video(Path(d) / "clip.mp4", (np.full((32, 32, 3), 60 * i, np.uint8) for i in range(4)),
                                fps=4)).read_bytes()
    videos = [clip + (16).to_bytes(4, "big") + b"free" + i.to_bytes(8, "big") for i in range(n)]
    return images, videos


def build(db: Path, n: int, seed: int = 0) -> float:
    """Fill ``db`` with ``n`` mixed records in batches of 5,000 per transaction; returns seconds.

    The media are stored first and not timed: each one is decoded once when stored.
    """
    rng = random.Random(seed)
    store = FeedbackStore(db)
    image_bytes, video_bytes = real_media(N_MEDIA)
    images = [store.put_media(b, "image") for b in image_bytes]
    videos = [store.put_media(b, "video") for b in video_bytes]
    started = time.perf_counter()
    parsed: dict[tuple[str, str], object] = {}
    templates = _templates(rng)
    batch: list[Record] = []
    for i in range(n):
        task, data_type, options, outputs = templates[i % len(templates)]
        question = f"Question {i % 7919} about the scene?"
        answers = tuple(parsed.setdefault((task, o), parse(o, task, data_type=data_type)) for o in outputs)
        roll = rng.random()
        if roll < 0.45:
            fb, outs, ans = Vote(1), outputs[:1], answers[:1]
        elif roll < 0.70:
            fb, outs, ans = Vote(-1), outputs[1:], answers[1:]
        elif roll < 0.85:
            fb, outs, ans = Preference(0), tuple(outputs), answers
        else:
            payload = {"spatial grounding": BoxAnswer((10, 20, 30 + i % 900, 40)), "multiple choice": OptionLetter("A"),
                       "tracking": Track({1: (1, 2, 3, 4), 2: (2, 3, 4, 5)})}[task]
            fb, outs, ans = Correction(payload, keep_reasoning=i % 2 == 0), outputs[:1], answers[:1]
        media = (videos if data_type == "video" else images)[i % N_MEDIA]
        batch.append(Record(
            task=task, data_type=data_type, question=question, options=options,
            prompt=build_prompt(task, question, options, data_type=data_type), outputs=tuple(outs), answers=ans,
            feedback=fb, media=(media,), model_id="OneThinker/OneThinker-8B", backend="bench",
            sampling={"temperature": 0.7}, uid=f"bench-{i}",
        ))
        if len(batch) == 5000:
            store.add_many(batch)
            batch = []
    if batch:
        store.add_many(batch)
    store.close()
    return time.perf_counter() - started


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--writes", type=int, default=1000, help="records per writer process")
    ap.add_argument("--records", type=int, default=100_000, help="records in the export benchmark")
    ap.add_argument("--keep", type=Path, help="work in this folder instead of a temporary one")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = a.keep or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        print("writers  rows      seconds  rows/s   check")
        for procs in (1, 8):
            db = work / f"writers{procs}.db"
            seconds = run_writers(db, procs, a.writes)
            rows, verdict = check(db)
            print(f"{procs:>7}  {procs * a.writes:>6}  {seconds:>9.2f}  {procs * a.writes / seconds:>7,.0f}  "
                  f"{rows} rows readable, integrity {verdict}")
        db = work / "export.db"
        print(f"\nbuilding {a.records:,} records: {build(db, a.records):.1f} s (batches of 5,000 per transaction)")
        started = time.perf_counter()
        importlib.import_module("datasets")  # a one-time cost of the first hf export in a process, shown apart

        print(f"importing datasets (first hf export in a process only): {time.perf_counter() - started:.1f} s")
        print("format  rows                                  media  seconds")
        for fmt in FORMATS:
            res = export(db, fmt, work / "exports" / fmt)
            rows = ", ".join(f"{k} {v:,}" for k, v in res.rows.items())
            print(f"{fmt:<6}  {rows:<36}  {res.media:>5}  {res.seconds:>7.2f}")


if __name__ == "__main__":
    main()
