"""``python app.py`` as a user starts it: --help, serving offline without a model, no analytics hosts."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]

# Loaded by the child interpreter (via PYTHONPATH): writes every host name it looks up or connects to.
SPY = textwrap.dedent("""
    import os, socket
    _log = os.environ["HOST_LOG"]
    _getaddrinfo, _connect = socket.getaddrinfo, socket.socket.connect

    def _note(host):
        with open(_log, "a") as f:
            f.write(f"{host}\\n")

    def getaddrinfo(host, *a, **k):
        _note(host)
        return _getaddrinfo(host, *a, **k)

    def connect(self, address):
        if isinstance(address, tuple):
            _note(address[0])
        return _connect(self, address)

    socket.getaddrinfo = getaddrinfo
    socket.socket.connect = connect
""")

LOCAL = {"127.0.0.1", "localhost", "0.0.0.0", "::1"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_help_documents_every_flag():
    out = subprocess.run([sys.executable, "app.py", "--help"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    for flag in ("--server-name", "--port", "--share", "--data-dir", "--model", "--openai-url", "--fallback-model",
                 "--load-at-start", "--admin-user", "--admin-password", "--analytics", "--results-root"):
        assert flag in out.stdout


def test_importing_the_app_turns_analytics_off():
    env = {k: v for k, v in os.environ.items() if k != "GRADIO_ANALYTICS_ENABLED"}
    code = "import app, os, gradio.analytics as a; print(os.environ['GRADIO_ANALYTICS_ENABLED'], a.analytics_enabled())"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert out.stdout.split() == ["False", "False"], out.stderr


def test_analytics_are_opt_in():
    import app

    assert app._analytics_opt_in(["app.py", "--analytics"])
    assert not app._analytics_opt_in(["app.py"]) or os.environ.get("GRADIO_ANALYTICS_ENABLED", "").lower() == "true"


def test_serves_offline_without_loading_a_model_and_contacts_no_outside_host(tmp_path):
    spy = tmp_path / "spy"
    spy.mkdir()
    (spy / "sitecustomize.py").write_text(SPY)
    log = tmp_path / "hosts.txt"
    env = {k: v for k, v in os.environ.items() if k != "GRADIO_ANALYTICS_ENABLED"}
    env.update(PYTHONPATH=f"{spy}{os.pathsep}{ROOT}", HOST_LOG=str(log), HF_HUB_OFFLINE="1",
               GRADIO_TEMP_DIR=str(tmp_path / "gradio"))
    port = free_port()
    proc = subprocess.Popen([sys.executable, "app.py", "--port", str(port), "--data-dir", str(tmp_path / "data"),
                             "--fallback-model", "none"], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.time() + 120
        page = None
        while time.time() < deadline and proc.poll() is None:
            try:
                page = httpx.get(f"http://127.0.0.1:{port}/", timeout=2)
                break
            except httpx.HTTPError:
                time.sleep(0.2)
        assert page is not None and page.status_code == 200, proc.stdout.read() if proc.poll() is not None else ""
        config = httpx.get(f"http://127.0.0.1:{port}/config", timeout=10).json()
        text = str(config)
        assert "OneThink/OneThinker-8B" in text and "loads on first run" in text  # named, not loaded
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    hosts = set(log.read_text().split()) if log.exists() else set()
    assert "127.0.0.1" in hosts  # the spy saw the app check its own address
    assert hosts - LOCAL == set(), f"contacted {sorted(hosts - LOCAL)}"
