"""Training test fixtures: the tiny random Qwen3-VL of the engine tests, a small image and short clips.

Media are tiny on purpose (64×48 px, 1–3 s), so a training step on CPU takes well under a second.
"""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("FORCE_QWENVL_VIDEO_READER", "decord")


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory):
    from tests.engine.tiny_model import build_tiny_qwen3vl

    return str(build_tiny_qwen3vl(tmp_path_factory.mktemp("tiny-qwen3vl")))


@pytest.fixture(scope="session")
def media_dir(tmp_path_factory):
    """``photo.png`` (130×90), ``clip.mp4`` (64×48, 30 fps, 3 s), ``other.mp4`` (80×80, 10 fps, 1 s) and
    ``wide.mp4`` (640×360, 10 fps, 1 s: large enough for the pixel caps to bite)."""
    import numpy as np
    from PIL import Image

    from tests.engine.clips import make_clip

    d = tmp_path_factory.mktemp("media")
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 255, (90, 130, 3), dtype=np.uint8)).save(d / "photo.png")
    make_clip(d / "clip.mp4", 64, 48, 30.0, 3.0)
    make_clip(d / "other.mp4", 80, 80, 10.0, 1.0)
    make_clip(d / "wide.mp4", 640, 360, 10.0, 1.0)
    return d


@pytest.fixture(scope="session")
def processor(tiny_model_dir):
    from transformers import AutoProcessor

    return AutoProcessor.from_pretrained(tiny_model_dir)
