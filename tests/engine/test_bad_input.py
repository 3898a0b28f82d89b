"""Bad input gives one EngineError naming the file or model and what to do; nothing crashes."""

from __future__ import annotations

import struct
import zlib

import pytest

from onethinker.engine import (
    EngineError, InputError, ModelLoadError, Request, SamplingParams, TransformersBackend, prepare,
)

# model ids and missing folders are tried here: any attempt to reach the hub fails the test
pytestmark = pytest.mark.usefixtures("no_network")


def _png_claiming(path, width, height):
    """A valid small PNG whose header claims ``width``×``height`` (a decompression-bomb stand-in)."""
    from PIL import Image

    Image.new("RGB", (8, 8)).save(path)
    data = bytearray(path.read_bytes())
    ihdr = data.index(b"IHDR")
    data[ihdr + 4:ihdr + 12] = struct.pack(">II", width, height)
    crc = zlib.crc32(bytes(data[ihdr:ihdr + 17]))
    data[ihdr + 17:ihdr + 21] = struct.pack(">I", crc)
    path.write_bytes(bytes(data))
    return path


def _video_req(path):
    return Request("What happens?", "open-ended", video=path, sampling=SamplingParams(max_new_tokens=2))


def _image_req(path):
    return Request("What is it?", "open-ended", image=path, sampling=SamplingParams(max_new_tokens=2))


def test_zero_length_video(tmp_path):
    p = tmp_path / "empty.mp4"
    p.write_bytes(b"")
    with pytest.raises(InputError, match=r"empty\.mp4.*empty \(0 bytes\).*upload"):
        prepare(_video_req(p))


def test_truncated_video(tmp_path, clips):
    data = open(clips["wide_25fps"], "rb").read()
    p = tmp_path / "cut.mp4"
    p.write_bytes(data[: len(data) // 3])
    with pytest.raises(InputError, match=r"cut\.mp4.*(truncated|damaged).*(re-encode|H\.264)"):
        prepare(_video_req(p))


def test_not_a_video(tmp_path):
    p = tmp_path / "notes.mp4"
    p.write_text("this is not a video\n" * 50)
    with pytest.raises(InputError, match=r"notes\.mp4.*cannot decode"):
        prepare(_video_req(p))


def test_missing_video(tmp_path):
    with pytest.raises(InputError, match=r"nope\.mp4.*not found"):
        prepare(_video_req(tmp_path / "nope.mp4"))


def test_single_frame_video(tmp_path):
    from tests.engine.clips import make_clip

    p = make_clip(tmp_path / "one.mp4", 64, 48, 10.0, 0.1)
    with pytest.raises(InputError, match=r"one\.mp4.*1 frame"):
        prepare(_video_req(p))


def test_not_an_image(tmp_path):
    p = tmp_path / "cat.jpg"
    p.write_text("<html>not really a cat</html>")
    with pytest.raises(InputError, match=r"cat\.jpg.*not an image.*PNG"):
        prepare(_image_req(p))


def test_truncated_image(tmp_path):
    import numpy as np
    from PIL import Image

    p = tmp_path / "half.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (200, 200, 3), dtype=np.uint8)).save(p)
    p.write_bytes(p.read_bytes()[:5000])
    with pytest.raises(InputError, match=r"half\.png.*(damaged|truncated)"):
        prepare(_image_req(p))


@pytest.mark.parametrize("w,h", [(20000, 20000), (100000, 100000)])
def test_decompression_bomb_image(tmp_path, w, h):
    p = _png_claiming(tmp_path / "bomb.png", w, h)
    with pytest.raises(InputError, match=r"bomb\.png.*too large.*downscale"):
        prepare(_image_req(p))


def test_extreme_aspect_ratio_image(tmp_path):
    from PIL import Image

    p = tmp_path / "strip.png"
    Image.new("RGB", (4100, 20)).save(p)
    with pytest.raises(InputError, match=r"strip\.png.*aspect ratio"):
        prepare(_image_req(p))


def test_task_media_mismatch(image_path):
    with pytest.raises(InputError, match="needs a video"):
        prepare(Request("follow the car", "tracking", image=image_path))
    with pytest.raises(InputError, match="attach"):
        prepare(Request("what?", "open-ended"))
    with pytest.raises(InputError, match="unknown task"):
        prepare(Request("what?", "juggling", image=image_path))
    with pytest.raises(InputError, match="question is empty"):
        prepare(Request("   ", "open-ended", image=image_path))


def test_nonexistent_model_path(tmp_path, image_path):
    b = TransformersBackend(str(tmp_path / "no-such-model"))
    with pytest.raises(ModelLoadError, match=r"no-such-model does not exist.*save_pretrained.*OneThink/OneThinker-8B"):
        b.stream(_image_req(image_path))


def test_folder_without_config(tmp_path, image_path):
    (tmp_path / "weights").mkdir()
    with pytest.raises(ModelLoadError, match=r"weights has no config\.json"):
        TransformersBackend(str(tmp_path / "weights")).load()


@pytest.mark.parametrize("gpu", [False, True], ids=["cpu", "gpu-visible"])
def test_hub_unreachable_offline(gpu, image_path, monkeypatch, tmp_path):
    import huggingface_hub.constants
    import torch

    # with a GPU, dtype "auto" reads the checkpoint's config first: that read is offline and explained too
    monkeypatch.setattr(torch.cuda, "is_available", lambda: gpu)

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)  # read at import: never the network
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    # and if anything still tried the network, the module's no_network fixture fails it
    b = TransformersBackend()  # the default id, offline, with an empty cache
    with pytest.raises(ModelLoadError) as e:
        b.stream(_image_req(image_path))
    msg = str(e.value)
    assert "OneThink/OneThinker-8B" in msg and "offline" in msg and "hf download" in msg
    assert e.value.kind == "model"


def test_bad_input_leaves_a_loaded_model_usable(backend, tmp_path, image_path):
    bad = tmp_path / "x.png"
    bad.write_bytes(b"\x89PNG garbage")
    with pytest.raises(EngineError):
        backend.stream(_image_req(bad))
    assert backend.generate(_image_req(image_path)).finish_reason in ("stop", "length")


def test_missing_bitsandbytes_is_explained(tiny_model_dir, monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda n, *a: None if n == "bitsandbytes" else real(n, *a))
    with pytest.raises(ModelLoadError, match="bitsandbytes"):
        TransformersBackend(tiny_model_dir, quantization="4bit").load()
