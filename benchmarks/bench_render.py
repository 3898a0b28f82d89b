"""Render speed and memory: tracking + mask overlay on 1280×720 video, against plain encoding.

    python benchmarks/bench_render.py               # 128 frames; memory at 64 and 512 frames
    python benchmarks/bench_render.py --frames 64 --mem 32 128

Speed: the same source frames go through (a) decode → H.264 encode and (b) decode → tracking boxes,
trace, labels, mask overlay, progress bar → H.264 encode, in the same run; the figure that matters is
(b)/(a) in frames per second (goal ≥ 0.7).  Each is run twice, alternating, and the best kept.
Memory: each length runs in a fresh process and reports peak RSS and the peak of Python/numpy
allocations during the render (goal: flat in video length).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import tracemalloc
from typing import TYPE_CHECKING

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from onethinker.payloads import Track  # noqa: E402
from onethinker.media.frames import FrameSource  # noqa: E402
from onethinker.media.video_writer import VideoWriter, probe_encoded  # noqa: E402

# onethinker.render (supervision, scipy) is imported where it is used, so that --help answers at once.
if TYPE_CHECKING:
    from onethinker.render import RenderOptions

W, H, FPS = 1280, 720, 16


def make_source(path: str, n: int) -> str:
    """A synthetic 720p clip: a gradient background with a moving bright block (streamed to disk)."""
    base = np.zeros((H, W, 3), np.uint8)
    base[..., 0] = np.linspace(30, 200, W, dtype=np.uint8)[None, :]
    base[..., 1] = np.linspace(40, 160, H, dtype=np.uint8)[:, None]
    base[..., 2] = 90
    with VideoWriter(path, fps=FPS, preset="ultrafast", crf=18) as w:
        for i in range(n):
            f = base.copy()
            x = int((W - 200) * (i / max(1, n - 1)))
            f[250:450, x:x + 200] = (240, 240, 240)
            w.write(f)
    return path


def track_for(n: int) -> Track:
    secs = max(1, int(n / FPS))
    return Track({s: (100 + 700 * s / secs, 300, 260 + 700 * s / secs, 650) for s in range(1, secs + 1)})


def mask_source(n: int):
    """Per-frame masks: an ellipse sliding with the object (one bool array made per frame)."""
    yy, xx = np.mgrid[0:H, 0:W]
    ell = ((xx - 100) / 100.0) ** 2 + ((yy - 350) / 100.0) ** 2 <= 1.0

    def get(i: int) -> np.ndarray:
        return np.roll(ell, int((W - 200) * i / max(1, n - 1)), axis=1)

    return get


def encode_only(src_path: str, out: str, options: RenderOptions) -> int:
    src = FrameSource.open(src_path, options.max_fps, options.max_side)
    with VideoWriter(out, fps=src.plan.fps, crf=options.crf, preset=options.preset) as w:
        for fr in src:
            w.write(fr.image)
    return w.frames_written


def render_track(src_path: str, out: str, n: int, options: RenderOptions):
    from onethinker.render import render

    return render(track_for(n), src_path, masks=mask_source(n), options=options, out_file=out)


def speed(n: int, tmp: str, options: RenderOptions) -> dict:
    src = make_source(os.path.join(tmp, f"src{n}.mp4"), n)
    best_enc = best_ren = float("inf")
    res = None
    for rep in range(2):
        t = time.perf_counter()
        k = encode_only(src, os.path.join(tmp, f"enc{rep}.mp4"), options)
        best_enc = min(best_enc, time.perf_counter() - t)
        t = time.perf_counter()
        res = render_track(src, os.path.join(tmp, f"ren{rep}.mp4"), n, options)
        best_ren = min(best_ren, time.perf_counter() - t)
    info = probe_encoded(res.video_path)
    return {
        "frames": k,
        "encode_only_fps": k / best_enc,
        "render_encode_fps": len(res.frames) / best_ren,
        "ratio": (len(res.frames) / best_ren) / (k / best_enc),
        "masked_frames": sum(f.mask for f in res.frames),
        "boxed_frames": sum(f.pred is not None for f in res.frames),
        "codec": info.codec,
        "out_size": f"{info.width}x{info.height}",
        "warnings": list(res.warnings),
    }


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


class RssSampler(threading.Thread):
    """Peak resident memory of this process while a block runs (sampled every 5 ms)."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.peak, self._done = 0.0, threading.Event()

    def run(self) -> None:
        while not self._done.is_set():
            self.peak = max(self.peak, _rss_mb())
            time.sleep(0.005)

    def stop(self) -> float:
        self._done.set()
        self.join()
        return max(self.peak, _rss_mb())


def child_memory(n: int, mode: str) -> None:
    from onethinker.render import RenderOptions

    options = RenderOptions()
    with tempfile.TemporaryDirectory() as tmp:
        src = make_source(os.path.join(tmp, "src.mp4"), n)
        FrameSource.open(src)  # warm the decoder libraries before measuring
        rss0 = _rss_mb()
        sampler = RssSampler()
        sampler.start()
        tracemalloc.start()
        t = time.perf_counter()
        if mode == "render":
            render_track(src, os.path.join(tmp, "out.mp4"), n, options)
        else:
            encode_only(src, os.path.join(tmp, "out.mp4"), options)
        dt = time.perf_counter() - t
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        rss = sampler.stop()
    print(json.dumps({"frames": n, "mode": mode, "peak_rss_mb": rss, "rss_before_mb": rss0,
                      "peak_traced_mb": peak / 2**20, "seconds": dt}))


def memory(n: int, mode: str) -> dict:
    out = subprocess.run([sys.executable, os.path.abspath(__file__), "--child-mem", str(n), "--mode", mode],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=128, help="frames in the speed run (default 128)")
    ap.add_argument("--mem", type=int, nargs="*", default=[64, 512],
                    help="video lengths in frames for the memory runs, each in a fresh process (default 64 512; "
                         "none to skip)")
    ap.add_argument("--child-mem", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--mode", default="render", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child_mem:
        child_memory(a.child_mem, a.mode)
        return
    from onethinker.render import RenderOptions

    options = RenderOptions()
    print(f"render benchmark: {a.frames} frames {W}x{H} @ {FPS} fps, preset={options.preset} crf={options.crf}, "
          f"cpu cores={os.cpu_count()}")
    with tempfile.TemporaryDirectory() as tmp:
        s = speed(a.frames, tmp, options)
    print(f"  encode only          {s['encode_only_fps']:7.1f} frames/s")
    print(f"  render + encode      {s['render_encode_fps']:7.1f} frames/s   (tracking boxes+trace+labels, "
          f"mask on {s['masked_frames']} frames, {s['boxed_frames']} boxed, {s['codec']} {s['out_size']})")
    print(f"  ratio                {s['ratio']:7.2f}   (goal >= 0.70)")
    if a.mem:
        print("peak memory by video length (fresh process each):")
        for n in a.mem:
            for mode in ("encode", "render"):
                m = memory(n, mode)
                print(f"  {mode:6s} {n:4d} frames: peak RSS {m['peak_rss_mb']:7.1f} MB "
                      f"(+{m['peak_rss_mb'] - m['rss_before_mb']:5.1f} MB over the {m['rss_before_mb']:.0f} MB "
                      f"before), peak Python/numpy allocations {m['peak_traced_mb']:6.1f} MB, {m['seconds']:.1f} s")


if __name__ == "__main__":
    main()
