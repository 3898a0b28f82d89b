"""Small builders for feedback tests: tiny real media and valid records of each kind."""

from __future__ import annotations

import functools
import struct
import tempfile
import zlib
from pathlib import Path
from typing import Any

from onethinker.answer import parse
from onethinker.feedback import Correction, FeedbackStore, MediaRef, Preference, Record, Vote
from onethinker.tasks import build_prompt

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png(tag: str = "a") -> bytes:
    """A valid 2×2 PNG (the store decodes every image); the tag goes in a text chunk, so tags change the hash."""
    pixels = b"".join(b"\x00" + bytes(3 * 2) for _ in range(2))  # filter byte + 2 black RGB pixels per row
    return (PNG_MAGIC + _png_chunk(b"IHDR", struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 0))
            + _png_chunk(b"tEXt", b"tag\0" + tag.encode()) + _png_chunk(b"IDAT", zlib.compress(pixels))
            + _png_chunk(b"IEND", b""))


@functools.lru_cache(maxsize=1)
def _clip() -> bytes:
    import numpy as np

    from onethinker.media.video_writer import write_video

    with tempfile.TemporaryDirectory() as d:
        frames = (np.full((32, 32, 3), 40 * i, np.uint8) for i in range(4))
        return Path(write_video(Path(d) / "clip.mp4", frames, fps=4)).read_bytes()


def mp4(tag: str = "a") -> bytes:
    """A valid 4-frame H.264 MP4 (the store probes every video); the tag goes in a trailing ``free`` box."""
    box = b"free" + tag.encode()
    return _clip() + struct.pack(">I", 4 + len(box)) + box


def output(think: str, answer: str) -> str:
    return f"<think>{think}</think><answer>{answer}</answer>"


def record(store: FeedbackStore | None, feedback: Any = None, *, task: str = "spatial grounding",
           data_type: str = "image", question: str = "Where is the dog?", outputs: tuple[str, ...] | None = None,
           media: tuple[MediaRef, ...] | None = None, options: tuple[str, ...] = (), **kw: Any) -> Record:
    """A valid record; media defaults to one stored PNG (or MP4 for video data)."""
    if media is None:
        kind = "video" if data_type.startswith("video") else "image"
        assert store is not None
        media = (store.put_media(mp4() if kind == "video" else png(), kind),)
    if outputs is None:
        outputs = (output("The dog is on the left.", '{"boxes": [10, 20, 300, 400]}'),)
    answers = tuple(parse(o, task, data_type=data_type) for o in outputs)
    return Record(
        task=task, data_type=data_type, question=question, options=options,
        prompt=build_prompt(task, question, options, data_type=data_type),
        outputs=outputs, answers=answers, feedback=feedback if feedback is not None else Vote(1),
        media=media, model_id="OneThinker/OneThinker-8B", model_revision="main", backend="transformers",
        sampling={"temperature": 0.7, "top_p": 0.9, "max_new_tokens": 1024}, **kw,
    )


__all__ = ["png", "mp4", "output", "record", "Vote", "Preference", "Correction"]
