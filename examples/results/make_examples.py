"""Make the example evaluation: small media, a benchmark-style input file and its results file.

    python examples/results/make_examples.py

Writes, next to this script:

* ``media/shapes.png``, ``media/sign.png``, ``media/sum.png`` and ``media/ball.mp4`` (a red ball
  rolling past a blue square, 4 s at 8 fps), drawn here and encoded with ``onethinker.media``;
* ``eval_input.json``: rows in the official OneThinker evaluation format, one or more per task type
  (image and video segmentation with RLE ground truth), plus one row whose media path leads out of
  the media root, to show how such a path is refused;
* ``results.json``: those rows run through the real evaluation runner (``onethinker.eval.run``)
  with a scripted backend that returns hand-written, ILLUSTRATIVE answers — not model output — and,
  for segmentation, masks that are simply the predicted boxes filled (no SAM model is involved).
  Everything else (prompts, media preprocessing, scoring, metrics) is the real code path.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import asdict
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))

from onethinker.engine import Completion, Sent, prepare  # noqa: E402
from onethinker.engine.base import Backend  # noqa: E402
from onethinker.eval import read_rows, run, write_results  # noqa: E402
from onethinker.media.video_writer import write_video  # noqa: E402
from onethinker.segment.base import ImageMask, VideoMasks  # noqa: E402

W, H = 256, 192  # shapes.png
VW, VH, FPS, SECONDS = 192, 144, 8, 4  # ball.mp4
BALL_R, BALL_Y = 16, 80
NOTE = ("Illustrative example: the outputs are hand-written, not model output, and segmentation masks are the "
        "predicted boxes filled (no segmentation model was run). Media, prompts, scoring and metrics are real.")


def ball_x(t: float) -> float:
    """The ball waits at x=36, rolls to x=156 between 0.5 s and 3.5 s, then stays."""
    return 36 + 120 * min(max((t - 0.5) / 3.0, 0.0), 1.0)


def disk(w: int, h: int, cx: float, cy: float, r: float) -> np.ndarray:
    yy, xx = np.mgrid[0:h, 0:w]
    return (xx - cx) ** 2 + (yy - cy) ** 2 <= r * r


def grid_box(x1, y1, x2, y2, w, h) -> list[int]:
    return [round(x1 * 1000 / w), round(y1 * 1000 / h), round(x2 * 1000 / w), round(y2 * 1000 / h)]


def rle(mask: np.ndarray) -> dict:
    from pycocotools import mask as coco

    r = coco.encode(np.asfortranarray(mask.astype(np.uint8)))
    return {"size": [int(v) for v in r["size"]], "counts": r["counts"].decode("ascii")}


# ---------------------------------------------------------------------------------------------
# Media


def draw_media(media: Path) -> None:
    from PIL import Image, ImageDraw, ImageFont

    media.mkdir(parents=True, exist_ok=True)
    img = Image.new("RGB", (W, H), (236, 236, 230))
    d = ImageDraw.Draw(img)
    d.rectangle([30, 40, 90, 100], fill=(40, 80, 200))  # blue square
    d.ellipse([170 - 35, 110 - 35, 170 + 35, 110 + 35], fill=(40, 160, 70))  # green circle
    d.polygon([(40, 170), (80, 120), (120, 170)], fill=(240, 140, 30))  # orange triangle
    img.save(media / "shapes.png", optimize=True)

    font = ImageFont.load_default(size=22)
    for name, text, bg in (("sign.png", "OPEN 24 HOURS", (250, 215, 60)), ("sum.png", "2 + 3 x 4 = ?", (250, 250, 250))):
        im = Image.new("RGB", (220, 60), bg)
        ImageDraw.Draw(im).text((12, 16), text, fill=(20, 20, 20), font=font)
        im.save(media / name, optimize=True)

    def frames():
        for k in range(FPS * SECONDS):
            f = np.full((VH, VW, 3), 225, np.uint8)
            f[20:52, 140:172] = (40, 80, 200)  # blue square, top right
            f[disk(VW, VH, ball_x(k / FPS), BALL_Y, BALL_R)] = (210, 40, 40)
            yield f

    write_video(media / "ball.mp4", frames(), FPS, crf=30, preset="veryslow")


# ---------------------------------------------------------------------------------------------
# Rows (official evaluation format) and illustrative answers


def ball_box(t: float) -> list[int]:
    x = ball_x(t)
    return grid_box(x - BALL_R, BALL_Y - BALL_R, x + BALL_R, BALL_Y + BALL_R, VW, VH)


def rows_and_answers() -> tuple[list[dict], dict[int, str]]:
    def a(reasoning: str, answer) -> str:
        text = answer if isinstance(answer, str) else json.dumps(answer)
        return f"<think>{reasoning}</think>\n<answer>{text}</answer>"

    green = disk(W, H, 170, 110, 35)
    key = [f"{k:05d}" for k in range(FPS * SECONDS)]
    rows, answers = [], {}

    def add(row: dict, answer: str) -> None:
        row = {"problem_id": len(rows) + 1, **row}
        rows.append(row)
        answers[row["problem_id"]] = answer

    add({"problem": "Which way does the red ball move?", "problem_type": "multiple choice", "data_type": "video",
         "path": "./ball.mp4", "options": ["A. left", "B. right", "C. up", "D. it does not move"],
         "solution": "<answer>B</answer>"},
        a("The ball starts on the left and ends on the right.", "B"))
    add({"problem": "Is the image a frame of the video?", "problem_type": "multiple choice",
         "data_type": "video-image", "path": "./ball.mp4", "additional_path": "./shapes.png",
         "options": ["A. yes", "B. no"], "solution": "<answer>B</answer>"},
        a("Both show a blue square, so it may be a frame.", "A"))
    add({"problem": "How many shapes are in the picture?", "problem_type": "numerical", "data_type": "image",
         "path": "./shapes.png", "solution": "<answer>3</answer>"},
        a("A square, a circle and a triangle.", "3"))
    add({"problem": "For how many seconds does the ball roll?", "problem_type": "regression", "data_type": "video",
         "path": "./ball.mp4", "solution": "<answer>3.0</answer>"},
        a("It moves from about 0.5 s to about 3 s.", "2.5"))
    add({"problem": "What does the sign say?", "problem_type": "OCR", "data_type": "image", "path": "./sign.png",
         "solution": "<answer>OPEN 24 HOURS</answer>"},
        a("Black letters on yellow.", "OPEN 24 HOUR"))
    add({"problem": "Describe what happens in the video.", "problem_type": "open-ended", "data_type": "video",
         "path": "./ball.mp4", "solution": "<answer>A red ball rolls from left to right below a blue square.</answer>"},
        a("The ball moves; the square stays.", "A red ball moves to the right under a blue square."))
    add({"problem": "Solve the expression on the board.", "problem_type": "math", "data_type": "image",
         "path": "./sum.png", "solution": "<answer>14</answer>"},
        a("Multiplication first: 3 x 4 = 12, plus 2.", "$14$"))
    add({"problem": "When does the red ball move?", "problem_type": "temporal grounding", "data_type": "video",
         "path": "./ball.mp4", "solution": "<answer>" + json.dumps({"time": [0.5, 3.5]}) + "</answer>"},
        a("It starts a little after the beginning and stops before the end.", {"time": [0.75, 3.5]}))
    add({"problem": "Where is the blue square?", "problem_type": "spatial grounding", "data_type": "image",
         "path": "./shapes.png", "solution": "<answer>" + json.dumps({"boxes": grid_box(30, 40, 90, 100, W, H)})
         + "</answer>"},
        a("Top left.", {"boxes": grid_box(26, 44, 92, 108, W, H)}))
    st_truth = {"time": [0.5, 3.5], "boxes": {str(s): ball_box(s) for s in (1, 2, 3)}}
    st_pred = {"time": [1.0, 3.5], "boxes": {"1": ball_box(1.2), "2": ball_box(2.3), "3": ball_box(3.0)}}
    add({"problem": "When and where does the red ball roll?", "problem_type": "spatial-temporal grounding",
         "data_type": "video", "path": "./ball.mp4", "solution": "<answer>" + json.dumps(st_truth) + "</answer>"},
        a("From about 1 s to 3.5 s, along the middle.", st_pred))
    track_truth = {"boxes": {str(s): ball_box(s) for s in (1, 2, 3, 4)}}
    track_pred = {"boxes": {"1": ball_box(1.0), "2": ball_box(2.4), "3": ball_box(3.5)}}
    add({"problem": "Track the red ball.", "problem_type": "tracking", "data_type": "video", "path": "./ball.mp4",
         "solution": "<answer>" + json.dumps(track_truth) + "</answer>"},
        a("The ball moves right; I lost it in the last second.", track_pred))
    add({"problem": "Segment the green circle.", "problem_type": "segmentation", "data_type": "image",
         "path": "./shapes.png", "resolution": {"width": W, "height": H},
         "segmentation_output": {"segmentation_rle": rle(green)}, "solution": ""},
        a("The circle is right of centre.", {"boxes": grid_box(138, 78, 204, 144, W, H),
                                              "positive_points": [[664, 573], [620, 520], [700, 620]],
                                              "negative_points": [[200, 300], [900, 100], [100, 900]]}))
    add({"problem": "Segment the red ball.", "problem_type": "segmentation", "data_type": "video",
         "path": "./ball.mp4", "fps": FPS, "resolution": {"width": VW, "height": VH},
         "segmentation_output": {"frames": key, "segmentation_rle": {
             k: rle(disk(VW, VH, ball_x(i / FPS), BALL_Y, BALL_R)) for i, k in enumerate(key)}},
         "solution": ""},
        a("The ball is clearly visible at 2 s.", {"time": 2.0, "boxes": ball_box(2.0),
                                                  "positive_points": [[500, 555], [480, 540], [520, 570]],
                                                  "negative_points": [[100, 100], [900, 900], [800, 200]]}))
    add({"problem": "Which shape is on the left? (this row's path leads out of the media root on purpose)",
         "problem_type": "multiple choice", "data_type": "image", "path": "../../../README.md",
         "options": ["A. square", "B. circle"], "solution": "<answer>A</answer>"},
        a("(never asked)", "A"))
    return rows, answers


# ---------------------------------------------------------------------------------------------
# The scripted backend and the illustrative segmenter


class IllustrativeBackend(Backend):
    """Answers each question with its hand-written text; media go through the real preprocessing."""

    name = "illustrative"

    def __init__(self, answers: dict[str, str]) -> None:
        super().__init__()
        self.answers = answers

    def generate(self, request) -> Completion:
        prep = prepare(request)
        sent = Sent(self.name, "hand-written answers (illustrative)", prep.task.id, prep.data_type, prep.prompt,
                    prep.messages, prep.describe_media(), asdict(request.sampling))
        return Completion(self.answers[request.question], "stop", None, None, None, None, sent)


class BoxFillSegmenter:
    """Masks that are the prompt box filled — a stand-in so the example needs no SAM weights."""

    name = "box-fill (illustrative)"

    @staticmethod
    def _fill(w: int, h: int, prompt) -> np.ndarray:
        m = np.zeros((h, w), bool)
        if prompt.box is not None:
            x1, y1, x2, y2 = (int(v) for v in prompt.box)
            m[y1:y2, x1:x2] = True
        return m

    def segment_image(self, image, prompt):
        return ImageMask(self._fill(image.shape[1], image.shape[0], prompt))

    def segment_video(self, frames, key_index, prompt, boxes=None, progress=None):
        out = VideoMasks.for_frames(frames, key_index)
        for i in range(len(frames)):  # the key frame's box, held still: the ball moves away from it
            out.set(i, self._fill(out.width, out.height, prompt))
        return out

    def release(self) -> None:
        pass


def main(argv: list[str] | None = None) -> None:
    import argparse

    argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                            epilog="Writes media/, eval_input.json and results.json next to this script.").parse_args(argv)
    media = HERE / "media"
    draw_media(media)
    rows, answers = rows_and_answers()
    (HERE / "eval_input.json").write_text(json.dumps(rows, indent=1) + "\n", encoding="utf-8")
    by_question = {r["problem"]: answers[r["problem_id"]] for r in rows}
    out = HERE / "results.json"
    out.unlink(missing_ok=True)
    cwd = os.getcwd()
    os.chdir(HERE)  # relative paths in the file's meta
    try:
        run("eval_input.json", "results.json", IllustrativeBackend(by_question), media_root="media",
            segmenter=BoxFillSegmenter())
        res = read_rows("results.json")
        write_results("results.json", res.results, res.metrics, {**res.meta, "note": NOTE})
    finally:
        os.chdir(cwd)
    total = sum(p.stat().st_size for p in media.iterdir())
    print(f"wrote {len(rows)} rows; media {total / 1024:.0f} kB; {out}")


if __name__ == "__main__":
    main()
