"""The OpenAI-compatible HTTP backend against a local SSE test double on 127.0.0.1."""

from __future__ import annotations

import base64
import io
import socket
import threading
import time

import pytest

from onethinker.engine import OpenAIBackend, Request, SamplingParams, ServerError
from tests.engine.fake_openai_server import FakeOpenAIServer


@pytest.fixture
def server():
    with FakeOpenAIServer() as s:
        yield s


def _req(**kw):
    kw.setdefault("sampling", SamplingParams(max_new_tokens=64))
    return Request("Which option?", "multiple choice", ["A. cat", "B. dog"], **kw)


def test_streams_deltas_in_order_and_sends_official_body(server, clips, image_path):
    b = OpenAIBackend(server.base_url, api_key="k")
    s = b.stream(_req(video=clips["short_30fps"], image=image_path))
    deltas = list(s)
    assert deltas == ["<think>", "a b", "</think>", "<answer>B</answer>"]
    assert s.finish_reason == "stop" and s.completion_tokens == 4 and s.sent.prompt_tokens == 42
    assert b.model == "fake-onethinker"  # discovered through /v1/models

    req = server.requests[-1]
    body = req["json"]
    assert req["headers"]["Authorization"] == "Bearer k"
    assert body["stream"] is True and body["model"] == "fake-onethinker" and body["max_tokens"] == 64
    assert body["temperature"] == 0.0 and body["mm_processor_kwargs"] == {"fps": 2.0, "do_sample_frames": True}
    video, image, text = body["messages"][0]["content"]
    assert video["type"] == "video_url" and video["video_url"]["url"].startswith("data:video/mp4;base64,")
    assert base64.b64decode(video["video_url"]["url"].split(",", 1)[1]) == open(clips["short_30fps"], "rb").read()
    assert image["type"] == "image_url" and image["image_url"]["url"].startswith("data:image/png;base64,")
    from PIL import Image

    sent_img = Image.open(io.BytesIO(base64.b64decode(image["image_url"]["url"].split(",", 1)[1])))
    assert sent_img.size == (s.sent.media[1]["resized_width"], s.sent.media[1]["resized_height"])
    assert text == {"type": "text", "text": s.sent.prompt}
    assert s.sent.media[0]["sampled_by"] == "server" and s.sent.media[0]["num_frames"] == 6
    assert s.sent.extra["mm_processor_kwargs"] == {"fps": 2.0, "do_sample_frames": True}


def test_sampling_options_and_served_video_url(server, clips):
    b = OpenAIBackend(server.base_url, "m", video_url_for=lambda p: "http://files.local/clip.mp4",
                      mm_processor_kwargs={"fps": 1})
    sp = SamplingParams(temperature=0.7, top_p=0.8, top_k=20, max_new_tokens=10, seed=7)
    b.generate(Request("q", "temporal grounding", video=clips["short_30fps"], sampling=sp))
    body = server.requests[-1]["json"]
    assert (body["temperature"], body["top_p"], body["top_k"], body["seed"], body["max_tokens"]) == (0.7, 0.8, 20, 7, 10)
    assert body["messages"][0]["content"][0]["video_url"]["url"] == "http://files.local/clip.mp4"
    assert body["mm_processor_kwargs"] == {"fps": 1}


def test_reasoning_content_is_rewrapped(image_path):
    with FakeOpenAIServer(deltas=["<answer>A</answer>"], reasoning=["look ", "closely"]) as srv:
        c = OpenAIBackend(srv.base_url, "m").generate(_req(image=image_path))
    assert c.text == "<think>look closely</think><answer>A</answer>"


@pytest.mark.parametrize("status,hint", [(400, "rejected"), (401, "API key"), (404, "base URL"), (500, "server failed")])
def test_http_errors_are_clear(image_path, status, hint):
    with FakeOpenAIServer(status=status, error_message="context length exceeded") as srv:
        b = OpenAIBackend(srv.base_url, "m", retries=0)
        with pytest.raises(ServerError) as e:
            b.generate(_req(image=image_path))
    msg = str(e.value)
    assert str(status) in msg and "context length exceeded" in msg and hint in msg and srv.base_url in msg
    assert e.value.status == status


def test_connect_errors_retry_with_backoff_then_explain(image_path):
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens here now
    b = OpenAIBackend(f"http://127.0.0.1:{port}/v1", "m", retries=2, backoff=0.05, connect_timeout=1)
    t = time.perf_counter()
    with pytest.raises(ServerError, match=r"cannot connect to http://127\.0\.0\.1:\d+/v1 after 3 attempts"):
        b.generate(_req(image=image_path))
    assert time.perf_counter() - t >= 0.05 + 0.1


def test_retry_succeeds_when_server_comes_up(image_path):
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    srv = FakeOpenAIServer()
    timer = threading.Timer(0.3, lambda: srv.start(port))
    timer.start()
    try:
        b = OpenAIBackend(f"http://127.0.0.1:{port}/v1", "m", retries=6, backoff=0.1)
        assert b.generate(_req(image=image_path)).text.endswith("<answer>B</answer>")
    finally:
        timer.join()
        srv.stop()


def test_cancel_closes_the_connection(image_path):
    with FakeOpenAIServer(forever=True, delay=0.01) as srv:
        b = OpenAIBackend(srv.base_url, "m")
        s = b.stream(_req(image=image_path))
        got = [next(s) for _ in range(5)]
        b.cancel()
        rest = list(s)
        assert s.finish_reason == "cancelled" and len(rest) <= 1 and got[0] == "tok0 "
        assert srv.disconnected.wait(5)


def test_error_event_mid_stream(image_path):
    with FakeOpenAIServer(fail_after=2) as srv:
        s = OpenAIBackend(srv.base_url, "m").stream(_req(image=image_path))
        assert next(s) == "<think>"
        with pytest.raises(ServerError, match="failed while streaming: engine died"):
            list(s)


def test_read_timeout_is_explained(image_path):
    with FakeOpenAIServer(delay=0.5) as srv:
        b = OpenAIBackend(srv.base_url, "m", read_timeout=0.1)
        with pytest.raises(ServerError, match="stopped answering"):
            b.generate(_req(image=image_path))


def test_bad_media_fails_before_any_request(server, tmp_path):
    p = tmp_path / "empty.mp4"
    p.write_bytes(b"")
    with pytest.raises(Exception, match="empty.mp4"):
        OpenAIBackend(server.base_url, "m").stream(_req(video=p))
    assert server.requests == []


def test_server_that_ignores_stream_true(image_path):
    with FakeOpenAIServer(ignore_stream=True) as srv:
        c = OpenAIBackend(srv.base_url, "m").generate(_req(image=image_path))
    assert c.text == "<think>a b</think><answer>B</answer>"
    assert c.finish_reason == "stop" and c.completion_tokens == 9 and c.prompt_tokens == 42
