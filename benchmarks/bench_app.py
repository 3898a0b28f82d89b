"""What the app adds on top of the engine.  Prints figures, asserts nothing.

    python benchmarks/bench_app.py                  # tiny random Qwen3-VL on CPU, 15 timed runs, 50 runs for memory
    python benchmarks/bench_app.py --reps 25 --runs 100

The app runs as users run it, in its own process (``python app.py --model <tiny> --load-at-start``);
the client (``gradio_client``) and the baseline run here.

0. Start-up: seconds from ``python app.py`` to the page being served (no model is loaded for that).
1. Time to first streamed token: the same request (an example image, a fixed number of new tokens)
   through ``TransformersBackend.stream`` alone (the baseline, here) and through the app (submit →
   first update that shows model text), same tiny model, same settings, one torch thread each.
   The client uploads the image with every request; a browser uploads it when the file is dropped,
   before Run, so the upload's own time is measured and shown apart.  Gradio's own floor is an
   endpoint with the same outputs that takes the same image and yields at once.  Each round times
   all four one after the other and every figure is a median over rounds, so a shared machine's
   changing load weighs on them alike.  Goal: median overhead ≤ 100 ms.
2. UI updates while streaming: updates the client receives per second during a long stream, next
   to the engine's tokens per second (the app sends at most ~12 text updates a second).
3. Memory and disk over many runs: the app process's resident memory, its output folder and gradio's
   cache after 10 and after ``--runs`` runs of a rendered task (tracking on the example video, on the
   replay test double, so every run encodes an H.264 overlay), with the output cap set to 40 files
   (the default is 200 files or 2 GB) so that it is reached.  Goal: flat.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
TMP = Path(tempfile.mkdtemp(prefix="bench-app-"))

# the replay server for part 3: the app with the replay backend (a test double) instead of a model
REPLAY_SERVER = """
import sys, time
sys.path.insert(0, {root!r})
import app
from components.context import AppContext, Settings
from components.page import launch_options
from tests.app.replay_backend import ReplayBackend
ctx = AppContext(Settings(data_dir={data!r}, segmenter="none", max_output_files=40))  # a low cap, to see it hold
ctx.models.use(ReplayBackend(), "replay")
app.build_demo(ctx).launch(**launch_options(ctx, "127.0.0.1", {port}), prevent_thread_lock=True, quiet=True)
while True:
    time.sleep(1)
"""


# gradio's own floor: a generator endpoint that takes the image (uploaded by the client as the app's is) and
# has the Run tab's outputs, and yields at once, as cheaply as gradio allows (a plain value for every
# output: each gr.update or gr.skip costs gradio a widget rebuild)
FLOOR_SERVER = """
import gradio as gr, time
def run(x, image, progress=gr.Progress()):
    chat = [{{"role": "user", "content": "q"}}, {{"role": "assistant", "content": "<think>a"}}]
    yield ["a", chat, "", None, None, [], "", "", None, []]
    time.sleep(0.05)
    yield ["b", chat, "", None, None, [], "", "", None, []]
with gr.Blocks() as demo:
    x, image = gr.Textbox(), gr.Image(type="filepath", image_mode=None)
    status, chat = gr.Markdown(), gr.Chatbot(reasoning_tags=[("<think>", "</think>")])
    more = [gr.Textbox(), gr.Image(), gr.Video(), gr.Gallery(), gr.Markdown(), gr.Markdown(), gr.File(),
            gr.Gallery()]
    x.submit(run, [x, image], [status, chat, *more], api_name="run")
demo.queue().launch(server_name="127.0.0.1", server_port={port}, quiet=True)
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def folder_mb(p: Path) -> tuple[float, int]:
    files = [f for f in p.rglob("*") if f.is_file()] if p.exists() else []
    return sum(f.stat().st_size for f in files) / 2**20, len(files)


class Server:
    """The app in a child process; ``url`` once the page is served."""

    def __init__(self, argv: list[str], name: str, port: int | None = None, timeout_s: float = 300):
        import httpx

        self.port = port or free_port()
        self.cache = TMP / f"gradio-{name}"
        env = dict(os.environ, GRADIO_TEMP_DIR=str(self.cache), OMP_NUM_THREADS="1", PYTHONPATH=str(ROOT))
        t0 = time.perf_counter()
        self.proc = subprocess.Popen([sys.executable, *argv, "--port", str(self.port)] if argv[0] == "app.py"
                                     else [sys.executable, *argv], cwd=ROOT, env=env,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.url = f"http://127.0.0.1:{self.port}"
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the app exited with {self.proc.returncode}")
            if time.perf_counter() - t0 > timeout_s:
                self.close()
                raise RuntimeError(f"the app did not serve {self.url} within {timeout_s:.0f} s")
            try:
                if httpx.get(self.url + "/", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        self.start_s = time.perf_counter() - t0

    def close(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=30)


def run_args(image: str, tokens: int) -> dict:
    from gradio_client import handle_file

    return dict(truth="", image=handle_file(image), video=None, task="open-ended", question="What is shown?",
                options="", track_object="", track_box=None, seed=None, max_new_tokens=tokens)


def first_text_s(job, t0: float) -> float:
    """Seconds from submit until an update carries model text (an assistant message in the chat)."""
    while not job.done():
        for out in job.outputs():
            chat = out[1] if isinstance(out[1], list) else []
            if len(chat) > 1:
                return time.perf_counter() - t0
        time.sleep(0.0005)
    return time.perf_counter() - t0


def upload_s(client, image: str) -> float:
    """One upload of ``image`` the way gradio_client sends it (a new connection each time)."""
    import httpx

    t0 = time.perf_counter()
    with open(image, "rb") as f:
        httpx.post(client.upload_url, files=[("files", (Path(image).name, f))]).raise_for_status()
    return time.perf_counter() - t0


def bench_ttft(model_dir: str, image: str, reps: int, tokens: int) -> None:
    from gradio_client import Client, handle_file

    from onethinker.engine import Request, SamplingParams, TransformersBackend

    backend = TransformersBackend(model_dir)
    backend.load()
    req = Request("What is shown?", "open-ended", image=image,
                  sampling=SamplingParams(max_new_tokens=tokens, min_new_tokens=tokens))

    def alone_s() -> float:
        t0 = time.perf_counter()
        s = backend.stream(req)
        next(s)
        took = time.perf_counter() - t0
        s.result()
        return took

    server = Server(["app.py", "--model", model_dir, "--load-at-start", "--data-dir", str(TMP / "data"),
                     "--fallback-model", "none", "--segmenter", "none"], "tiny")
    port = free_port()
    floor_server = Server(["-c", FLOOR_SERVER.format(port=port)], "floor", port)
    try:
        client = Client(server.url, verbose=False, download_files=False)
        floor_client = Client(floor_server.url, verbose=False, download_files=False)
        # one of each per round, so that the load of a shared machine weighs on all four alike
        rounds = []
        for _ in range(reps + 1):
            alone = alone_s()
            upload = upload_s(client, image)
            t0 = time.perf_counter()
            job = client.submit(**run_args(image, tokens), api_name="/run")
            via = first_text_s(job, t0)
            job.result(timeout=120)
            t0 = time.perf_counter()
            floor = first_text_s(floor_client.submit("x", handle_file(image), api_name="/run"), t0)
            rounds.append((alone, via, upload, floor))
        rounds = rounds[1:]

        long_tokens = 400
        c = backend.generate(Request("What is shown?", "open-ended", image=image,
                                     sampling=SamplingParams(max_new_tokens=long_tokens, min_new_tokens=long_tokens)))
        engine_tps = long_tokens / (c.elapsed_s - c.ttft_s)
        t0 = time.perf_counter()
        job = client.submit(**run_args(image, long_tokens), api_name="/run")
        first = first_text_s(job, t0)
        job.result(timeout=300)
        total = time.perf_counter() - t0
        streaming = sum(1 for o in job.outputs() if str(o[0]).startswith("⏳") and len(o[1] or []) > 1)
    finally:
        server.close()
        floor_server.close()
    ma, mv, mu, mf = (statistics.median(r[k] for r in rounds) for k in range(4))
    overhead = statistics.median(v - u - a for a, v, u, _ in rounds)
    share = statistics.median(v - a - f for a, v, _, f in rounds)
    print(f"0. start-up: the page is served {server.start_s:.1f} s after `python app.py` (model loads in the "
          "background)")
    print(f"1. time to first streamed token, median of {reps} rounds ({tokens} new tokens, tiny model, CPU, 1 thread)")
    print(f"   backend alone (baseline)             {ma * 1000:7.1f} ms")
    print(f"   through the app (gradio_client)      {mv * 1000:7.1f} ms")
    print(f"     of which the image upload           {mu * 1000:7.1f} ms   (a browser uploads before Run)")
    print(f"   overhead without the upload           {overhead * 1000:7.1f} ms   (goal ≤ 100 ms; median of each "
          "round's through − upload − alone)")
    with_upload = statistics.median(v - a for a, v, _, _ in rounds)
    print(f"   overhead with the upload              {with_upload * 1000:7.1f} ms")
    print(f"   gradio's own floor (an endpoint that takes the image and yields at once, same outputs) "
          f"{mf * 1000:.1f} ms: the app's own share of the overhead is {share * 1000:.1f} ms (median of each "
          "round's through − alone − floor, the upload in both)")
    print(f"2. while streaming {long_tokens} tokens: engine {engine_tps:.0f} tokens/s; UI updates received "
          f"{streaming / max(total - first, 1e-9):.1f}/s ({streaming} in {total - first:.2f} s)")


def bench_runs(runs: int, example_video: str, question: str) -> None:
    from gradio_client import Client, handle_file

    port = free_port()
    code = REPLAY_SERVER.format(root=str(ROOT), data=str(TMP / "data-replay"), port=port)
    server = Server(["-c", code], "replay", port)
    try:
        client = Client(server.url, verbose=False, download_files=False)
        args = dict(truth="", image=None, video=handle_file(example_video), task="tracking", question=question,
                    options="", track_object="", track_box=None, seed=None)
        marks = {}
        t0 = time.perf_counter()
        for i in range(1, runs + 1):
            out = client.predict(**args, api_name="/run")
            assert str(out[0]).startswith("✅"), out[0]
            if i in (10, runs):
                outputs = next(server.cache.glob("onethinker-*"))
                marks[i] = (rss_mb(server.proc.pid), folder_mb(outputs), folder_mb(server.cache))
        elapsed = time.perf_counter() - t0
    finally:
        server.close()
    print(f"3. {runs} tracking runs, each with a rendered H.264 overlay ({elapsed / runs:.2f} s per run)")
    print("   after runs   app RSS MB   app outputs MB (files)   gradio cache MB (files, incl. the outputs)")
    for i, (rss, (out_mb, out_n), (cache_mb, cache_n)) in marks.items():
        print(f"   {i:10d}   {rss:10.0f}   {out_mb:9.2f} ({out_n:4d})         {cache_mb:9.2f} ({cache_n:4d})")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    ap.add_argument("--reps", type=int, default=15, help="timed runs for time to first token")
    ap.add_argument("--tokens", type=int, default=16, help="new tokens per timed run")
    ap.add_argument("--runs", type=int, default=50, help="runs for the memory and disk figures")
    args = ap.parse_args(argv)

    import torch

    torch.set_num_threads(1)  # as the app process (OMP_NUM_THREADS=1): tiny models run fastest so
    from components.context import load_examples
    from tests.engine.tiny_model import build_tiny_qwen3vl

    ex = {e["task"]: e for e in load_examples()}
    model_dir = str(build_tiny_qwen3vl(TMP / "tiny"))
    bench_ttft(model_dir, ex["numerical"]["image"], args.reps, args.tokens)
    bench_runs(args.runs, ex["tracking"]["video"], ex["tracking"]["question"])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
