"""The one render entry point, dispatching on the answer's payload type.

    result = render(answer_or_payload, media, truth=None, options=RenderOptions(), segmenter=None)

``media`` is an image (path, H×W×3 RGB array or PIL image) or a video (path or
:class:`~onethinker.media.frames.FrameSource`).  ``truth`` is a payload, an ``Answer`` or answer
text (parsed with the prediction's task) of a kind the renderer can draw beside the prediction.
Renderers are registered per payload class with :func:`renderer_for`; a new task whose answer is an
existing payload kind needs no change here.

Rendering never raises on a bad answer: every clamp or skip is written on the picture and returned in
``RenderResult.warnings``.  Unreadable media raise :class:`~onethinker.media.probe.MediaError`.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from onethinker.answer.answer import Answer
from onethinker.payloads import Payload
from onethinker.coords import CoordAdapter, CoordSystem
from onethinker.media.frames import DEFAULT_MAX_FPS, DEFAULT_MAX_SIDE, FrameSource
from onethinker.media.probe import MediaError
from onethinker.render.draw import Style

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff", ".gif"}
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class RenderOptions:
    max_fps: float | None = DEFAULT_MAX_FPS  # rendered videos: at most this many frames per second
    max_side: int | None = DEFAULT_MAX_SIDE  # and at most this many pixels on the long side
    out_dir: str | None = None  # where videos go (default: a temp folder)
    crf: int = 23
    preset: str = "veryfast"
    context_s: float = 1.0  # temporal grounding clip: seconds shown before and after the span
    coord_system: CoordSystem = CoordSystem.GRID_1000
    model_size: tuple[int, int] | None = None  # CoordSystem.PIXELS: size of the image the model saw
    style: Style = field(default_factory=Style)
    figure_size: tuple[float, float] = (8.0, 1.8)
    thumb_height: int = 120
    max_notes: int = 4  # warnings drawn on the picture (all are returned)


@dataclass(frozen=True)
class FrameRecord:
    """What was drawn on one rendered frame (pixel boxes at the rendered size)."""

    index: int
    time: float
    pred: tuple[float, float, float, float] | None = None
    truth: tuple[float, float, float, float] | None = None
    mask: bool = False
    key: bool = False


@dataclass(frozen=True)
class Thumbnail:
    label: str
    time: float
    image: np.ndarray


@dataclass
class RenderResult:
    """What a render produced.  ``kind``: image | video | timeline | none."""

    kind: str
    image: np.ndarray | None = None  # RGB; the timeline figure as pixels for kind "timeline"
    video_path: str | None = None
    figure: Any = None  # matplotlib Figure (timeline)
    clip_path: str | None = None  # temporal grounding: the span with context
    thumbnails: tuple[Thumbnail, ...] = ()
    strip: np.ndarray | None = None  # thumbnails side by side
    warnings: tuple[str, ...] = ()
    metrics: dict[str, float] = field(default_factory=dict)
    frames: tuple[FrameRecord, ...] = ()
    fps: float | None = None
    size: tuple[int, int] | None = None  # (width, height) of the picture inside the output, without footer
    segmentation: Any = None  # ImageMask / VideoMasks when masks were drawn


# ---------------------------------------------------------------------------------------------
# Media


@dataclass
class Media:
    image: np.ndarray | None = None
    video: FrameSource | None = None
    name: str = "media"

    @property
    def is_video(self) -> bool:
        return self.video is not None


def load_media(media: Any, options: RenderOptions) -> Media:
    if isinstance(media, Media):
        return media
    if isinstance(media, FrameSource):
        return Media(video=media)
    if isinstance(media, np.ndarray):
        if media.ndim == 2:
            media = np.stack([media] * 3, axis=-1)
        if media.ndim != 3 or media.shape[2] not in (3, 4):
            raise MediaError(f"an image array must be H×W×3, got shape {media.shape}")
        return Media(image=np.ascontiguousarray(media[..., :3]).astype(np.uint8, copy=False))
    if hasattr(media, "convert") and hasattr(media, "size"):  # PIL image
        return Media(image=_pil_rgb(media))
    if isinstance(media, (str, os.PathLike)):
        p = Path(media)
        if p.suffix.lower() in IMAGE_SUFFIXES:
            from onethinker.media.images import open_image  # refuses missing, empty, broken and bomb-sized files

            with open_image(p) as im:
                return Media(image=_pil_rgb(im), name=p.name)
        return Media(video=FrameSource.open(p, options.max_fps, options.max_side), name=p.name)
    raise MediaError(f"cannot render on media of type {type(media).__name__}")


def _pil_rgb(im) -> np.ndarray:
    """RGB pixels; transparency is flattened onto white, as the model's image loader does."""
    from PIL import Image

    if im.mode in ("RGBA", "LA") or (im.mode == "P" and "transparency" in im.info):
        rgba = im.convert("RGBA")
        bg = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return np.asarray(Image.alpha_composite(bg, rgba).convert("RGB"))
    return np.asarray(im.convert("RGB"))


def adapter_for(width: int, height: int, src_size: tuple[int, int], options: RenderOptions) -> CoordAdapter:
    """The CoordAdapter onto the rendered picture (model coordinates → rendered pixels)."""
    if options.coord_system is CoordSystem.PIXELS:
        mw, mh = options.model_size or src_size
        return CoordAdapter(width, height, CoordSystem.PIXELS, model_width=mw, model_height=mh)
    return CoordAdapter(width, height, options.coord_system)


def out_path(options: RenderOptions, stem: str, suffix: str = ".mp4") -> str:
    d = Path(options.out_dir or os.path.join(tempfile.gettempdir(), "onethinker-render"))
    d.mkdir(parents=True, exist_ok=True)
    return str(d / f"{stem}-{uuid.uuid4().hex[:10]}{suffix}")


# ---------------------------------------------------------------------------------------------
# Dispatch


Renderer = Callable[..., RenderResult]
_RENDERERS: dict[type, Renderer] = {}


def renderer_for(*payload_types: type) -> Callable[[Renderer], Renderer]:
    """Register a renderer ``fn(payload, media, truth, options, **kw) -> RenderResult`` for payload classes."""

    def deco(fn: Renderer) -> Renderer:
        for t in payload_types:
            _RENDERERS[t] = fn
        return fn

    return deco


def find_renderer(payload: Payload) -> Renderer | None:
    for cls in type(payload).__mro__:
        if cls in _RENDERERS:
            return _RENDERERS[cls]
    return None


def _payload_of(x: Any, what: str, notes: list[str]) -> Payload | None:
    if x is None:
        return None
    if isinstance(x, Answer):
        if x.payload is None:
            notes.append(f"{what} has no answer to draw" + (f" ({x.error})" if x.error else ""))
        return x.payload
    if isinstance(x, Payload):
        return x
    notes.append(f"{what} of type {type(x).__name__} is not a parsed answer; ignored")
    return None


def _task_of(answer: Any, payload: Payload, media: Media) -> tuple[Any, str]:
    """The prediction's task and data type, to read ground truth given as text the same way.

    An ``Answer`` names its task; a bare payload is matched to the catalogue entry with its payload
    type, choosing between an image and a video variant (segmentation) by the media.
    """
    from onethinker.tasks import IMAGE, TASKS, VIDEO

    kind = VIDEO if media.is_video else IMAGE
    if isinstance(answer, Answer):
        return answer.task, answer.data_type or kind
    same = [t for t in TASKS.values() if t.payload is type(payload)]
    return next((t for t in same if kind in t.media), same[0] if same else None), kind


def _parse_truth(text: str, answer: Any, payload: Payload, media: Media, options: RenderOptions,
                 notes: list[str]) -> Answer | None:
    """Ground truth written as answer text (``'{"boxes": [...]}'`` or ``<answer>…</answer>``, the form
    ``score`` takes), parsed with the prediction's task; None with a note when it cannot be read."""
    from onethinker.answer import parse

    task, data_type = _task_of(answer, payload, media)
    if task is None:
        notes.append(f"ground truth given as text, but no task reads {type(payload).__name__} answers; ignored")
        return None
    # absolute-pixel models: clamp to the size the model saw (or not at all); the grid is parse's default
    pixels = {} if options.coord_system is CoordSystem.GRID_1000 else {"extent": options.model_size}
    gt = parse(text, task, data_type=data_type, **pixels)
    if gt.payload is None:
        name = getattr(task, "id", task)
        notes.append(f"the ground truth text is not a {name} answer ({gt.error or 'nothing to read'}); ignored")
        return None
    return gt


def _repairs(answer: Answer) -> list[str]:
    """The repairs ``parse`` made to the answer itself, without those about the response's tags
    (ground truth is usually written without ``<think>``/``<answer>``, which is no fault)."""
    from onethinker.answer import split_response

    tags = set(split_response(answer.raw).warnings) if answer.raw else set()
    return [w for w in answer.warnings if w not in tags]


def render(answer: Answer | Payload | None, media: Any, truth: Answer | Payload | str | None = None, *,
           options: RenderOptions | None = None, segmenter: Any = None, masks: Any = None, truth_masks: Any = None,
           track: Any = None, progress: Progress | None = None, out_file: str | None = None) -> RenderResult:
    """Draw an answer (typed payload) on its media; see the module docstring.

    ``truth``: a payload, an ``Answer``, or answer text as ``score`` takes it (``'{"boxes": [...]}'``,
    ``<answer>…</answer>``), which is parsed with the prediction's task; text that does not parse is
    ignored with a note.  The repairs ``parse`` made to an ``Answer`` (clamped coordinates, swapped
    corners …) are part of the warnings, prefixed "prediction:" or "ground truth:".
    ``segmenter``: a backend from :mod:`onethinker.segment` for segmentation answers; ``masks``:
    precomputed masks instead (an array for an image; for a video a ``VideoMasks``, a mapping or a
    callable from rendered frame index to mask).  ``truth_masks``: annotated ground-truth masks of a
    segmentation answer (an evaluation row's RLE, decoded), in the same forms, drawn in the truth
    colour.  ``track``: a Track/SpatioTemporal payload (or its
    ``Answer``) whose boxes prompt every frame for backends that cannot propagate.  ``progress(done, total)`` counts frames.
    """
    opts = options or RenderOptions()
    pre: list[str] = []
    payload = _payload_of(answer, "the prediction", pre)
    if isinstance(answer, Answer):
        pre.extend(f"prediction: {w}" for w in answer.warnings)
    m = load_media(media, opts)
    if payload is None:
        from onethinker.render.image import plain

        return plain(m, opts, pre or ["nothing to draw"])
    fn = find_renderer(payload)
    if fn is None:
        from onethinker.render.image import plain

        return plain(m, opts, pre + [f"{type(payload).__name__} answers have nothing to draw on the media"],
                     kind="none")
    if isinstance(truth, str):
        truth = _parse_truth(truth, answer, payload, m, opts, pre)
    gt = _payload_of(truth, "the ground truth", pre)
    if gt is not None and find_renderer(gt) is not fn:
        pre.append(f"ground truth of kind {type(gt).__name__} cannot be drawn with a {type(payload).__name__}; ignored")
        gt = None
    if gt is not None and isinstance(truth, Answer):
        pre.extend(f"ground truth: {w}" for w in _repairs(truth))
    if isinstance(track, Answer):
        track = _payload_of(track, "the track", pre)
    res = fn(payload, m, gt, opts, segmenter=segmenter, masks=masks, truth_masks=truth_masks, track=track,
             progress=progress, out_file=out_file, notes=pre)
    return res
