"""Write the app's example media and one example request per task (``examples/app/``).

    python examples/make_media.py            # rewrites examples/app/*.png, moving.mp4, examples.json

Everything is drawn here from fixed geometry (no downloads, no randomness), so each example's
reference answer is exact: the boxes below are the shapes' own boxes on the 0–1000 grid.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent / "app"

BG = (236, 232, 222)
RED, GREEN, BLUE = (220, 40, 40), (40, 170, 70), (40, 80, 220)

# shapes.png, 320×240: (kind, colour, box in pixels)
SHAPES_SIZE = (320, 240)
CIRCLE = (40, 80, 120, 160)
SQUARE = (150, 60, 230, 140)
TRIANGLE = (240, 130, 310, 210)

# moving.mp4, 192×144 at 10 fps for 6 s: a red circle (radius 14) crosses left to right; a blue
# square stands still from 2.0 s until 4.5 s.
VIDEO_SIZE, VIDEO_FPS, VIDEO_SECONDS = (192, 144), 10.0, 6.0
RADIUS = 14
BLUE_BOX, BLUE_FROM, BLUE_UNTIL = (120, 30, 160, 70), 2.0, 4.5


def circle_centre(t: float) -> tuple[float, float]:
    return 20 + 150 * t / VIDEO_SECONDS, 100.0


def circle_box(t: float) -> tuple[float, float, float, float]:
    x, y = circle_centre(t)
    return (x - RADIUS, y - RADIUS, x + RADIUS, y + RADIUS)


def grid(box, size) -> list[int]:
    w, h = size
    return [round(box[0] * 1000 / w), round(box[1] * 1000 / h), round(box[2] * 1000 / w), round(box[3] * 1000 / h)]


def grid_point(p, size) -> list[int]:
    return [round(p[0] * 1000 / size[0]), round(p[1] * 1000 / size[1])]


# ---------------------------------------------------------------------------------------------
# Drawing


def _canvas(size) -> np.ndarray:
    img = np.empty((size[1], size[0], 3), np.uint8)
    img[:] = BG
    return img


def shapes_image() -> np.ndarray:
    import cv2

    img = _canvas(SHAPES_SIZE)
    x1, y1, x2, y2 = CIRCLE
    cv2.circle(img, ((x1 + x2) // 2, (y1 + y2) // 2), (x2 - x1) // 2, RED, -1, cv2.LINE_AA)
    cv2.rectangle(img, SQUARE[:2], (SQUARE[2] - 1, SQUARE[3] - 1), BLUE, -1)
    x1, y1, x2, y2 = TRIANGLE
    pts = np.array([[(x1 + x2) // 2, y1], [x2 - 1, y2 - 1], [x1, y2 - 1]], np.int32)
    cv2.fillPoly(img, [pts], GREEN, cv2.LINE_AA)
    return img


def text_image(text: str, size=(320, 120), scale: float = 1.1) -> np.ndarray:
    import cv2

    img = _canvas(size)
    cv2.rectangle(img, (10, 10), (size[0] - 11, size[1] - 11), (30, 30, 30), 3)
    (tw, th), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, 2)
    cv2.putText(img, text, ((size[0] - tw) // 2, (size[1] + th) // 2), cv2.FONT_HERSHEY_SIMPLEX, scale,
                (20, 20, 20), 2, cv2.LINE_AA)
    return img


def video_frame(t: float) -> np.ndarray:
    import cv2

    img = _canvas(VIDEO_SIZE)
    if BLUE_FROM <= t < BLUE_UNTIL:
        cv2.rectangle(img, BLUE_BOX[:2], (BLUE_BOX[2] - 1, BLUE_BOX[3] - 1), BLUE, -1)
    x, y = circle_centre(t)
    cv2.circle(img, (round(x), round(y)), RADIUS, RED, -1, cv2.LINE_AA)
    return img


# ---------------------------------------------------------------------------------------------
# The examples


def examples() -> list[dict]:
    """One request per task, with its exact reference answer (``truth``) where one is known."""
    s, v = SHAPES_SIZE, VIDEO_SIZE
    sq, tri = grid(SQUARE, s), grid(TRIANGLE, s)
    tri_in = [grid_point(p, s) for p in ((275, 190), (265, 180), (285, 195))]
    tri_out = [grid_point(p, s) for p in ((245, 135), (305, 135), (200, 220))]
    seg_t = 3.0
    cb = circle_box(seg_t)
    cx, cy = circle_centre(seg_t)
    circ_in = [grid_point(p, v) for p in ((cx, cy), (cx - 6, cy), (cx + 6, cy))]
    circ_out = [grid_point(p, v) for p in ((10, 10), (180, 10), (cx, 135))]
    st_boxes = {str(k): grid(BLUE_BOX, v) for k in (2, 3, 4)}
    first = grid(circle_box(0.0), v)
    return [
        dict(task="multiple choice", image="shapes.png", question="What colour is the circle?",
             options=["A. red", "B. green", "C. blue", "D. yellow"], truth="A"),
        dict(task="numerical", image="shapes.png", question="How many shapes are in the picture?", truth="3"),
        dict(task="regression", video="moving.mp4", question="For how many seconds is the blue square visible?",
             truth=str(BLUE_UNTIL - BLUE_FROM)),
        dict(task="ocr", image="sign.png", question="What does the sign say?", truth="OPEN 24 HOURS"),
        dict(task="open-ended", video="moving.mp4", question="What does the red circle do?",
             truth="The red circle moves from the left to the right."),
        dict(task="captioning", image="shapes.png", question="Describe the picture in one sentence.",
             truth="A red circle, a blue square and a green triangle on a light background."),
        dict(task="math", image="sum.png", question="What is the result of the sum on the card?", truth="12"),
        dict(task="temporal grounding", video="moving.mp4", question="When is the blue square visible?",
             truth=json.dumps({"time": [BLUE_FROM, BLUE_UNTIL]})),
        dict(task="spatial grounding", image="shapes.png", question="Where is the blue square?",
             truth=json.dumps({"boxes": sq})),
        dict(task="spatial-temporal grounding", video="moving.mp4",
             question="Where is the blue square while it is visible?",
             truth=json.dumps({"time": [BLUE_FROM, BLUE_UNTIL], "boxes": st_boxes})),
        dict(task="tracking", video="moving.mp4", question="Track the red circle.", object_box=first),
        dict(task="segmentation-image", image="shapes.png", question="Segment the green triangle.",
             truth=json.dumps({"boxes": tri, "positive_points": tri_in, "negative_points": tri_out})),
        dict(task="segmentation-video", video="moving.mp4", question="Segment the red circle.",
             truth=json.dumps({"time": seg_t, "boxes": grid(cb, v), "positive_points": circ_in,
                               "negative_points": circ_out})),
    ]


def write_all(out: Path = ROOT) -> list[Path]:
    from PIL import Image

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from onethinker.media.video_writer import write_video

    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, img in (("shapes.png", shapes_image()), ("sign.png", text_image("OPEN 24 HOURS")),
                      ("sum.png", text_image("7 + 5 = ?", scale=1.4))):
        Image.fromarray(img).save(out / name, optimize=True)
        written.append(out / name)
    n = int(VIDEO_SECONDS * VIDEO_FPS)
    frames = (video_frame(i / VIDEO_FPS) for i in range(n))
    write_video(out / "moving.mp4", frames, VIDEO_FPS, crf=28, preset="veryslow")
    written.append(out / "moving.mp4")
    (out / "examples.json").write_text(json.dumps(examples(), indent=1) + "\n", encoding="utf-8")
    written.append(out / "examples.json")
    return written


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    ap.add_argument("--out", type=Path, default=ROOT, help=f"folder to write into (default {ROOT})")
    args = ap.parse_args(argv)
    for p in write_all(args.out):
        print(p, p.stat().st_size, "bytes")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
