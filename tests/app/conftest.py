"""App test fixtures: an app context on a replay backend, the example requests, a tiny real model."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("FORCE_QWENVL_VIDEO_READER", "decord")


def make_ctx(tmp_path, backend=None, **settings):
    from components.context import AppContext, Settings
    from tests.app.replay_backend import ReplayBackend

    s = Settings(data_dir=tmp_path / "data", output_dir=tmp_path / "out", segmenter="none", **settings)
    ctx = AppContext(s)
    b = backend or ReplayBackend()
    ctx.models.use(b, b.model if hasattr(b, "model") else "test-model")
    return ctx


@pytest.fixture
def ctx(tmp_path):
    return make_ctx(tmp_path)


@pytest.fixture(scope="session")
def examples():
    """task id -> the example request (media as absolute paths)."""
    from components.context import load_examples

    return {e["task"]: e for e in load_examples()}


def form(ex: dict, **over) -> dict:
    """The Run form's values for an example request."""
    args = dict(image=ex.get("image"), video=ex.get("video"), task=ex["task"], question=ex["question"],
                options="\n".join(ex.get("options") or []), track_object=None, track_box=None)
    args.update(over)
    return args


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory):
    from tests.engine.tiny_model import build_tiny_qwen3vl

    return str(build_tiny_qwen3vl(tmp_path_factory.mktemp("tiny-qwen3vl")))
