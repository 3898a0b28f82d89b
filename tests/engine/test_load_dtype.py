"""Which dtype ``dtype="auto"`` loads a checkpoint in: fp32 on CPU, the checkpoint's own dtype on a GPU.

The GPU branch is exercised here by making ``torch.cuda.is_available`` answer True with ``device_map=None``,
so the weights still land on the CPU, in the dtype a GPU load would have used.  On an H200 the nano model in
bf16 changed 5 of 11 greedy answers against its fp32 answers, which matched the CPU's on all 11.
"""

from __future__ import annotations

import json
import shutil

import pytest
import torch

from onethinker.engine import ModelLoadError, load_model, unload_model
from onethinker.engine.transformers_backend import _requested_dtype, _resolve_dtype, _saved_dtype


def _never():
    raise AssertionError("the config was read although the dtype was already decided")


def _copy_with_dtype(src: str, dst, dtype: str | None):
    """The tiny checkpoint with its config.json naming ``dtype`` (or no dtype at all)."""
    shutil.copytree(src, dst)
    config = json.loads((dst / "config.json").read_text())
    for key in ("dtype", "torch_dtype"):
        config.pop(key, None)
        config.get("text_config", {}).pop(key, None)
        config.get("vision_config", {}).pop(key, None)
    if dtype is not None:
        config["dtype"] = dtype
    (dst / "config.json").write_text(json.dumps(config))
    return dst


@pytest.fixture
def gpu_visible(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)


def test_auto_on_cpu_is_float32_without_reading_the_config(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert _resolve_dtype(_requested_dtype("auto"), _never) is torch.float32
    assert _resolve_dtype(_requested_dtype(None), _never) is torch.float32


@pytest.mark.parametrize("name", ["float32", "bfloat16", "float16"])
def test_a_named_dtype_wins_over_the_checkpoint(name, gpu_visible):
    assert _resolve_dtype(_requested_dtype(name), _never) is getattr(torch, name)


@pytest.mark.parametrize("saved, expected", [("float32", torch.float32), ("bfloat16", torch.bfloat16),
                                             ("float16", torch.float16), (None, torch.bfloat16)])
def test_auto_on_a_gpu_follows_the_saved_dtype(tiny_model_dir, tmp_path, gpu_visible, saved, expected):
    folder = _copy_with_dtype(tiny_model_dir, tmp_path / "ckpt", saved)
    assert _saved_dtype(str(folder), None) == (getattr(torch, saved) if saved else None)
    assert _resolve_dtype("auto", lambda: _saved_dtype(str(folder), None)) is expected


def test_load_model_auto_loads_a_bf16_checkpoint_in_bf16_on_a_gpu(tiny_model_dir, tmp_path, gpu_visible):
    folder = _copy_with_dtype(tiny_model_dir, tmp_path / "bf16", "bfloat16")
    try:
        model, _ = load_model(str(folder), dtype="auto", device_map=None)
        assert next(model.parameters()).dtype is torch.bfloat16
        model, _ = load_model(tiny_model_dir, dtype="auto", device_map=None)  # saved in fp32: stays fp32
        assert next(model.parameters()).dtype is torch.float32
    finally:
        unload_model()


@pytest.mark.parametrize("bad", ["float128", "nn", "cuda"])
def test_an_unknown_dtype_is_a_clear_error(tiny_model_dir, bad):
    with pytest.raises(ModelLoadError, match=f"unknown dtype '{bad}'; use 'auto', 'bfloat16'"):
        load_model(tiny_model_dir, dtype=bad)


def test_an_unreadable_config_is_a_load_error_and_keeps_the_loaded_model(tiny_model_dir, tmp_path, gpu_visible):
    loaded, _ = load_model(tiny_model_dir, dtype="float32", device_map=None)
    broken = _copy_with_dtype(tiny_model_dir, tmp_path / "broken", None)
    (broken / "config.json").write_text("{ not json")
    try:
        with pytest.raises(ModelLoadError, match="cannot load model"):
            load_model(str(broken), dtype="auto", device_map=None)
        assert load_model(tiny_model_dir, dtype="float32", device_map=None)[0] is loaded
    finally:
        unload_model()


def _count_weight_loads(monkeypatch) -> list:
    from transformers import AutoModelForImageTextToText

    calls = []
    real = AutoModelForImageTextToText.from_pretrained.__func__

    def counting(cls, *args, **kwargs):
        calls.append(kwargs.get("dtype"))
        return real(cls, *args, **kwargs)

    monkeypatch.setattr(AutoModelForImageTextToText, "from_pretrained", classmethod(counting))
    return calls


def test_auto_and_float32_on_a_cpu_share_one_load(tiny_model_dir, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    unload_model()
    loads = _count_weight_loads(monkeypatch)
    try:
        first, _ = load_model(tiny_model_dir, dtype="auto", device_map=None)
        assert load_model(tiny_model_dir, dtype="float32", device_map=None)[0] is first
        assert load_model(tiny_model_dir, dtype=torch.float32, device_map=None)[0] is first
        assert load_model(tiny_model_dir, dtype="auto", device_map=None)[0] is first
        assert loads == [torch.float32]
        other, _ = load_model(tiny_model_dir, dtype="bfloat16", device_map=None)  # other weights: a new load
        assert other is not first and next(other.parameters()).dtype is torch.bfloat16
        assert loads == [torch.float32, torch.bfloat16]
    finally:
        unload_model()


def test_a_repeated_auto_request_on_a_gpu_reads_the_config_once(tiny_model_dir, gpu_visible, monkeypatch):
    import onethinker.engine.transformers_backend as tb

    unload_model()
    reads = []
    real = tb._saved_dtype
    monkeypatch.setattr(tb, "_saved_dtype", lambda *a: reads.append(a) or real(*a))
    loads = _count_weight_loads(monkeypatch)
    try:
        first, _ = load_model(tiny_model_dir, dtype="auto", device_map=None)  # saved in fp32
        assert load_model(tiny_model_dir, dtype="auto", device_map=None)[0] is first
        assert load_model(tiny_model_dir, dtype="float32", device_map=None)[0] is first
        assert len(reads) == 1 and loads == [torch.float32]
    finally:
        unload_model()
