"""Test double: a tiny OpenAI-compatible chat-completions server on 127.0.0.1 (server-sent events).

It records every request body, streams scripted deltas, and can answer with an HTTP error, stream
forever (for cancel tests), split reasoning into ``reasoning_content`` like vLLM's reasoning parser,
or fail mid-stream.  Nothing here is used outside tests.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class FakeOpenAIServer:
    def __init__(self, deltas=("<think>", "a b", "</think>", "<answer>B</answer>"), *, status: int = 200,
                 error_message: str = "bad things", delay: float = 0.0, forever: bool = False,
                 reasoning: list[str] | None = None, model: str = "fake-onethinker", fail_after: int | None = None,
                 ignore_stream: bool = False):
        self.deltas = list(deltas)
        self.status, self.error_message, self.delay = status, error_message, delay
        self.forever, self.reasoning, self.model, self.fail_after = forever, reasoning, model, fail_after
        self.ignore_stream = ignore_stream  # answer with one JSON completion, as some servers do
        self.requests: list[dict] = []
        self.disconnected = threading.Event()
        self._httpd: ThreadingHTTPServer | None = None

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self, port: int = 0) -> "FakeOpenAIServer":
        handler = self._handler()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", port), handler)
        self._httpd.daemon_threads = True
        threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._httpd:
            self._httpd.shutdown()
            self._httpd.server_close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    @property
    def base_url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}/v1"

    # -- protocol ----------------------------------------------------------------------------
    def _chunk(self, delta: dict, finish=None) -> bytes:
        obj = {"id": "chatcmpl-test", "object": "chat.completion.chunk", "created": 0, "model": self.model,
               "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
        return b"data: " + json.dumps(obj).encode() + b"\n\n"

    def _handler(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output clean
                pass

            def do_GET(self):
                if self.path.rstrip("/") == "/v1/models":
                    body = json.dumps({"object": "list", "data": [{"id": server.model, "object": "model"}]}).encode()
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                else:
                    self.send_error(404)

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                try:
                    body = json.loads(raw)
                except ValueError:
                    body = None
                server.requests.append({"path": self.path, "headers": dict(self.headers), "json": body})
                if self.path != "/v1/chat/completions":
                    self.send_error(404)
                    return
                if server.status != 200:
                    payload = json.dumps({"object": "error", "message": server.error_message,
                                          "type": "BadRequestError", "code": server.status}).encode()
                    self.send_response(server.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                    return
                if server.ignore_stream:
                    text = "".join(server.deltas)
                    payload = json.dumps({"id": "chatcmpl-test", "object": "chat.completion", "model": server.model,
                                          "choices": [{"index": 0, "finish_reason": "stop",
                                                       "message": {"role": "assistant", "content": text}}],
                                          "usage": {"prompt_tokens": 42, "completion_tokens": 9}}).encode()
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Cache-Control", "no-cache")
                self.end_headers()
                try:
                    self._stream(body or {})
                except (BrokenPipeError, ConnectionResetError):
                    server.disconnected.set()

            def _send(self, data: bytes):
                self.wfile.write(data)
                self.wfile.flush()
                if server.delay:
                    time.sleep(server.delay)

            def _stream(self, body):
                self._send(self._chunk({"role": "assistant", "content": ""}))
                n = 0
                for r in server.reasoning or []:
                    self._send(server._chunk({"reasoning_content": r}))
                    n += 1
                i = 0
                while True:
                    if server.forever:
                        piece = f"tok{i} "
                    elif i < len(server.deltas):
                        piece = server.deltas[i]
                    else:
                        break
                    if server.fail_after is not None and n >= server.fail_after:
                        self._send(b"data: " + json.dumps({"error": {"message": "engine died", "code": 500}}).encode()
                                   + b"\n\n")
                        return
                    self._send(server._chunk({"content": piece}))
                    i += 1
                    n += 1
                self._send(server._chunk({}, finish="stop"))
                usage = {"prompt_tokens": 42, "completion_tokens": n, "total_tokens": 42 + n}
                self._send(b"data: " + json.dumps({"id": "chatcmpl-test", "object": "chat.completion.chunk",
                                                   "choices": [], "usage": usage}).encode() + b"\n\n")
                self._send(b"data: [DONE]\n\n")

            def _chunk(self, delta, finish=None):
                return server._chunk(delta, finish)

        return Handler
