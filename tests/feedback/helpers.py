"""Small builders for feedback tests: fake-but-recognisable media and valid records of each kind."""

from __future__ import annotations

from typing import Any

from onethinker.answer import parse
from onethinker.feedback import Correction, FeedbackStore, MediaRef, Preference, Record, Vote
from onethinker.tasks import build_prompt

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
MP4_HEAD = b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2"


def png(tag: str = "a") -> bytes:
    """Bytes a media sniffer recognises as PNG; different tags give different hashes."""
    return PNG_MAGIC + tag.encode()


def mp4(tag: str = "a") -> bytes:
    return MP4_HEAD + tag.encode()


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
