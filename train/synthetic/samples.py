"""One generator per task: a scene, a question, short true reasoning and the exact answer payload.

Answers are payloads from :mod:`onethinker.payloads` on the 0–1000 grid (integers, through the one
``CoordAdapter``), so they are written in the output contract by ``payload.answer_text()`` and
score 1.0 against themselves.  Reasoning is templated and states only facts of the scene.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from onethinker.coords import CoordAdapter
from onethinker.payloads import (
    BoxAnswer, Number, OptionLetter, Payload, SegmentationPrompt, SpatioTemporal, Text, TimeSpan, Track,
)
from onethinker.tasks import MAX_TRACK_SECONDS
from train.synthetic.scene import COLOURS, SHAPES, PxBox, Shape, box_of, draw, place_shapes, random_background
from train.synthetic.video import Mover, VideoScene, random_video

IMAGE_SIZES = (128, 160, 192, 224, 256)
LETTERS = "ABCD"


@dataclass
class Sample:
    """One synthetic example, before its media are written.

    ``image`` is an H×W×3 array, ``video`` a :class:`VideoScene`; ``masks`` holds the exact target
    masks for segmentation (one for an image; one per frame for a video).  ``meta`` holds facts that other
    writers need: an image multiple-choice question's ``scene``, its shapes listed without the reasoning's
    marks, which the text-only drills show in their prompt.
    """

    task: str  # task id in onethinker.tasks
    data_type: str  # "image" | "video"
    question: str
    think: str
    answer: Payload
    options: list[str] = field(default_factory=list)
    image: np.ndarray | None = None
    video: VideoScene | None = None
    masks: list[np.ndarray] | None = None
    meta: dict[str, Any] = field(default_factory=dict)


# ---------------------------------------------------------------------------------------------
# Helpers


def _grid_box(box: PxBox, width: int, height: int) -> tuple[float, float, float, float]:
    return CoordAdapter(width, height).box_from_pixels_int(box).value  # type: ignore[return-value]


def _grid_point(p: tuple[float, float], width: int, height: int) -> tuple[float, float]:
    v = CoordAdapter(width, height).point_from_pixels(p).value
    return float(round(v[0])), float(round(v[1]))  # type: ignore[index]


def _region(box: PxBox, width: int, height: int) -> str:
    cx, cy = (box[0] + box[2]) / 2 / width, (box[1] + box[3]) / 2 / height
    v = "top" if cy < 1 / 3 else "bottom" if cy > 2 / 3 else "middle"
    h = "left" if cx < 1 / 3 else "right" if cx > 2 / 3 else "centre"
    return "centre" if (v, h) == ("middle", "centre") else f"{v} {h}" if v != "middle" else f"middle {h}"


def _listing(names: list[str]) -> str:
    items = [f"a {n}" for n in names]
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def shape_sizes(width: int, height: int, n: int) -> tuple[int, int]:
    """Smallest and largest shape side for ``n`` shapes: large when there are few (a box of a fifth to two
    fifths of the picture, which a small model can localise), down to an eighth to a quarter for four or five."""
    side = min(width, height)
    hi = side * 2 // 5 if n <= 2 else side // 3 if n == 3 else side // 4
    lo = side // 5 if n <= 3 else side // 8
    return max(20, lo), max(28, hi)


def _image_scene(rng: np.random.Generator, n: int, distinct: str = "name"):
    w = int(IMAGE_SIZES[int(rng.integers(len(IMAGE_SIZES)))])
    h = int(IMAGE_SIZES[int(rng.integers(len(IMAGE_SIZES)))])
    bg = random_background(rng)
    lo, hi = shape_sizes(w, h, n)
    shapes = place_shapes(rng, w, h, n, min_size=lo, max_size=hi, distinct=distinct)
    picture, masks = draw(bg.pixels(w, h), shapes)
    return w, h, bg, shapes, picture, masks


def _option_scan(options: list[str], letter: str) -> str:
    """Reasoning that reads the options in order up to the right one, then names its letter.

    A small model copies forwards (after "option B is" comes what follows "B." in the prompt) far sooner
    than it learns to look a value up backwards to find its letter: with "So the answer is option C" after
    the value alone, a 5 M model trained on 19,000 text-only drills still picked the letter at chance;
    reading the options in order, it answered every count question right (README, OneThinker-nano)."""
    upto = LETTERS[: LETTERS.index(letter) + 1]
    values = dict(o.split(". ", 1) for o in options)
    read = ", ".join(f"option {x} is {values[x]}" for x in upto)
    return f"{read[0].upper()}{read[1:]}. So the answer is option {letter}."


def _options(rng: np.random.Generator, right: str, pool: list[str]) -> tuple[list[str], str]:
    others = [p for p in pool if p != right]
    picks = [others[i] for i in rng.permutation(len(others))[:3]] + [right]
    order = rng.permutation(len(picks))
    opts = [picks[i] for i in order]
    letter = LETTERS[opts.index(right)]
    return [f"{LETTERS[i]}. {o}" for i, o in enumerate(opts)], letter


def _inside_points(mask: np.ndarray, centre: tuple[float, float], size: int) -> list[tuple[float, float]]:
    """Three points well inside ``mask``: nearest eroded-mask pixels to three spread targets."""
    core = _erode(mask, max(2, size // 8))
    if not core.any():
        core = mask
    ys, xs = np.nonzero(core)
    cx, cy = centre
    off = size / 5
    targets = [(cx, cy), (cx - off, cy + off / 2), (cx + off, cy + off / 2)]
    pts: list[tuple[float, float]] = []
    for tx, ty in targets:
        d = (xs - tx) ** 2 + (ys - ty) ** 2
        for p in pts:  # keep points apart
            d = d + 1e6 * (((xs - p[0]) ** 2 + (ys - p[1]) ** 2) < 9)
        i = int(np.argmin(d))
        pts.append((float(xs[i]) + 0.5, float(ys[i]) + 0.5))
    return pts


def _outside_points(mask: np.ndarray, box: PxBox) -> list[tuple[float, float]]:
    """Three background points: inside the box's corners when off the object, else just outside it."""
    h, w = mask.shape
    near = _dilate(mask, 3)
    x1, y1, x2, y2 = box
    inset = [(x1 + 1, y1 + 1), (x2 - 2, y1 + 1), (x1 + 1, y2 - 2), (x2 - 2, y2 - 2)]
    outside = [(x1 - 5, y1 - 5), (x2 + 4, y1 - 5), (x1 - 5, y2 + 4), (x2 + 4, y2 + 4),
               ((x1 + x2) // 2, y1 - 6), ((x1 + x2) // 2, y2 + 5), (x1 - 6, (y1 + y2) // 2), (x2 + 5, (y1 + y2) // 2)]
    pts = []
    for x, y in inset + outside:
        if 0 <= x < w and 0 <= y < h and not near[y, x] and (x + 0.5, y + 0.5) not in pts:
            pts.append((x + 0.5, y + 0.5))
        if len(pts) == 3:
            return pts
    raise ValueError("no room for three negative points around the object")  # shapes keep a margin


def _erode(mask: np.ndarray, r: int) -> np.ndarray:
    out = mask.copy()
    for dy in range(-r, r + 1):
        for dx in range(-r, r + 1):
            out &= np.roll(np.roll(mask, dy, axis=0), dx, axis=1)
    return out


def _dilate(mask: np.ndarray, r: int) -> np.ndarray:
    out = mask.copy()
    for dy in range(-r, r + 1):
        for dx in range(-r, r + 1):
            out |= np.roll(np.roll(mask, dy, axis=0), dx, axis=1)
    return out


def _seg_payload(mask: np.ndarray, shape_size: int, w: int, h: int, time: float | None = None) -> SegmentationPrompt:
    box = box_of(mask)
    assert box is not None
    ys, xs = np.nonzero(mask)
    centre = (float(xs.mean()) + 0.5, float(ys.mean()) + 0.5)
    pos = tuple(_grid_point(p, w, h) for p in _inside_points(mask, centre, shape_size))
    neg = tuple(_grid_point(p, w, h) for p in _outside_points(mask, box))
    return SegmentationPrompt(_grid_box(box, w, h), pos, neg, time)


# ---------------------------------------------------------------------------------------------
# Image tasks


def multiple_choice_image(rng: np.random.Generator) -> Sample:
    kind = int(rng.integers(3))
    n = int(rng.integers(1, 5)) if kind == 2 else int(rng.integers(2, 4))
    w, h, bg, shapes, picture, _ = _image_scene(rng, n, distinct="colour")
    names = [s.name for s in shapes]
    unique_kind = [s for s in shapes if sum(o.kind == s.kind for o in shapes) == 1]
    if kind == 0 and not unique_kind:
        kind = 1  # "what colour is the circle?" needs exactly one circle
    target = (unique_kind if kind == 0 else shapes)[int(rng.integers(len(unique_kind if kind == 0 else shapes)))]
    # colour and shape questions mark the asked shape while the listing names it, and write the asked value right
    # after the mark, so that the answer is a copy after the only "asked about," in the text: text-only drills
    # from the twelfth run's vision warm-up, 500 steps, held-out colour / shape drills 0.98 / 1.00, against 0.56 /
    # 0.73 with the value looked up in the listing afterwards ("The blue shape is a square.", versions 3 to 7).  Colour
    # stays first, as in every listing: the sixth run listed a colour question's scene right 2 times in 18 when
    # each shape came before its colour ("a triangle that is red"), 28 in 30 written colour first
    if kind == 0:
        question = f"What colour is the {target.kind}?"
        opts, letter = _options(rng, target.colour, list(COLOURS))
        marked = [f"{o.name} asked about, {o.colour}" if o is target else o.name for o in shapes]
        think = f"The image shows {_listing(marked)}. The one asked about, {target.colour}."
    elif kind == 1:
        question = f"Which shape is {target.colour}?"
        opts, letter = _options(rng, target.kind, list(SHAPES))
        marked = [f"{o.colour} one asked about, a {o.kind}" if o is target else o.name for o in shapes]
        think = f"The image shows {_listing(marked)}. The one asked about, a {target.kind}."
    else:
        question = "How many shapes are in the image?"
        opts, letter = _options(rng, str(n), [str(i) for i in range(1, 7)])
        think = f"The image shows {_listing(names)}. That is {n} shape{'s' if n > 1 else ''}."
    think += " " + _option_scan(opts, letter)
    return Sample("multiple choice", "image", question, think, OptionLetter(letter), opts, image=picture,
                  meta={"scene": _listing(names)})


def numerical_image(rng: np.random.Generator) -> Sample:
    n = int(rng.integers(1, 6))
    w, h, bg, shapes, picture, _ = _image_scene(rng, n)
    kinds = [s.kind for s in shapes]
    if rng.random() < 0.5:
        question, count = "How many shapes are in the image?", n
        think = f"The image shows {_listing([s.name for s in shapes])}. Counting them gives {n}."
    else:
        kind = kinds[int(rng.integers(len(kinds)))] if rng.random() < 0.8 else SHAPES[int(rng.integers(len(SHAPES)))]
        count = kinds.count(kind)
        question = f"How many {kind}s are in the image?"
        verb = f"is a {kind}" if count == 1 else f"are {kind}s"
        think = f"The image shows {_listing([s.name for s in shapes])}. {count} of them {verb}."
    return Sample("numerical", "image", question, think, Number(float(count)), image=picture)


def spatial_grounding_image(rng: np.random.Generator) -> Sample:
    """Spatial grounding ("Find the red circle."): the reasoning lists every shape from left to right with its
    box, marking the asked one, then repeats the asked one's box.  Naming a shape and writing its box next, while
    that shape is in view, then copying text, is what a 5 M model learns; finding the asked shape among several
    and writing its box straight away was not (600 steps of spatial SFT: mean IoU 0.27 this way, 0.19 with a
    region word instead)."""
    w, h, bg, shapes, picture, masks = _image_scene(rng, int(rng.integers(1, 4)))
    i = int(rng.integers(len(shapes)))
    grid = [_grid_box(box_of(m), w, h) for m in masks]
    boxes = [[int(v) for v in b] for b in grid]
    order = sorted(range(len(shapes)), key=lambda k: (boxes[k][0], k))  # left to right
    # the listing marks the asked shape where it names it ("a red circle asked about at [...]"), and the box is
    # then repeated after the same words ("The one asked about at [...]"), so that the repeat is a copy keyed on
    # words that occur once.  Marking is a comparison with the question while the shape is named; version 5
    # matched the shape's name against the listing afterwards ("The one asked about is the red circle at [...]").
    # 1,200 spatial-only SFT steps from the language warm-up, 108 test pictures, three data seeds: mean IoU 0.43,
    # 0.52 and 0.51 against 0.36, 0.44 and 0.37; three-shape pictures 0.26, 0.38 and 0.38 against 0.17, 0.19, 0.14
    listed = _listing([f"{shapes[k].name}{' asked about' if k == i else ''} at {boxes[k]}" for k in order])
    think = f"The image shows {listed}. The one asked about at {boxes[i]}."
    return Sample("spatial grounding", "image", f"Find the {shapes[i].name}.", think, BoxAnswer(grid[i]),
                  image=picture)


def segmentation_image(rng: np.random.Generator) -> Sample:
    w, h, bg, shapes, picture, masks = _image_scene(rng, int(rng.integers(1, 4)))
    i = int(rng.integers(len(shapes)))
    box = box_of(masks[i])
    think = (f"The {shapes[i].name} is in the {_region(box, w, h)}. Positive points go on the {shapes[i].kind}, "
             f"negative points on the background next to it.")
    return Sample("segmentation-image", "image", f"Segment the {shapes[i].name}.", think,
                  _seg_payload(masks[i], shapes[i].size, w, h), image=picture, masks=[masks[i]])


def captioning_image(rng: np.random.Generator) -> Sample:
    w, h, bg, shapes, picture, _ = _image_scene(rng, int(rng.integers(1, 4)))
    names = [s.name for s in shapes]
    ground = "plain" if bg.texture == "plain" else bg.texture
    caption = f"{_listing(names)[0].upper()}{_listing(names)[1:]} on a {ground} background."
    think = f"I see {_listing(names)}. The background is {ground}."
    return Sample("captioning", "image", "Describe the image in one sentence.", think, Text(caption), image=picture)


# ---------------------------------------------------------------------------------------------
# Video tasks


def _second_box(scene: VideoScene, m: Mover, t: float):
    b = scene.box(m, t)
    return None if b is None else _grid_box(b, scene.width, scene.height)


def _fmt_t(t: float) -> str:
    return f"{t:g}"


def temporal_grounding(rng: np.random.Generator) -> Sample:
    n = int(rng.integers(1, 4))
    scene = random_video(rng, n_shapes=n, partial=(0,))
    order = rng.permutation(n)
    scene = VideoScene(scene.width, scene.height, scene.fps, scene.duration, scene.background,
                       tuple(scene.movers[i] for i in order))
    m = next(mv for mv in scene.movers if (mv.appear, mv.disappear) != (0.0, scene.last_time))
    think = f"The {m.name} appears at {_fmt_t(m.appear)} s and is last seen at {_fmt_t(m.disappear)} s."
    return Sample("temporal grounding", "video", f"When is the {m.name} visible?", think,
                  TimeSpan(m.appear, m.disappear), video=scene)


def spatio_temporal_grounding(rng: np.random.Generator) -> Sample:
    n = int(rng.integers(1, 3))
    scene = random_video(rng, n_shapes=n, partial=(0,))
    m = scene.movers[0]
    boxes = {}
    for s in range(math.ceil(m.appear), math.floor(m.disappear) + 1):
        b = _second_box(scene, m, float(s))
        if b is not None:
            boxes[s] = b
    think = (f"The {m.name} is visible from {_fmt_t(m.appear)} s to {_fmt_t(m.disappear)} s and moves "
             f"{m.direction}.")
    return Sample("spatial-temporal grounding", "video", f"When and where is the {m.name}?", think,
                  SpatioTemporal(m.appear, m.disappear, boxes), video=scene)


def tracking(rng: np.random.Generator) -> Sample:
    n = int(rng.integers(1, 3))
    scene = random_video(rng, n_shapes=n, whole=tuple(range(n)))
    m = scene.movers[int(rng.integers(n))]
    seconds = min(int(math.floor(scene.last_time)) + 1, MAX_TRACK_SECONDS)
    boxes = {k: _second_box(scene, m, float(k - 1)) for k in range(1, seconds + 1)}  # key k is t = k − 1 s
    first = [int(v) for v in boxes[1]]
    question = f"Track the {m.name}. Its box in the first frame is {first}."
    think = f"The {m.name} starts at {first} and moves {m.direction}."
    return Sample("tracking", "video", question, think, Track(boxes), video=scene)


def segmentation_video(rng: np.random.Generator) -> Sample:
    n = int(rng.integers(1, 3))
    scene = random_video(rng, n_shapes=n, whole=tuple(range(n)))
    m = scene.movers[int(rng.integers(n))]
    key_t = float(int(rng.integers(0, int(scene.last_time) + 1)))
    key = scene.frame_index(key_t)
    masks = [scene.mask(m, i) for i in range(scene.num_frames)]
    payload = _seg_payload(masks[key], m.shape.size, scene.width, scene.height, key_t)
    box = box_of(masks[key])
    think = (f"The {m.name} is clearly visible at {_fmt_t(key_t)} s in the {_region(box, scene.width, scene.height)}. "
             f"Positive points go on the {m.shape.kind}, negative points on the background next to it.")
    return Sample("segmentation-video", "video", f"Segment the {m.name}.", think, payload, video=scene, masks=masks)


def multiple_choice_video(rng: np.random.Generator) -> Sample:
    n = int(rng.integers(2, 4))
    scene = random_video(rng, n_shapes=n)
    first = min(scene.movers, key=lambda mv: (mv.appear, scene.movers.index(mv)))
    if sum(mv.appear == first.appear for mv in scene.movers) > 1:
        question = "How many shapes appear in the video?"
        opts, letter = _options(rng, str(n), [str(i) for i in range(1, 7)])
        think = f"The video shows {_listing([mv.name for mv in scene.movers])}, {n} shapes in all."
    else:
        question = "Which shape appears first?"
        opts, letter = _options(rng, first.name, [f"{c} {k}" for c in COLOURS for k in SHAPES])
        think = f"The {first.name} is there from {_fmt_t(first.appear)} s, before the others."
    think += " " + _option_scan(opts, letter)
    return Sample("multiple choice", "video", question, think, OptionLetter(letter), opts, video=scene)


def numerical_video(rng: np.random.Generator) -> Sample:
    n = int(rng.integers(1, 4))
    scene = random_video(rng, n_shapes=n)
    think = f"The video shows {_listing([mv.name for mv in scene.movers])}. That is {n}."
    return Sample("numerical", "video", "How many shapes appear in the video?", think, Number(float(n)), video=scene)


GENERATORS: dict[str, Callable[[np.random.Generator], Sample]] = {
    "mc-image": multiple_choice_image,
    "mc-video": multiple_choice_video,
    "count-image": numerical_image,
    "count-video": numerical_video,
    "spatial": spatial_grounding_image,
    "temporal": temporal_grounding,
    "spatio-temporal": spatio_temporal_grounding,
    "tracking": tracking,
    "seg-image": segmentation_image,
    "seg-video": segmentation_video,
    "caption": captioning_image,
}
