"""Video frame sampling and resizing exactly as OneThinker's official inference does it.

The official scripts hand each video to ``qwen_vl_utils.process_vision_info`` with ``fps=2``,
``max_frames=128`` and ``max_pixels=256*32*32`` (patch 16, merge 2: one LLM token per 32×32 pixels),
decode with decord, and pass the frames on with their *original* frame indices so that the
``<t seconds>`` tokens the model reads are the true times.  This module reproduces that arithmetic in
our own code (a parity test holds it to the reference) and keeps what the model saw: sampled frame
indices, their timestamps, the original and resized sizes.

Frames stay ``uint8`` (T, C, H, W): the reference resizes uint8 tensors and only then casts to float,
so the values are identical and memory is a quarter.
"""

from __future__ import annotations

import math
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from onethinker.media.probe import MediaError, open_video

PATCH_FACTOR = 32  # vision patch 16 × spatial merge 2: one LLM token per 32×32 pixels
FRAME_FACTOR = 2  # temporal patch: frames go to the model in pairs
MAX_ASPECT_RATIO = 200

VIDEO_FPS = 2.0
VIDEO_MIN_FRAMES = 4
VIDEO_MAX_FRAMES = 128
VIDEO_MIN_PIXELS = 128 * PATCH_FACTOR * PATCH_FACTOR
VIDEO_MAX_PIXELS = 256 * PATCH_FACTOR * PATCH_FACTOR
VIDEO_FRAME_PIXEL_CEILING = 768 * PATCH_FACTOR * PATCH_FACTOR
VIDEO_TOTAL_PIXELS = 128000 * PATCH_FACTOR * PATCH_FACTOR * 0.9  # sequence budget over all frames

IMAGE_MIN_PIXELS = 4 * PATCH_FACTOR * PATCH_FACTOR
IMAGE_MAX_PIXELS = 1024 * PATCH_FACTOR * PATCH_FACTOR


def _round_to(x: float, f: int) -> int:
    return round(x / f) * f


def _floor_to(x: float, f: int) -> int:
    return math.floor(x / f) * f


def _ceil_to(x: float, f: int) -> int:
    return math.ceil(x / f) * f


def smart_resize(height: int, width: int, factor: int = PATCH_FACTOR,
                 min_pixels: float = IMAGE_MIN_PIXELS, max_pixels: float = IMAGE_MAX_PIXELS) -> tuple[int, int]:
    """(height, width) rounded to multiples of ``factor`` with the area inside [min, max], aspect kept.

    Raises ``ValueError`` for sizes more than 200 times wider than high (or the reverse).
    """
    if height <= 0 or width <= 0:
        raise ValueError(f"image size must be positive, got {width}x{height}")
    if max(height, width) / min(height, width) > MAX_ASPECT_RATIO:
        raise ValueError(
            f"aspect ratio {max(height, width) / min(height, width):.0f}:1 is too extreme "
            f"(at most {MAX_ASPECT_RATIO}:1); crop the picture"
        )
    h = max(factor, _round_to(height, factor))
    w = max(factor, _round_to(width, factor))
    if h * w > max_pixels:
        scale = math.sqrt(height * width / max_pixels)
        h, w = _floor_to(height / scale, factor), _floor_to(width / scale, factor)
    elif h * w < min_pixels:
        scale = math.sqrt(min_pixels / (height * width))
        h, w = _ceil_to(height * scale, factor), _ceil_to(width * scale, factor)
    return h, w


@dataclass(frozen=True)
class VideoSampling:
    """How frames are chosen and sized; the defaults are the official OneThinker settings."""

    fps: float = VIDEO_FPS
    min_frames: int = VIDEO_MIN_FRAMES
    max_frames: int = VIDEO_MAX_FRAMES
    max_pixels: int = VIDEO_MAX_PIXELS  # per frame
    min_pixels: int = VIDEO_MIN_PIXELS  # per frame
    total_pixels: float = VIDEO_TOTAL_PIXELS
    factor: int = PATCH_FACTOR  # pixels per LLM token side: 32 for Qwen3-VL, 28 for Qwen2/2.5-VL

    @classmethod
    def official(cls, factor: int = PATCH_FACTOR) -> "VideoSampling":
        """OneThinker's settings expressed for a model whose token covers ``factor``×``factor`` pixels."""
        return cls(max_pixels=256 * factor * factor, min_pixels=128 * factor * factor,
                   total_pixels=128000 * factor * factor * 0.9, factor=factor)

    def num_frames(self, total_frames: int, video_fps: float) -> int:
        """How many frames to take from a clip of ``total_frames`` at ``video_fps`` (an even number ≥ 2)."""
        if total_frames < FRAME_FACTOR:
            raise ValueError(f"the video has {total_frames} frame(s); at least {FRAME_FACTOR} are needed")
        if not video_fps > 0:
            raise ValueError("the video reports no frame rate")
        lo = _ceil_to(self.min_frames, FRAME_FACTOR)
        hi = _floor_to(min(self.max_frames, total_frames), FRAME_FACTOR)
        n = total_frames / video_fps * self.fps
        n = min(max(n, lo), hi, total_frames)
        n = _floor_to(n, FRAME_FACTOR)
        if not FRAME_FACTOR <= n <= total_frames:
            raise ValueError(f"cannot sample {n} frames from {total_frames}")
        return int(n)

    def frame_indices(self, total_frames: int, video_fps: float) -> list[int]:
        """Evenly spaced original frame indices, first and last frame included."""
        import torch

        n = self.num_frames(total_frames, video_fps)
        # float32 linspace then round-half-even, as the reference does, so ties land on the same frame
        return torch.linspace(0, total_frames - 1, n).round().long().tolist()

    def pixel_limits(self, num_frames: int) -> tuple[float, float]:
        """(min, max) pixels per frame for a clip sampled to ``num_frames`` frames."""
        cap = max(min(768 * self.factor * self.factor, self.total_pixels / num_frames * FRAME_FACTOR),
                  int(self.min_pixels * 1.05))
        return self.min_pixels, min(self.max_pixels, cap)

    def resized_size(self, height: int, width: int, num_frames: int) -> tuple[int, int]:
        lo, hi = self.pixel_limits(num_frames)
        return smart_resize(height, width, self.factor, lo, hi)


OFFICIAL_VIDEO = VideoSampling()


@dataclass
class SampledVideo:
    """The frames the model sees, with everything needed to line overlays up with them."""

    path: str
    frames: Any = field(repr=False)  # torch.uint8 (T, 3, resized_height, resized_width)
    frame_indices: list[int]
    fps: float  # of the source video
    total_frames: int
    width: int  # source
    height: int
    resized_width: int
    resized_height: int
    sampling: VideoSampling = OFFICIAL_VIDEO

    @property
    def num_frames(self) -> int:
        return len(self.frame_indices)

    @property
    def duration(self) -> float:
        return self.total_frames / self.fps

    @property
    def timestamps(self) -> list[float]:
        """Time in seconds of each sampled frame in the source video."""
        return [i / self.fps for i in self.frame_indices]

    def patch_timestamps(self, temporal_patch_size: int = FRAME_FACTOR) -> list[float]:
        """The ``<t seconds>`` values the Qwen3-VL processor writes: one per pair of frames, their mean time."""
        t = self.timestamps
        if len(t) % temporal_patch_size:
            t = t + [t[-1]] * (temporal_patch_size - len(t) % temporal_patch_size)
        k = temporal_patch_size
        return [(t[i] + t[i + k - 1]) / 2 for i in range(0, len(t), k)]

    def metadata(self):
        """A transformers ``VideoMetadata`` with the ORIGINAL frame indices (use with ``do_sample_frames=False``)."""
        from transformers.video_utils import VideoMetadata

        return VideoMetadata(
            total_num_frames=self.total_frames, fps=self.fps, width=self.width, height=self.height,
            duration=self.duration, video_backend="decord", frames_indices=list(self.frame_indices),
        )

    def describe(self) -> dict:
        """Plain-data summary of what was sent (no pixels)."""
        return {
            "kind": "video", "path": self.path, "width": self.width, "height": self.height,
            "resized_width": self.resized_width, "resized_height": self.resized_height,
            "fps": self.fps, "total_frames": self.total_frames, "num_frames": self.num_frames,
            "frame_indices": list(self.frame_indices), "timestamps": self.timestamps,
            "patch_timestamps": self.patch_timestamps(), "sampling": asdict(self.sampling),
        }


def resize_frames(frames, height: int, width: int):
    """Bicubic, antialiased resize of uint8 (T, C, H, W) frames (the reference's filter)."""
    from torchvision.transforms import InterpolationMode
    from torchvision.transforms import functional as F

    if tuple(frames.shape[-2:]) == (height, width):
        return frames
    return F.resize(frames, [height, width], interpolation=InterpolationMode.BICUBIC, antialias=True)


def load_video(path: str | os.PathLike, sampling: VideoSampling = OFFICIAL_VIDEO, *,
               chunk: int = 16, num_threads: int = 0, decoders: int | None = None) -> SampledVideo:
    """Decode (decord), sample and resize a video as the official inference does.

    The sampled indices are cut into chunks that each start at a keyframe, so every frame is decoded
    once, as in one ``get_batch``.  ``decoders`` threads (default: one per core, at most 4) each
    decode whole chunks with a single-threaded decord reader of their own — GOP-level parallelism,
    which beats decord's own threading — while this thread resizes finished chunks in order (torch
    parallelises each resize itself; two threads running torch ops at once would fight over its pool).

    Raises :class:`MediaError` naming the file for anything that cannot be used (missing, empty,
    not a video, truncated, a single frame, extreme aspect ratio).
    """
    import torch

    name = Path(path).name
    vr = open_video(path, num_threads=num_threads)
    total = len(vr)
    fps = float(vr.get_avg_fps() or 0.0)
    try:
        indices = sampling.frame_indices(total, fps)
    except ValueError as e:
        raise MediaError(f"{name}: {e}; use a longer or re-encoded video") from None
    chunks = _keyframe_chunks(vr, indices, chunk)
    workers = max(1, min(len(chunks), decoders or min(4, os.cpu_count() or 1)))
    local = threading.local()

    def decode(ix: list[int]):
        reader = vr if workers == 1 else getattr(local, "reader", None)
        if reader is None:  # one reader per decoding thread: decord readers are not shared across threads
            reader = local.reader = open_video(path, num_threads=1)
        return torch.from_numpy(reader.get_batch(ix).asnumpy()).permute(0, 3, 1, 2)

    out = None
    try:
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="onethinker-decode") as pool:
            # at most workers + 1 decoded chunks wait in memory for their resize
            pending = [pool.submit(decode, c) for c in chunks[: workers + 1]]
            start = 0
            for k in range(len(chunks)):
                batch = pending[k].result()
                pending[k] = None  # let the decoded chunk go as soon as it is resized
                if k + workers + 1 < len(chunks):
                    pending.append(pool.submit(decode, chunks[k + workers + 1]))
                if out is None:
                    height, width = int(batch.shape[2]), int(batch.shape[3])
                    rh, rw = _target_size(sampling, height, width, len(indices), name)
                    out = torch.empty((len(indices), 3, rh, rw), dtype=torch.uint8)
                out[start:start + len(batch)] = resize_frames(batch, rh, rw)
                start += len(batch)
    except MediaError:
        raise
    except Exception as e:  # a damaged stream, or decord's stride bug on some frame widths (e.g. 48, 72 px)
        frames = _decode_with_ffmpeg(path, indices, name, e)
        height, width = int(frames.shape[2]), int(frames.shape[3])
        rh, rw = _target_size(sampling, height, width, len(indices), name)
        out = torch.empty((len(indices), 3, rh, rw), dtype=torch.uint8)
        for s in range(0, len(indices), chunk):
            out[s:s + chunk] = resize_frames(frames[s:s + chunk], rh, rw)
    return SampledVideo(str(path), out, indices, fps, total, width, height, rw, rh, sampling)


def _target_size(sampling: VideoSampling, height: int, width: int, n_frames: int, name: str) -> tuple[int, int]:
    try:
        return sampling.resized_size(height, width, n_frames)
    except ValueError as e:
        raise MediaError(f"{name}: {e}") from None


def _keyframe_chunks(vr, indices: list[int], min_size: int) -> list[list[int]]:
    """Split sorted indices into batches that each start in a new keyframe interval (GOP).

    A batch that starts inside the GOP where the previous one ended makes decord seek back to the
    keyframe and decode those frames again; batches split at GOP boundaries decode every frame
    once, like a single ``get_batch``, while letting resizing overlap decoding.
    """
    import bisect

    try:
        keys = sorted(int(k) for k in vr.get_key_indices())
    except Exception:
        keys = []
    if len(keys) < 2:
        return [list(indices)]
    chunks: list[list[int]] = []
    cur: list[int] = []
    last_key = None
    for i in indices:
        key = keys[max(0, bisect.bisect_right(keys, i) - 1)]
        if cur and key != last_key and len(cur) >= min_size:
            chunks.append(cur)
            cur = []
        cur.append(i)
        last_key = key
    if cur:
        chunks.append(cur)
    return chunks


def _decode_with_ffmpeg(path, indices: list[int], name: str, cause: Exception):
    """Fallback decoder (ffmpeg via imageio-ffmpeg): read sequentially, keep the wanted frames."""
    import numpy as np
    import torch

    try:
        import imageio_ffmpeg

        reader = imageio_ffmpeg.read_frames(str(path), pix_fmt="rgb24")
        meta = next(reader)
        w, h = meta["size"]
        wanted, need = {}, set(indices)
        for i, buf in enumerate(reader):
            if i in need:
                wanted[i] = np.frombuffer(buf, np.uint8).reshape(h, w, 3)
            if i >= indices[-1]:
                break
        reader.close()
    except Exception as e:
        raise MediaError(_decode_failure(name, e)) from None
    missing = [i for i in indices if i not in wanted]
    if missing:
        raise MediaError(_decode_failure(name, cause))
    return torch.from_numpy(np.stack([wanted[i] for i in indices])).permute(0, 3, 1, 2)


def _decode_failure(name: str, e: Exception) -> str:
    first = (str(e).strip().splitlines() or [type(e).__name__])[0][:120]
    return (f"{name}: decoding failed part-way ({first}); the file is probably truncated or damaged — "
            "re-encode it as H.264 MP4 (e.g. ffmpeg -i in.mp4 -c:v libx264 out.mp4)")
