"""The transformers backend on a tiny random Qwen3-VL loaded with from_pretrained (plumbing, not content)."""

from __future__ import annotations

import threading

import pytest

from onethinker.engine import EngineError, Request, SamplingParams, TransformersBackend, prepare
from onethinker.tasks import build_prompt


def _req(image_path, n=12, **kw):
    sampling = kw.pop("sampling", SamplingParams(max_new_tokens=n, min_new_tokens=n))
    return Request("What colour is it?", "open-ended", image=image_path, sampling=sampling, **kw)


def test_stream_equals_raw_generate(backend, image_path):
    """Deltas arrive in order and concatenate to exactly what a plain greedy model.generate produces."""
    s = backend.stream(_req(image_path, 16))
    deltas = list(s)
    assert s.finish_reason == "length" and s.completion_tokens == 16 and len(s.token_ids) == 16
    assert "".join(deltas) == s.text

    from transformers import AutoModelForImageTextToText, AutoProcessor

    model_dir = backend.model_id
    proc = AutoProcessor.from_pretrained(model_dir)
    model = AutoModelForImageTextToText.from_pretrained(model_dir).eval()
    inputs, _ = backend.encode(prepare(_req(image_path, 16)), proc)
    out = model.generate(**inputs, max_new_tokens=16, min_new_tokens=16, do_sample=False)
    ids = out[0, inputs["input_ids"].shape[1]:].tolist()
    assert ids == s.token_ids
    assert proc.tokenizer.decode(ids, skip_special_tokens=True) == s.text
    assert s.sent.prompt_tokens == inputs["input_ids"].shape[1]


def test_sent_reports_prompt_and_media(backend, clips, image_path):
    r = Request("Where is the bar?", "multiple choice", ["A. left", "B. right"], video=clips["wide_25fps"],
                image=image_path, sampling=SamplingParams(max_new_tokens=2))
    s = backend.stream(r)
    c = s.result()
    sent = c.sent
    assert sent.data_type == "video-image" and sent.task == "multiple choice"
    assert sent.prompt == build_prompt("multiple choice", "Where is the bar?", ["A. left", "B. right"], "video-image")
    assert sent.prompt in sent.chat_text and "<|video_pad|>" in sent.chat_text and "<|image_pad|>" in sent.chat_text
    video, image = sent.media
    assert video["kind"] == "video" and video["num_frames"] == len(video["frame_indices"]) == 14
    assert video["timestamps"] == [i / 25.0 for i in video["frame_indices"]]
    assert len(video["patch_timestamps"]) == 7
    assert (image["width"], image["height"]) == (130, 90) and image["resized_width"] % 32 == 0
    assert c.completion_tokens is not None and 1 <= c.completion_tokens <= 2
    assert c.ttft_s is None or c.ttft_s >= 0


def test_cancel_stops_promptly_and_frees_the_model(backend, image_path):
    s = backend.stream(_req(image_path, 4000))
    first = next(s)
    assert first
    backend.cancel()
    rest = list(s)
    assert s.finish_reason == "cancelled"
    assert s.completion_tokens < 4000
    assert s.text == first + "".join(rest)
    # the lock is free again: a new request runs to completion
    s2 = backend.stream(_req(image_path, 3))
    assert s2.result().completion_tokens == 3


def test_abandoned_stream_is_closed(backend, image_path):
    s = backend.stream(_req(image_path, 4000))
    next(s)
    s.close()
    assert s.done
    assert backend.generate(_req(image_path, 2)).completion_tokens == 2


def test_two_requests_never_generate_at_once(backend, image_path, monkeypatch):
    from onethinker.engine import transformers_backend as tb

    model, _ = backend.load()
    active, overlap = [0], []
    real = model.generate

    def guarded(*a, **k):
        active[0] += 1
        overlap.append(active[0])
        try:
            return real(*a, **k)
        finally:
            active[0] -= 1

    monkeypatch.setattr(model, "generate", guarded)
    results = []
    threads = [threading.Thread(target=lambda: results.append(backend.generate(_req(image_path, 8))))
               for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(results) == 3 and all(r.completion_tokens == 8 for r in results)
    assert max(overlap) == 1
    assert tb._GENERATE_LOCK.acquire(timeout=1)
    tb._GENERATE_LOCK.release()


def test_sampling_seed_is_reproducible(backend, image_path):
    sp = SamplingParams(temperature=1.0, top_p=0.9, max_new_tokens=10, min_new_tokens=10, seed=123)
    a = backend.generate(_req(image_path, sampling=sp))
    b = backend.generate(_req(image_path, sampling=sp))
    assert a.text == b.text and a.completion_tokens == 10


def test_one_model_per_process_and_progress(tiny_model_dir):
    from onethinker.engine import load_model

    calls = []
    b1 = TransformersBackend(tiny_model_dir, progress=lambda f, m: calls.append((f, m)))
    m1, p1 = b1.load()
    m2, p2 = TransformersBackend(tiny_model_dir).load()
    assert m1 is m2 and p1 is p2
    assert load_model(tiny_model_dir)[0] is m1
    info = b1.info()
    # the tiny checkpoint is saved in fp32, so "auto" loads fp32 on a GPU too
    import torch

    device = "cuda:0" if torch.cuda.is_available() else "cpu"
    assert info["loaded"] and info["device"] == device and info["dtype"] == "torch.float32" and info["parameters"] > 0


def test_progress_callback_reports_stages(tiny_model_dir):
    from onethinker.engine import unload_model

    unload_model()
    calls = []
    TransformersBackend(tiny_model_dir).load(progress=lambda f, m: calls.append((f, m)))
    fractions = [f for f, _ in calls]
    assert fractions[0] == 0.0 and fractions[-1] == 1.0 and fractions == sorted(fractions)
    assert "ready" in calls[-1][1]


def test_default_settings_are_official():
    sp = SamplingParams()
    assert sp.greedy and sp.max_new_tokens == 8192 and sp.top_k == 0
    from onethinker.engine.transformers_backend import DEFAULT_MODEL_ID, generation_kwargs

    assert DEFAULT_MODEL_ID == "OneThink/OneThinker-8B"
    kw = generation_kwargs(sp)
    assert kw["do_sample"] is False and kw["max_new_tokens"] == 8192


@pytest.mark.parametrize("bad", [SamplingParams(max_new_tokens=0), SamplingParams(temperature=-1),
                                 SamplingParams(top_p=0.0), SamplingParams(min_new_tokens=10, max_new_tokens=5)])
def test_bad_sampling_settings(backend, image_path, bad):
    with pytest.raises(EngineError):
        backend.stream(_req(image_path, sampling=bad))


def test_qwen25vl_checkpoint_uses_28_pixel_tokens(tmp_path, clips, image_path):
    """A Qwen2.5-VL-style checkpoint: media are sized in 28-px tokens and the stream runs end to end."""
    from qwen_vl_utils import process_vision_info
    from transformers import AutoProcessor

    from tests.engine.tiny_model import build_tiny_qwen25vl

    path = build_tiny_qwen25vl(tmp_path / "q25")
    b = TransformersBackend(str(path))
    r = Request("What?", "open-ended", video=clips["short_30fps"], image=image_path,
                sampling=SamplingParams(max_new_tokens=4, min_new_tokens=4))
    s = b.stream(r)
    assert len("".join(s)) >= 0 and s.completion_tokens == 4
    video, image = s.sent.media
    assert video["resized_width"] % 28 == 0 and image["resized_width"] % 28 == 0

    # same tensors as the official recipe for Qwen2.5-VL (patch 14)
    proc = AutoProcessor.from_pretrained(path)
    prep = prepare(r, factor=28)
    inputs, text = b.encode(prep, proc)
    images, videos, kwargs = process_vision_info(prep.messages, image_patch_size=14, return_video_kwargs=True,
                                                 return_video_metadata=True)
    videos, metas = zip(*videos)
    ref = proc(text=[text], images=images, videos=list(videos), video_metadata=list(metas), do_resize=False,
               return_tensors="pt", **kwargs)
    import torch

    for key in ("input_ids", "pixel_values", "pixel_values_videos", "video_grid_thw", "second_per_grid_ts"):
        assert torch.equal(torch.as_tensor(inputs[key]), torch.as_tensor(ref[key])), key


def test_every_generation_runs_on_one_long_lived_thread(backend, image_path, monkeypatch):
    """A fresh thread per request halves decode speed on a GPU (see run_on_generation_thread); reuse one."""
    from transformers import GenerationMixin

    from onethinker.engine import transformers_backend as tb

    seen: list[int] = []
    real = GenerationMixin.generate

    def recording_generate(self, *a, **kw):
        seen.append(threading.get_ident())
        return real(self, *a, **kw)

    monkeypatch.setattr(GenerationMixin, "generate", recording_generate)
    for _ in range(3):
        backend.stream(_req(image_path, 2)).result()
    assert len(seen) == 3 and len(set(seen)) == 1 and seen[0] != threading.get_ident()

    # a forked child (ZeroGPU) inherits the queue but not the thread: it must start its own
    pid = tb._WORKER[0]
    monkeypatch.setattr(tb.os, "getpid", lambda: pid + 1)
    assert tb.run_on_generation_thread(lambda: seen.append(threading.get_ident())).wait(5)
    assert seen[-1] not in seen[:3] and tb._WORKER[0] == pid + 1
