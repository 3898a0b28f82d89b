"""Evaluation test fixtures: the committed example media and rows, the tiny models of other suites."""

import shutil
from pathlib import Path

import pytest

from tests.engine.conftest import tiny_model_dir  # noqa: F401  (session fixture: a tiny Qwen3-VL on disk)

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "results"


@pytest.fixture(autouse=True)
def _one_thread():
    """Tiny models run fastest single-threaded on a shared 2-core machine."""
    import torch

    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture
def media_root(tmp_path):
    """A private copy of the example media (tests may add files next to them)."""
    root = tmp_path / "media"
    shutil.copytree(EXAMPLES / "media", root)
    return root


@pytest.fixture
def example_rows():
    import json

    return json.loads((EXAMPLES / "eval_input.json").read_text(encoding="utf-8"))
