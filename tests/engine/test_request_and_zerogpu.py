"""Request building (exact prompt, official message format) and the ZeroGPU wrapper."""

from __future__ import annotations

import sys
import types

from onethinker.engine import Request, build_messages, gpu, on_zero_gpu, prepare
from onethinker.tasks import build_prompt, load_prompt_templates


def test_messages_follow_the_official_format(clips, image_path):
    task, prompt, messages = build_messages(
        Request("Is the bar moving?", "multiple choice", ["A. yes", "B. no"], video=clips["short_30fps"],
                image=image_path))
    assert task.id == "multiple choice"
    assert prompt == build_prompt("multiple choice", "Is the bar moving?", ["A. yes", "B. no"], "video-image")
    (msg,) = messages
    assert msg["role"] == "user"
    video, image, text = msg["content"]
    assert video == {"type": "video", "video": clips["short_30fps"], "fps": 2.0, "max_frames": 128,
                     "max_pixels": 256 * 32 * 32}
    assert image == {"type": "image", "image": image_path, "max_pixels": 1024 * 32 * 32}
    assert text == {"type": "text", "text": prompt}


def test_prepare_keeps_the_exact_prompt_with_custom_templates(tmp_path, image_path):
    f = tmp_path / "p.json"
    f.write_text('{"preamble": "Q: {question} ({media})\\n", "instructions": {"ocr": "Just the text."}}')
    t = load_prompt_templates(f)
    prep = prepare(Request("Read it", "ocr", image=image_path, templates=t))
    assert prep.prompt == "Q: Read it (image)\nJust the text."
    assert prep.messages[0]["content"][-1]["text"] == prep.prompt
    assert prep.data_type == "image" and prep.images[0].resized_width % 32 == 0


def test_video_request_reports_times(clips):
    prep = prepare(Request("When?", "temporal grounding", video=clips["wide_25fps"]))
    (v,) = prep.videos
    d = prep.describe_media()[0]
    assert d["frame_indices"] == v.frame_indices and d["timestamps"][-1] == v.frame_indices[-1] / 25.0
    assert d["patch_timestamps"] == [(a + b) / 2 for a, b in zip(d["timestamps"][::2], d["timestamps"][1::2])]
    meta = v.metadata()
    assert meta.frames_indices == v.frame_indices and meta.fps == 25.0 and meta.total_num_frames == v.total_frames


def test_gpu_wrapper_is_a_no_op_off_zerogpu(monkeypatch):
    monkeypatch.delenv("SPACES_ZERO_GPU", raising=False)

    def f(x):
        return x + 1

    assert not on_zero_gpu()
    assert gpu(f, duration=30) is f
    assert gpu(duration=30)(f) is f


def test_gpu_wrapper_uses_spaces_on_zerogpu(monkeypatch):
    seen = {}

    def fake_gpu(fn, duration=None):
        seen["duration"] = duration

        def wrapped(*a, **k):
            seen["called"] = True
            return fn(*a, **k)

        return wrapped

    monkeypatch.setenv("SPACES_ZERO_GPU", "true")
    monkeypatch.setitem(sys.modules, "spaces", types.SimpleNamespace(GPU=fake_gpu))
    g = gpu(lambda x: x * 2, duration=45)
    assert g(4) == 8 and seen == {"duration": 45, "called": True}


def test_engine_never_imports_ui_or_training():
    import pathlib
    import re

    root = pathlib.Path(__file__).resolve().parents[2] / "onethinker"
    files = list((root / "engine").glob("*.py")) + [root / "media" / "sampling.py", root / "media" / "images.py"]
    for f in files:
        src = f.read_text()
        assert not re.search(r"^\s*(import|from)\s+(gradio|components|train)\b", src, re.M), f
