"""Inference through an OpenAI-compatible server (vLLM, SGLang) serving a OneThinker-style model.

Requests are ``POST {base_url}/chat/completions`` with ``stream=True`` (server-sent events).  Images
are sent as PNG data URLs of the image *after* the official resize (the server then has nothing left
to resize), videos as ``video_url`` — a data URL of the file, or a URL the server can fetch — with
the frame rate in ``mm_processor_kwargs`` (the OpenAI client's ``extra_body``), as vLLM expects.
The server samples the video frames itself; :class:`Sent` reports the official sampling for the
same settings and marks it ``"sampled_by": "server"``.

Connection failures are retried with exponential backoff; 4xx/5xx answers become one clear
:class:`~onethinker.engine.errors.ServerError`.  A server that splits reasoning into
``reasoning_content`` is re-wrapped in ``<think>…</think>`` so the text parses like local output.
"""

from __future__ import annotations

import base64
import io
import json
import mimetypes
import os
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any, Iterator

from onethinker.engine.base import Backend, Sent, TextStream
from onethinker.engine.errors import InputError, ServerError
from onethinker.engine.request import Prepared, Request, prepare

MAX_DATA_URL_BYTES = 200 * 1024 * 1024  # refuse to inline bigger videos; serve them instead


def _image_data_url(prepared_image) -> str:
    buf = io.BytesIO()
    prepared_image.image.save(buf, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _video_data_url(path: str) -> str:
    p = Path(path)
    size = p.stat().st_size
    if size > MAX_DATA_URL_BYTES:
        raise InputError(f"{p.name}: {size / 2**20:.0f} MiB is too large to send inline; serve the file over HTTP "
                         "and pass its URL (video_url_for=...), or shorten the video")
    mime = mimetypes.guess_type(p.name)[0] or "video/mp4"
    return f"data:{mime};base64," + base64.b64encode(p.read_bytes()).decode("ascii")


_HINTS = {
    400: "the server rejected the request (check the model name, max tokens against --max-model-len, and "
         "--limit-mm-per-prompt for a video plus an image)",
    401: "check the API key",
    403: "check the API key and its permissions",
    404: "check the base URL (it usually ends in /v1) and the model name",
    413: "the request is too large; serve the video over HTTP instead of inlining it, or shorten it",
    422: "the server could not read the request; check the model name and options",
    429: "the server is busy; try again shortly",
}


def _error_text(body: bytes) -> str:
    try:
        data = json.loads(body.decode("utf-8", "replace"))
    except ValueError:
        return body.decode("utf-8", "replace").strip()[:300]
    err = data.get("error", data) if isinstance(data, dict) else data
    if isinstance(err, dict):
        return str(err.get("message") or err.get("detail") or err)[:300]
    return str(err)[:300]


class OpenAIBackend(Backend):
    """Streaming chat completions against ``base_url`` (e.g. ``http://localhost:8000/v1``)."""

    name = "openai"

    def __init__(self, base_url: str = "http://localhost:8000/v1", model: str | None = None, *,
                 api_key: str | None = None, connect_timeout: float = 10.0, read_timeout: float = 300.0,
                 retries: int = 3, backoff: float = 0.5, mm_processor_kwargs: dict | None = None,
                 video_url_for=None, extra_body: dict | None = None, factor: int = 32):
        super().__init__()
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.api_key = api_key if api_key is not None else os.environ.get("OPENAI_API_KEY")
        self.connect_timeout, self.read_timeout = connect_timeout, read_timeout
        self.retries, self.backoff = retries, backoff
        self.mm_processor_kwargs = mm_processor_kwargs
        self.video_url_for = video_url_for  # callable(path) -> URL the server can fetch; None = data URL
        self.extra_body = dict(extra_body or {})
        self.factor = factor  # pixels per LLM token side: 32 for Qwen3-VL (OneThinker), 28 for Qwen2.5-VL

    # -- HTTP helpers ----------------------------------------------------------------------------
    def _headers(self) -> dict:
        h = {"Content-Type": "application/json", "Accept": "text/event-stream"}
        if self.api_key:
            h["Authorization"] = f"Bearer {self.api_key}"
        return h

    def _timeout(self):
        import httpx

        return httpx.Timeout(connect=self.connect_timeout, read=self.read_timeout, write=60.0, pool=10.0)

    def _with_retries(self, call):
        import httpx

        delay = self.backoff
        for attempt in range(self.retries + 1):
            try:
                return call()
            except (httpx.ConnectError, httpx.ConnectTimeout) as e:
                if attempt == self.retries:
                    raise ServerError(f"cannot connect to {self.base_url} after {attempt + 1} attempts "
                                      f"({type(e).__name__}); is the server running and the URL right?") from None
            except ServerError as e:
                if e.status not in (502, 503, 504) or attempt == self.retries:
                    raise
            time.sleep(delay)
            delay *= 2

    def _raise_for_status(self, resp) -> None:
        if resp.status_code < 400:
            return
        body = resp.read()
        detail = _error_text(body)
        hint = _HINTS.get(resp.status_code, "the server failed; see its log" if resp.status_code >= 500 else "")
        raise ServerError(f"server at {self.base_url} answered {resp.status_code} {resp.reason_phrase}: {detail}"
                          + (f" — {hint}" if hint else ""), resp.status_code)

    def list_models(self) -> list[str]:
        import httpx

        def call():
            try:
                with httpx.Client(timeout=self._timeout()) as c:
                    r = c.get(f"{self.base_url}/models", headers=self._headers())
                    self._raise_for_status(r)
                    return [m.get("id") for m in r.json().get("data", [])]
            except httpx.TimeoutException:
                raise ServerError(f"{self.base_url} did not answer in time") from None
            except ValueError:
                raise ServerError(f"{self.base_url}/models did not return JSON; is it an OpenAI-compatible server?")

        return self._with_retries(call)

    def _model_name(self) -> str:
        if not self.model:
            models = self.list_models()
            if not models:
                raise ServerError(f"{self.base_url} serves no models; pass model=...")
            self.model = models[0]
        return self.model

    # -- request body ----------------------------------------------------------------------------
    def mm_kwargs(self, prep: Prepared) -> dict:
        if self.mm_processor_kwargs is not None:
            return dict(self.mm_processor_kwargs)
        if not prep.videos:
            return {}
        vs = prep.videos[0].sampling
        return {"fps": vs.fps, "do_sample_frames": True}

    def body(self, prep: Prepared, model: str) -> tuple[dict, list[dict]]:
        """The JSON body and a description of its media (no base64)."""
        content: list[dict] = []
        described: list[dict] = []
        for v in prep.videos:
            url = self.video_url_for(v.path) if self.video_url_for else _video_data_url(v.path)
            content.append({"type": "video_url", "video_url": {"url": url}})
            d = v.describe()
            d.update(sampled_by="server", url=url if not url.startswith("data:") else "data:…")
            described.append(d)
        for im in prep.images:
            content.append({"type": "image_url", "image_url": {"url": _image_data_url(im)}})
            described.append(im.describe())
        content.append({"type": "text", "text": prep.prompt})
        sp = prep.request.sampling
        body: dict[str, Any] = {
            "model": model, "messages": [{"role": "user", "content": content}], "stream": True,
            "stream_options": {"include_usage": True}, "max_tokens": sp.max_new_tokens,
            "temperature": max(sp.temperature, 0.0), "top_p": sp.top_p,
        }
        if sp.top_k:
            body["top_k"] = sp.top_k
        if sp.seed is not None:
            body["seed"] = sp.seed
        if sp.min_new_tokens:
            body["min_tokens"] = sp.min_new_tokens
        if sp.repetition_penalty != 1.0:
            body["repetition_penalty"] = sp.repetition_penalty
        mm = self.mm_kwargs(prep)
        if mm:
            body["mm_processor_kwargs"] = mm
        body.update(self.extra_body)
        return body, described

    # -- the interface ---------------------------------------------------------------------------
    def stream(self, request: Request) -> TextStream:
        t0 = time.perf_counter()
        prep = prepare(request, factor=self.factor)
        model = self._model_name()
        body, media = self.body(prep, model)
        sent = Sent(self.name, model, prep.task.id, prep.data_type, prep.prompt,
                    [{"role": "user", "content": [
                        {k: v for k, v in c.items()} if c["type"] == "text" else {"type": c["type"]}
                        for c in body["messages"][0]["content"]]}],
                    media, asdict(prep.request.sampling),
                    extra={"url": f"{self.base_url}/chat/completions",
                           "mm_processor_kwargs": body.get("mm_processor_kwargs")})
        stream = TextStream(sent, t0)
        return self._track(stream._attach(self._events(stream, body)))

    def _events(self, stream: TextStream, body: dict) -> Iterator[str]:
        import httpx

        client = httpx.Client(timeout=self._timeout())
        url = f"{self.base_url}/chat/completions"

        def open_stream():
            req = client.build_request("POST", url, headers=self._headers(), json=body)
            resp = client.send(req, stream=True)
            try:
                self._raise_for_status(resp)
            except BaseException:
                resp.close()
                raise
            return resp

        resp = None
        in_think = False
        try:
            resp = self._with_retries(open_stream)
            if "application/json" in resp.headers.get("content-type", ""):
                # a server that ignores stream=True answers with one JSON completion
                yield from self._whole(stream, resp)
                return
            for line in resp.iter_lines():
                if stream.cancelled:
                    stream.finish_reason = "cancelled"
                    return  # closing the connection makes vLLM abort the request
                if not line or line.startswith(":") or not line.startswith("data:"):
                    continue
                data = line[5:].strip()
                if data == "[DONE]":
                    break
                try:
                    chunk = json.loads(data)
                except ValueError:
                    raise ServerError(f"{self.base_url} sent a malformed event: {data[:120]!r}") from None
                if "error" in chunk:
                    raise ServerError(f"server at {self.base_url} failed while streaming: {_error_text(data.encode())}")
                usage = chunk.get("usage")
                if usage:
                    stream.completion_tokens = usage.get("completion_tokens")
                    stream.sent.prompt_tokens = usage.get("prompt_tokens")
                for choice in chunk.get("choices") or []:
                    delta = choice.get("delta") or {}
                    reasoning = delta.get("reasoning_content") or delta.get("reasoning")
                    text = delta.get("content")
                    if reasoning:
                        if not in_think:
                            in_think = True
                            reasoning = "<think>" + reasoning
                        yield reasoning
                    if text:
                        if in_think:
                            in_think = False
                            text = "</think>" + text
                        yield text
                    if choice.get("finish_reason"):
                        stream.finish_reason = choice["finish_reason"]
            if in_think:
                yield "</think>"
        except httpx.TimeoutException:
            raise ServerError(f"{self.base_url} stopped answering for {self.read_timeout:.0f} s; "
                              "raise read_timeout or check the server") from None
        except httpx.HTTPError as e:
            raise ServerError(f"connection to {self.base_url} broke while streaming ({type(e).__name__}: "
                              f"{str(e)[:120]})") from None
        finally:
            if resp is not None:
                resp.close()
            client.close()

    def _whole(self, stream: TextStream, resp) -> Iterator[str]:
        try:
            data = json.loads(resp.read())
            choice = data["choices"][0]
            msg = choice.get("message") or {}
        except (ValueError, KeyError, IndexError, TypeError):
            raise ServerError(f"{self.base_url} answered with JSON that is not a chat completion") from None
        usage = data.get("usage") or {}
        stream.completion_tokens = usage.get("completion_tokens")
        stream.sent.prompt_tokens = usage.get("prompt_tokens")
        stream.finish_reason = choice.get("finish_reason")
        reasoning = msg.get("reasoning_content") or msg.get("reasoning")
        text = (f"<think>{reasoning}</think>" if reasoning else "") + (msg.get("content") or "")
        if text:
            yield text

    def info(self) -> dict[str, Any]:
        return {"backend": self.name, "base_url": self.base_url, "model": self.model}
