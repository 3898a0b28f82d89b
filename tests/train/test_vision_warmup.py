"""The vision warm-up's labels line up with the tokens the tower emits, and a few steps teach the tower."""

from __future__ import annotations

import numpy as np
import pytest

from train.nano.vision_warmup import CELL, cell_labels
from train.synthetic.scene import COLOURS, SHAPES, Shape, draw


def _processor():
    from transformers import Qwen2VLImageProcessor

    return Qwen2VLImageProcessor(patch_size=16, temporal_patch_size=2, merge_size=2)


def test_merged_tokens_come_in_row_major_cell_order():
    """The labels assume token i is cell (i // columns, i % columns): paint each 32×32 cell its own grey, and the
    processor's groups of 2×2 patches (one merged token each) come back in that order."""
    from PIL import Image

    rows, cols = 3, 5
    grey = np.arange(rows * cols, dtype=np.uint8).reshape(rows, cols) * 15 + 10
    picture = np.kron(grey, np.ones((CELL, CELL), dtype=np.uint8))
    out = _processor()(images=[Image.fromarray(np.stack([picture] * 3, -1))], return_tensors="pt",
                       min_pixels=rows * cols * CELL * CELL, max_pixels=rows * cols * CELL * CELL)
    assert out["image_grid_thw"][0].tolist() == [1, rows * 2, cols * 2]
    per_token = out["pixel_values"].reshape(rows * cols, -1).mean(1).numpy()  # 4 patches per merged token
    assert np.all(np.diff(per_token) > 0)  # brighter cell after brighter cell, row by row


def test_cell_labels_name_the_shape_under_each_cell_and_its_box():
    shapes = [Shape("square", "red", 48, 48, 40), Shape("circle", "blue", 140, 80, 30)]
    picture, masks = draw(np.full((128, 192, 3), 236, np.uint8), shapes)
    y = cell_labels(shapes, masks, (128, 192))
    grid = lambda a: a.reshape(4, 6)
    assert grid(y.colour)[1, 1] == 1 + list(COLOURS).index("red") and grid(y.kind)[1, 1] == 1 + SHAPES.index("square")
    assert grid(y.kind)[2, 4] == 1 + SHAPES.index("circle")
    assert grid(y.colour)[3, 0] == 0 and y.box[~y.on_shape].sum() == 0  # background cells
    red_box = y.box.reshape(4, 6, 4)[1, 1]
    ys, xs = np.nonzero(masks[0])
    assert red_box.tolist() == pytest.approx([xs.min() / 192, ys.min() / 128, (xs.max() + 1) / 192, (ys.max() + 1) / 128])
    assert y.place.reshape(4, 6, 2)[3, 5].tolist() == pytest.approx([7 / 8, 11 / 12])
    # the box's digits as the language model writes them: x1 = 1000·xs.min()/192 → hundreds and tens
    x1 = round(1000 * xs.min() / 192)
    assert y.digits.reshape(4, 6, 4, 2)[1, 1, 0].tolist() == [x1 // 100, x1 // 10 % 10]
    # the processor shrinks a picture: the cells follow the shrunk picture, boxes stay relative
    small = cell_labels(shapes, masks, (64, 96))
    assert small.colour.shape == (6,) and small.box[small.on_shape][0].tolist() == pytest.approx(red_box.tolist())
    with pytest.raises(ValueError, match="multiple of 32"):
        cell_labels(shapes, masks, (100, 96))


def test_box_digits_are_the_hundreds_and_tens_of_the_coordinates_on_the_1000_grid():
    from train.nano.vision_warmup import box_digits

    digits = box_digits(np.array([[0.48, 0.4014, 0.0, 1.0]]))
    assert digits.tolist() == [[[4, 8], [4, 0], [0, 0], [9, 9]]]  # 1000 is written as 999's digits: 10 classes


def test_a_short_warm_up_teaches_a_tiny_tower_colours_and_leaves_the_language_model_alone(tmp_path):
    from transformers import AutoModelForImageTextToText, AutoProcessor

    from train.nano.build import build_nano
    from train.nano.recipe import QUICK
    from train.nano.vision_warmup import warm_up_vision

    folder = build_nano(tmp_path / "m", ["a red circle", "0 1 2 3"], QUICK.model)
    model, proc = AutoModelForImageTextToText.from_pretrained(folder), AutoProcessor.from_pretrained(folder)
    language = {k: v.clone() for k, v in model.model.language_model.state_dict().items()}
    info = warm_up_vision(model, proc.image_processor, steps=150, batch_size=8, learning_rate=1e-2, seed=0,
                          min_pixels=4 * 1024, max_pixels=16 * 1024, held_out=24)
    before, after = info["before"], info["after"]
    assert info["steps"] == 150
    assert after["colour_acc"] > max(0.6, before["colour_acc"] + 0.3)  # measured 0.19 → 0.81 (150 steps)
    assert after["background_acc"] > 0.9
    # only the vision side learns: the language model is untouched
    assert all(v.equal(language[k]) for k, v in model.model.language_model.state_dict().items())


def test_the_warm_up_is_repeatable_from_its_seed(tmp_path):
    from transformers import AutoModelForImageTextToText, AutoProcessor

    from train.nano.build import build_nano
    from train.nano.recipe import QUICK
    from train.nano.vision_warmup import warm_up_vision

    folder = build_nano(tmp_path / "m", ["a red circle", "0 1 2 3"], QUICK.model)
    proc = AutoProcessor.from_pretrained(folder)

    def run(seed):
        model = AutoModelForImageTextToText.from_pretrained(folder)
        return warm_up_vision(model, proc.image_processor, steps=3, batch_size=2, learning_rate=1e-2, seed=seed,
                              min_pixels=4 * 1024, max_pixels=16 * 1024, held_out=6)

    first = run(0)
    assert run(0) == first  # the same pictures, heads and steps
    assert run(1)["before"] != first["before"]


def test_on_a_gpu_the_warm_up_trains_there_and_starts_where_the_cpu_does(tmp_path):
    import torch

    if not torch.cuda.is_available():
        pytest.skip("needs a CUDA GPU")
    from transformers import AutoModelForImageTextToText, AutoProcessor

    from train.nano.build import build_nano
    from train.nano.recipe import QUICK
    from train.nano.vision_warmup import warm_up_vision

    folder = build_nano(tmp_path / "m", ["a red circle", "0 1 2 3"], QUICK.model)
    proc = AutoProcessor.from_pretrained(folder)
    results = {}
    for device in ("cpu", "cuda"):
        model = AutoModelForImageTextToText.from_pretrained(folder).to(device)
        results[device] = warm_up_vision(model, proc.image_processor, steps=3, batch_size=2, learning_rate=1e-2,
                                         seed=0, min_pixels=4 * 1024, max_pixels=16 * 1024, held_out=6)
        assert next(model.model.visual.parameters()).device.type == device
    assert results["cuda"]["steps"] == 3
    assert results["cuda"]["before"] == pytest.approx(results["cpu"]["before"], abs=0.02, nan_ok=True)
