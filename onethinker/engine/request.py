"""From (media, task, question, options) to the exact chat messages and vision inputs sent to a model.

:func:`prepare` builds the user turn with :func:`onethinker.tasks.build_prompt`, loads the media with
the official preprocessing (``onethinker.media.sampling`` / ``images``) and returns a
:class:`Prepared` that keeps the exact prompt, the messages in the official OneThinker format and a
plain-data description of what the model was shown (frame indices, timestamps, resized sizes).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Sequence

from onethinker.engine.errors import InputError
from onethinker.media.probe import MediaError
from onethinker.tasks import (
    DEFAULT_TEMPLATES, IMAGE, VIDEO, PromptTemplates, Task, UnknownTaskError, build_prompt, get_task,
)

DEFAULT_MAX_NEW_TOKENS = 8192  # official evaluation setting


@dataclass(frozen=True)
class SamplingParams:
    """Decoding settings.  The default is the official evaluation: greedy, up to 8192 new tokens."""

    temperature: float = 0.0  # 0 = greedy
    top_p: float = 1.0
    top_k: int = 0  # 0 = off (the official runs use top_k=-1, i.e. off)
    max_new_tokens: int = DEFAULT_MAX_NEW_TOKENS
    min_new_tokens: int = 0
    seed: int | None = None
    repetition_penalty: float = 1.0

    @property
    def greedy(self) -> bool:
        return self.temperature <= 0

    def validate(self) -> "SamplingParams":
        if not (isinstance(self.max_new_tokens, int) and self.max_new_tokens >= 1):
            raise InputError(f"max new tokens must be a positive integer, got {self.max_new_tokens!r}")
        if not 0 <= self.min_new_tokens <= self.max_new_tokens:
            raise InputError(f"min new tokens must be between 0 and max new tokens, got {self.min_new_tokens!r}")
        if not (self.temperature >= 0):
            raise InputError(f"temperature must be 0 (greedy) or positive, got {self.temperature!r}")
        if not (0 < self.top_p <= 1):
            raise InputError(f"top-p must be in (0, 1], got {self.top_p!r}")
        if self.top_k < 0:
            raise InputError(f"top-k must be 0 (off) or positive, got {self.top_k!r}")
        return self


@dataclass(frozen=True)
class Request:
    """One question about one image, one video, or a video plus an image (the ``video-image`` data type)."""

    question: str
    task: "str | Task" = "open-ended"
    options: Sequence[str] | None = None
    image: Any = None  # path or PIL.Image
    video: "str | os.PathLike | None" = None
    sampling: SamplingParams = field(default_factory=SamplingParams)
    templates: PromptTemplates = DEFAULT_TEMPLATES
    video_sampling: Any = None  # onethinker.media.sampling.VideoSampling; None = official
    image_max_pixels: int | None = None  # None = official 1024·32·32
    image_min_pixels: int | None = None

    @property
    def data_type(self) -> str:
        if self.video is not None and self.image is not None:
            return "video-image"
        return VIDEO if self.video is not None else IMAGE


@dataclass
class Prepared:
    """A request ready to send: the exact user text, the official-format messages and the loaded media."""

    request: Request
    task: Task
    prompt: str  # the user turn's text, exactly as sent
    messages: list[dict]  # official OneThinker/qwen-vl-utils format (paths + per-item limits)
    images: list = field(default_factory=list)  # onethinker.media.images.PreparedImage
    videos: list = field(default_factory=list)  # onethinker.media.sampling.SampledVideo
    factor: int = 32  # pixels per LLM token side the media were sized for

    @property
    def data_type(self) -> str:
        return self.request.data_type

    def describe_media(self) -> list[dict]:
        return [v.describe() for v in self.videos] + [i.describe() for i in self.images]


def _task_for(request: Request) -> Task:
    try:
        task = get_task(request.task, request.data_type)
    except UnknownTaskError as e:
        raise InputError(str(e)) from None
    kinds = {VIDEO} if request.data_type == VIDEO else {IMAGE} if request.data_type == IMAGE else {VIDEO, IMAGE}
    if request.video is None and request.image is None:
        raise InputError(f"task {task.title!r} needs an image or a video; attach one")
    if VIDEO not in task.media and VIDEO in kinds:
        raise InputError(f"task {task.title!r} works on images; attach an image instead of a video")
    if IMAGE not in task.media and kinds == {IMAGE}:
        raise InputError(f"task {task.title!r} needs a video; attach a video")
    return task


def _limits(request: Request, factor: int):
    from onethinker.media.sampling import VideoSampling

    vs = request.video_sampling or VideoSampling.official(factor)
    return (vs, request.image_min_pixels or 4 * factor * factor, request.image_max_pixels or 1024 * factor * factor)


def build_messages(request: Request, prompt: str | None = None, factor: int = 32) -> tuple[Task, str, list[dict]]:
    """(task, prompt, messages) without loading any media.  Media items carry the official limits.

    ``factor`` is the pixels per LLM token side of the model: 32 for Qwen3-VL, 28 for Qwen2/2.5-VL.
    """
    task = _task_for(request)
    if prompt is None:
        try:
            prompt = build_prompt(task, request.question, request.options, request.data_type, request.templates)
        except ValueError as e:
            raise InputError(str(e)) from None
    if not request.question or not str(request.question).strip():
        raise InputError("the question is empty; type a question")
    vs, img_min, img_max = _limits(request, factor)
    content: list[dict] = []
    if request.video is not None:
        item = {"type": "video", "video": os.fspath(request.video), "fps": vs.fps,
                "max_frames": vs.max_frames, "max_pixels": vs.max_pixels}
        if vs.min_pixels != 128 * factor * factor:  # only what differs from qwen-vl-utils' own default
            item["min_pixels"] = vs.min_pixels
        if vs.min_frames != 4:
            item["min_frames"] = vs.min_frames
        content.append(item)
    if request.image is not None:
        img = request.image if not isinstance(request.image, (str, os.PathLike)) else os.fspath(request.image)
        item = {"type": "image", "image": img, "max_pixels": img_max}
        if request.image_min_pixels:
            item["min_pixels"] = img_min
        content.append(item)
    content.append({"type": "text", "text": prompt})
    return task, prompt, [{"role": "user", "content": content}]


def prepare(request: Request, load_media: bool = True, factor: int = 32) -> Prepared:
    """Build the messages and load the media with the official preprocessing.

    Raises :class:`~onethinker.engine.errors.InputError` (one clear sentence naming the file) for any
    bad question, task or media.
    """
    from onethinker.media.images import load_image
    from onethinker.media.sampling import load_video

    if not isinstance(request, Request):
        raise InputError(f"expected a Request, got {type(request).__name__}")
    request.sampling.validate()
    task, prompt, messages = build_messages(request, factor=factor)
    prep = Prepared(request, task, prompt, messages, factor=factor)
    if not load_media:
        return prep
    vs, img_min, img_max = _limits(request, factor)
    try:
        if request.video is not None:
            prep.videos.append(load_video(request.video, vs))
        if request.image is not None:
            prep.images.append(load_image(request.image, img_min, img_max, factor=factor))
    except MediaError as e:
        raise InputError(str(e)) from None
    return prep
