"""Messages with image / video blocks → processor inputs, through the engine's official preprocessing.

The one code path from a conversation to model tensors that SFT, DPO and GRPO share.  Images are loaded
and resized by :func:`onethinker.media.images.load_image`, videos decoded, sampled (2 fps, ≤ 128 frames,
per-frame pixel cap) and resized by :func:`onethinker.media.sampling.load_video`, exactly as the app's
engine does for inference.  The frames then reach the processor with their ORIGINAL frame indices
(``VideoMetadata``, ``do_sample_frames=False``) so the ``<t seconds>`` tokens are true times, and with
``do_resize=False`` so the processor keeps the sizes chosen here.

Limits come, per block, from the block itself (``max_pixels``, ``min_pixels``, ``fps``, ``max_frames``,
``min_frames`` — the keys qwen-vl-utils reads), else from the caller's :class:`MediaLimits`, else from
the official inference settings for the model's token size (32 px for Qwen3-VL, 28 for Qwen2/2.5-VL).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from typing import Any, Sequence

from onethinker.media.probe import MediaError
from train.data.common import DataError

Message = dict[str, Any]
Conversation = list[Message]


@dataclass(frozen=True)
class MediaLimits:
    """Defaults for blocks that carry no limits of their own; None = the official inference setting."""

    image_min_pixels: int | None = None
    image_max_pixels: int | None = None
    video_min_pixels: int | None = None
    video_max_pixels: int | None = None  # per frame
    video_fps: float | None = None
    video_max_frames: int | None = None


OFFICIAL = MediaLimits()


def token_factor(processor) -> int:
    """Pixels per LLM token side: vision patch × spatial merge (32 for Qwen3-VL, 28 for Qwen2/2.5-VL)."""
    ip = getattr(processor, "image_processor", None)
    return int(getattr(ip, "patch_size", None) or 16) * int(getattr(ip, "merge_size", None) or 2)


def video_sampling(block: dict, limits: MediaLimits, factor: int):
    """The :class:`~onethinker.media.sampling.VideoSampling` for one video block."""
    from onethinker.media.sampling import VideoSampling

    vs = VideoSampling.official(factor)
    max_px = block.get("max_pixels") or limits.video_max_pixels or vs.max_pixels
    # a cap below the official floor (128 tokens) drops the floor to 4 tokens, as the official RL run's video
    # loader has it; a floor equal to the cap would upscale small clips past the cap (sizes round up there)
    floor = vs.min_pixels if max_px >= vs.min_pixels else 4 * factor * factor
    min_px = block.get("min_pixels") or limits.video_min_pixels or floor
    return replace(vs, max_pixels=int(max_px), min_pixels=int(min_px),
                   fps=float(block.get("fps") or limits.video_fps or vs.fps),
                   max_frames=int(block.get("max_frames") or limits.video_max_frames or vs.max_frames),
                   min_frames=int(block.get("min_frames") or vs.min_frames))


@dataclass
class LoadedMedia:
    """Conversations whose media blocks hold decoded pixels, plus the video metadata in processor order."""

    conversations: list[Conversation]
    video_metadata: list  # transformers VideoMetadata, one per video, in order of appearance
    videos: list  # onethinker.media.sampling.SampledVideo, same order
    images: list  # onethinker.media.images.PreparedImage, in order of appearance

    @property
    def has_video(self) -> bool:
        return bool(self.videos)


def load_media(conversations: Sequence[Conversation], *, factor: int = 32, limits: MediaLimits = OFFICIAL,
               cache: dict | None = None) -> LoadedMedia:
    """Load every image / video block with the engine's preprocessing (each distinct one once per call,
    or once per ``cache`` dict the caller keeps).  Raises :class:`DataError` naming the file."""
    from onethinker.media.images import load_image
    from onethinker.media.sampling import IMAGE_MAX_PIXELS, IMAGE_MIN_PIXELS, load_video

    cache = {} if cache is None else cache
    out = LoadedMedia([], [], [], [])
    scale = (factor / 32) ** 2  # the official pixel counts are stated for 32-px tokens
    for conv in conversations:
        new_conv: Conversation = []
        for msg in conv:
            content = msg.get("content")
            if not isinstance(content, list):
                new_conv.append(msg)
                continue
            blocks = []
            for block in content:
                kind = block.get("type")
                if kind in ("image", "video") and block.get(kind) is None:
                    raise DataError(f"a {kind} block has no {kind} (expected {{'type': '{kind}', '{kind}': <path>}}); "
                                    "load rows with train.data, which fills media blocks from the row's files")
                if kind == "image":
                    src = block["image"]
                    lo = block.get("min_pixels") or limits.image_min_pixels or int(IMAGE_MIN_PIXELS * scale)
                    hi = block.get("max_pixels") or limits.image_max_pixels or int(IMAGE_MAX_PIXELS * scale)
                    key = ("image", src if isinstance(src, str) else id(src), lo, hi, factor)
                    if key not in cache:
                        cache[key] = _load(load_image, src, lo, hi, factor=factor)
                    out.images.append(cache[key])
                    blocks.append({"type": "image", "image": cache[key].image})
                elif kind == "video":
                    vs = video_sampling(block, limits, factor)
                    key = ("video", os.fspath(block["video"]), vs)
                    if key not in cache:
                        cache[key] = _load(load_video, block["video"], vs)
                    video = cache[key]
                    out.videos.append(video)
                    out.video_metadata.append(video.metadata())
                    blocks.append({"type": "video", "video": video.frames})
                else:
                    blocks.append(block)
            new_conv.append({**msg, "content": blocks})
        out.conversations.append(new_conv)
    return out


def _load(fn, src, *args, **kwargs):
    try:
        return fn(src, *args, **kwargs)
    except MediaError as e:
        raise DataError(str(e)) from None


def encode(processor, messages: "Conversation | Sequence[Conversation]", *, add_generation_prompt: bool,
           limits: MediaLimits = OFFICIAL, assistant_mask: bool = False, chat_template: str | None = None,
           padding_side: str = "right", cache: dict | None = None):
    """Processor inputs (a ``BatchFeature`` of tensors) for one conversation or a batch of them.

    ``messages``: ``[{"role": ..., "content": str | [typed blocks]}, ...]`` or a list of such conversations.
    Image blocks hold a path or a PIL image under ``"image"``; video blocks a path under ``"video"``; both may
    carry limits (see the module docstring).  The result has ``input_ids`` and ``attention_mask`` (padded on
    ``padding_side``; use "left" for generation), and, as the batch needs, ``pixel_values`` /
    ``image_grid_thw``, ``pixel_values_videos`` / ``video_grid_thw`` and ``mm_token_type_ids``;
    ``assistant_masks`` (1 on assistant tokens, end-of-turn included) when ``assistant_mask`` — this needs
    a chat template with ``{% generation %}`` markers (pass ``chat_template``, see :func:`training_template`).
    """
    batched = bool(messages) and isinstance(messages[0], (list, tuple))
    convs = [list(c) for c in messages] if batched else [list(messages)]
    loaded = load_media(convs, factor=token_factor(processor), limits=limits, cache=cache)
    options = dict(add_generation_prompt=add_generation_prompt, assistant_mask=assistant_mask,
                   chat_template=chat_template, padding_side=padding_side)
    if not assistant_mask:
        return apply_template(processor, loaded, **options)
    # transformers finds the assistant tokens by walking each row's token offsets one by one, which is slow over torch
    # tensors: a batch that needs the mask is made as numpy and turned into tensors afterwards, the same values and
    # dtypes (benchmarks/bench_collate.py: 32 drills 62 → 17 ms, an SFT micro-batch of 4 with media 64 → 44 ms)
    return apply_template(processor, loaded, return_tensors="np", **options).convert_to_tensors("pt")


def apply_template(processor, loaded: LoadedMedia, *, add_generation_prompt: bool, assistant_mask: bool = False,
                   chat_template: str | None = None, padding_side: str = "right", return_tensors: str = "pt"):
    """The processor's chat template, tokenisation and media processing over conversations whose media
    :func:`load_media` has loaded: a ``BatchFeature`` of ``return_tensors`` ("pt" or "np")."""
    kwargs: dict[str, Any] = {"padding": True, "padding_side": padding_side, "add_special_tokens": False,
                              "do_resize": False}
    if loaded.has_video:
        kwargs.update(video_metadata=loaded.video_metadata, do_sample_frames=False)
        if hasattr(processor, "_calculate_timestamps"):  # Qwen3-VL: frames are already sized, as in the engine
            kwargs["cap_pixels_per_frame"] = False
    try:
        return processor.apply_chat_template(
            loaded.conversations, chat_template=chat_template, add_generation_prompt=add_generation_prompt,
            tokenize=True, return_dict=True, return_tensors=return_tensors,
            return_assistant_tokens_mask=assistant_mask, processor_kwargs=kwargs)
    except (ValueError, TypeError, KeyError, IndexError) as e:
        raise DataError(f"the processor rejected the conversation ({type(e).__name__}: {str(e)[:300]})") from None


def training_template(processor) -> str | None:
    """The chat template to render training conversations with, for assistant-only loss: the processor's own if
    it already marks assistant turns with ``{% generation %}``, else TRL's training variant of it (None when the
    processor's template already qualifies).  Raises :class:`DataError` for a template TRL does not know."""
    from trl.chat_template_utils import get_training_chat_template, has_generation_markers

    if has_generation_markers(getattr(processor, "chat_template", None) or ""):
        return None
    try:
        return get_training_chat_template(processor)
    except ValueError as e:
        raise DataError(f"assistant-only loss needs a chat template with generation markers: {e}") from None
