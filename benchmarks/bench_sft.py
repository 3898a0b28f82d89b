"""SFT collation speed: our video collator against TRL's image collator at equal token counts.  Prints, asserts nothing.

    python benchmarks/bench_sft.py                    # batch 4, 8 s 448×320 clip, 10 timed batches
    python benchmarks/bench_sft.py --seconds 16 --batch 8 --reps 20

One batch = decode / load the media, resize, run the processor, build labels (assistant tokens only):
everything the trainer waits for before a step.  Three collators run in the same process on the tiny
Qwen3-VL processor of the tests (the model's size does not matter here):

1. baseline — TRL's ``DataCollatorForVisionLanguageModeling`` on image rows (images given as paths);
2. ours, the same image rows — ``train.collators.VisionSFTCollator`` (engine image preprocessing);
3. ours, video rows — an H.264 clip through the official sampling (2 fps, ≤ 128 frames, 100,352 px per frame),
   with the image rows' picture sized so that both have exactly the same number of vision tokens.

Reported: samples/s (median over the timed batches, the three taking turns) and tokens per sample for each,
and the ratios.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

ANSWER = '<think>\nThe bar moves from left to right.\n</think>\n<answer>{"time": [1.0, 6.5]}</answer>'


def _near_square(tokens: int) -> tuple[int, int]:
    """(rows, cols) of LLM tokens with rows × cols == tokens, as square as possible."""
    rows = max(r for r in range(1, int(tokens ** 0.5) + 1) if tokens % r == 0)
    return rows, tokens // rows


def _time(cases: dict, batch: int, reps: int) -> dict[str, tuple[float, int]]:
    """Per case: (median samples/s, tokens per sample) over ``reps`` batches after one warm-up batch.  The cases
    take turns batch by batch, so a busy machine slows them alike."""
    tokens = {name: int(collate([dict(r) for r in rows[:batch]])["attention_mask"][0].sum())
              for name, (collate, rows) in cases.items()}
    times: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(reps):
        for name, (collate, rows) in cases.items():
            t0 = time.perf_counter()
            collate([dict(r) for r in rows[:batch]])
            times[name].append(time.perf_counter() - t0)
    return {name: (batch / statistics.median(times[name]), tokens[name]) for name in cases}


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--reps", type=int, default=10)
    ap.add_argument("--seconds", type=float, default=8.0, help="clip length (2 fps: 2 frames a second)")
    ap.add_argument("--width", type=int, default=448)
    ap.add_argument("--height", type=int, default=320)
    args = ap.parse_args(argv)

    import numpy as np
    from PIL import Image
    from transformers import AutoProcessor
    from trl.trainer.sft_trainer import DataCollatorForVisionLanguageModeling

    from tests.engine.clips import make_clip
    from tests.engine.tiny_model import build_tiny_qwen3vl
    from train.collators import VisionSFTCollator
    from train.data import load_sft, training_template
    from train.sft import OneThinkerSFTConfig

    tmp = Path(tempfile.mkdtemp(prefix="bench_sft_"))
    processor = AutoProcessor.from_pretrained(build_tiny_qwen3vl(tmp / "tiny"))
    clip = make_clip(tmp / "clip.mp4", args.width, args.height, 30.0, args.seconds)
    limits = OneThinkerSFTConfig(output_dir=str(tmp / "out"), bf16=False).media_limits()
    ours = VisionSFTCollator(processor, limits)

    def rows(kind: str, path: Path, pad: str = "") -> list[dict]:
        import json

        data = [{"messages": [{"role": "user", "content": f"<{kind}>What happens? ({i}){pad}"},
                              {"role": "assistant", "content": ANSWER}],
                 "images": [path.name] if kind == "image" else [], "videos": [path.name] if kind == "video" else []}
                for i in range(args.batch)]
        f = tmp / f"{kind}.json"
        f.write_text(json.dumps(data))
        return list(load_sft(f, tmp))

    video_rows = rows("video", clip)
    t, h, w = ours(video_rows[:1])["video_grid_thw"][0].tolist()
    vision_tokens = t * h * w // 4  # 2×2 patches merge into one LLM token
    r, c = _near_square(vision_tokens)
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (r * 32, c * 32, 3), dtype=np.uint8)).save(tmp / "pic.png")
    # the video also carries a "<t seconds>" marker and vision start / end tokens per frame pair: the image
    # rows' question gets as many filler tokens, so that both batches are exactly as long
    def length(pad: str) -> int:
        return int(ours(rows("image", tmp / "pic.png", pad)[:1])["attention_mask"][0].sum())

    video_len, pad = int(ours(video_rows[:1])["attention_mask"][0].sum()), ""
    for filler in (" .", " x", "x"):
        per = length(filler * 10) - length("")
        if per > 0 and per % 10 == 0 and (video_len - length("")) % (per // 10) == 0:
            pad = filler * ((video_len - length("")) // (per // 10))
            break
    image_rows = rows("image", tmp / "pic.png", pad)
    trl_rows = [{"messages": [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": f"What happens? ({i}){pad}"}]},
                              {"role": "assistant", "content": [{"type": "text", "text": ANSWER}]}],
                 "images": [str(tmp / "pic.png")]} for i in range(args.batch)]
    trl = DataCollatorForVisionLanguageModeling(processor, assistant_only_loss=True,
                                                chat_template=training_template(processor))

    print(f"batch {args.batch}, {args.reps} timed batches; clip {args.width}×{args.height}, {args.seconds:g} s at 30 fps "
          f"→ {t * 2} frames of {w * 16}×{h * 16} px = {vision_tokens} vision tokens; picture {c * 32}×{r * 32} px "
          f"= {r * c} vision tokens")
    res = _time({"trl": (trl, trl_rows), "image": (ours, image_rows), "video": (ours, video_rows)}, args.batch,
                args.reps)
    (base, base_tok), (img, img_tok), (vid, vid_tok) = res["trl"], res["image"], res["video"]
    print(f"{'collator':46s} {'samples/s':>10s} {'tokens/sample':>14s}")
    print(f"{'TRL DataCollatorForVisionLanguageModeling, image':46s} {base:10.1f} {base_tok:14d}")
    print(f"{'ours (VisionSFTCollator), same image rows':46s} {img:10.1f} {img_tok:14d}")
    print(f"{'ours (VisionSFTCollator), video rows':46s} {vid:10.1f} {vid_tok:14d}")
    print(f"ours/TRL on images: {img / base:.2f}×   video/TRL image at equal tokens: {vid / base:.2f}×")


if __name__ == "__main__":
    main()
