"""Engine test fixtures: a tiny random Qwen3-VL saved to disk, synthetic clips and images.

The model is built once per session with ``save_pretrained`` and every backend test loads it through
``from_pretrained`` like a real checkpoint.  A random model writes garbage, so tests check plumbing.
"""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("FORCE_QWENVL_VIDEO_READER", "decord")  # the reference reads with decord too


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory):
    from tests.engine.tiny_model import build_tiny_qwen3vl

    return str(build_tiny_qwen3vl(tmp_path_factory.mktemp("tiny-qwen3vl")))


# (width, height, fps, seconds): different sizes, rates and durations, all tiny
CLIP_SPECS = {
    "short_30fps": (64, 48, 30.0, 3.0),
    "odd_24fps": (96, 64, 24.0, 2.1),
    "half_second": (80, 80, 10.0, 0.5),
    "wide_25fps": (160, 90, 25.0, 7.3),
    "tall_15fps": (40, 80, 15.0, 4.0),
}


@pytest.fixture(scope="session")
def clips(tmp_path_factory):
    from tests.engine.clips import make_clip

    d = tmp_path_factory.mktemp("clips")
    return {name: str(make_clip(d / f"{name}.mp4", *spec)) for name, spec in CLIP_SPECS.items()}


@pytest.fixture(scope="session")
def image_path(tmp_path_factory):
    import numpy as np
    from PIL import Image

    p = tmp_path_factory.mktemp("img") / "photo.png"
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 255, (90, 130, 3), dtype=np.uint8)).save(p)
    return str(p)


@pytest.fixture
def backend(tiny_model_dir):
    from onethinker.engine import TransformersBackend

    return TransformersBackend(tiny_model_dir)
