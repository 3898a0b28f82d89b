"""SAM2 through transformers: ``Sam2Model`` for images, ``Sam2VideoModel`` for video.

Video: the key frame is prompted with the box and the points, then masks are propagated forward to
the last rendered frame and backward to the first.  Frames reach the model one at a time from the
frame source (decoded and preprocessed on demand), and conditioning outputs that the model's memory
can no longer reach are dropped as it goes, so memory does not grow with the video's length the way
a whole-video session does.  Models load on first use; everything is released after each video.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any, Callable

import numpy as np

from onethinker.segment.base import (
    FramesLike,
    ImageMask,
    PixelPrompt,
    Progress,
    PxBox,
    VideoMasks,
    as_points,
    free_memory,
    pick_device,
    report,
)

DEFAULT_SAM2_CHECKPOINT = "facebook/sam2.1-hiera-large"


class _LazyFrames(Mapping):
    """``session.processed_frames`` that preprocesses frame ``i`` when the model asks for it.

    Walking backwards, a compressed video would be decoded from the previous key frame for every
    single frame; so on a miss just below the last request, the ``chunk`` frames ending at ``i`` are
    decoded in forward order at once and kept (raw, at the rendered size) until used.
    """

    def __init__(self, frames: FramesLike, video_processor: Any, device: str, dtype: Any, cache: int = 2,
                 chunk: int = 8) -> None:
        self.frames, self.vp, self.device, self.dtype = frames, video_processor, device, dtype
        self._cache: OrderedDict[int, Any] = OrderedDict()
        self._size = cache
        self._chunk = max(1, chunk)
        self._raw: dict[int, np.ndarray] = {}
        self._last: int | None = None
        self.requested: list[int] = []

    def _image(self, i: int) -> np.ndarray:
        if i in self._raw:
            return self._raw.pop(i)
        backwards = self._last is not None and i == self._last - 1
        if backwards and self._chunk > 1:
            self._raw = {k: self.frames.get(k).image for k in range(max(0, i - self._chunk + 1), i)}
        return self.frames.get(i).image

    def __getitem__(self, i: int):
        if not 0 <= i < len(self.frames):
            raise KeyError(i)
        if i in self._cache:
            self._cache.move_to_end(i)
            return self._cache[i]
        self.requested.append(i)
        img = self._image(i)
        self._last = i
        pv = self.vp(videos=img[None], return_tensors="pt").pixel_values_videos[0][0]
        pv = pv.to(self.device, dtype=self.dtype)
        self._cache[i] = pv
        while len(self._cache) > self._size:
            self._cache.popitem(last=False)
        return pv

    def __len__(self) -> int:
        return len(self.frames)

    def __iter__(self):
        return iter(range(len(self.frames)))


class Sam2Segmenter:
    """SAM2 / SAM2.1 backend.

    ``checkpoint`` is a hub id or a local folder (default ``facebook/sam2.1-hiera-large``).  Tests and
    callers with models in hand pass ``image_model``/``image_processor`` and
    ``video_model``/``video_processor`` directly.  ``device`` defaults to CUDA when present, else CPU.
    """

    name = "sam2"

    def __init__(self, checkpoint: str = DEFAULT_SAM2_CHECKPOINT, device: str | None = None, dtype: Any = None, *,
                 image_model: Any = None, image_processor: Any = None, video_model: Any = None,
                 video_processor: Any = None, mask_threshold: float = 0.0, prune_memory: bool = True) -> None:
        self.checkpoint = checkpoint
        self.device = pick_device(device)
        self._dtype = dtype
        self.image_model, self.image_processor = image_model, image_processor
        self.video_model, self.video_processor = video_model, video_processor
        self.mask_threshold = mask_threshold
        self.prune_memory = prune_memory
        self._lock = threading.Lock()

    @property
    def dtype(self):
        import torch

        if self._dtype is not None:
            return self._dtype
        return torch.bfloat16 if self.device.startswith("cuda") and torch.cuda.is_bf16_supported() else torch.float32

    # -- loading -----------------------------------------------------------------------------
    def _load_image(self) -> None:
        if self.image_model is None:
            from transformers import Sam2Model

            self.image_model = Sam2Model.from_pretrained(self.checkpoint, dtype=self.dtype)
        if self.image_processor is None:
            from transformers import Sam2Processor

            self.image_processor = Sam2Processor.from_pretrained(self.checkpoint)
        self.image_model.to(self.device).eval()

    def _load_video(self) -> None:
        if self.video_model is None:
            from transformers import Sam2VideoModel

            self.video_model = Sam2VideoModel.from_pretrained(self.checkpoint, dtype=self.dtype)
        if self.video_processor is None:
            from transformers import Sam2VideoProcessor

            self.video_processor = Sam2VideoProcessor.from_pretrained(self.checkpoint)
        self.video_model.to(self.device).eval()

    def load(self, video: bool = False) -> None:
        """Load the image model (or the video model) now, rather than on first use; raises what loading
        raises (a checkpoint that cannot be found or fetched, too little memory), so a caller can tell
        a load failure from a failed segmentation."""
        with self._lock:
            self._load_video() if video else self._load_image()

    def release(self) -> None:
        """Drop the loaded models (they load again on next use)."""
        self.image_model = self.video_model = None
        free_memory()

    # -- image -------------------------------------------------------------------------------
    def segment_image(self, image: np.ndarray, prompt: PixelPrompt) -> ImageMask:
        import torch

        h, w = image.shape[:2]
        if prompt.empty:
            return ImageMask(np.zeros((h, w), bool), None, ["no usable box or point: nothing to segment"])
        with self._lock:
            self._load_image()
            kw = _prompt_kwargs(prompt)
            inputs = self.image_processor(images=image, return_tensors="pt", **kw)
            original_sizes = inputs.pop("original_sizes")
            inputs = {k: (v.to(self.device, dtype=self.image_model.dtype) if v.is_floating_point() else
                          v.to(self.device)) for k, v in inputs.items()}
            with torch.inference_mode():
                out = self.image_model(**inputs, multimask_output=False)
            masks = self.image_processor.post_process_masks(out.pred_masks.float().cpu(), original_sizes,
                                                            mask_threshold=self.mask_threshold)
            mask = masks[0][0, 0].numpy().astype(bool)
            score = float(out.iou_scores[0, 0, 0].float().cpu())
        return ImageMask(mask, score)

    # -- video -------------------------------------------------------------------------------
    def segment_video(self, frames: FramesLike, key_index: int, prompt: PixelPrompt,
                      boxes: Callable[[int], PxBox | None] | None = None,
                      progress: Progress | None = None) -> VideoMasks:
        import torch

        result = VideoMasks.for_frames(frames, key_index)
        n, key, w, h = result.num_frames, result.key_index, result.width, result.height
        if prompt.empty:
            result.notes.append("no usable box or point on the key frame: nothing to segment")
            return result
        with self._lock:
            self._load_video()
            model, proc = self.video_model, self.video_processor
            session = proc.init_video_session(inference_device=self.device, video_storage_device=self.device,
                                              dtype=self.dtype)
            session.video_height, session.video_width = h, w
            session.processed_frames = _LazyFrames(frames, proc.video_processor, self.device, self.dtype)
            kw = _prompt_kwargs(prompt)
            try:
                proc.add_inputs_to_inference_session(session, frame_idx=key, obj_ids=1, **kw)
                result.prompted.append(key)
                keep = max(int(getattr(model.config, "num_maskmem", 7)),
                           int(getattr(model.config, "max_object_pointers_in_encoder", 16))) + 1
                done = 0
                report(progress, 0, n)
                with torch.inference_mode():
                    for out in model.propagate_in_video_iterator(session, start_frame_idx=key):
                        result.set(out.frame_idx, self._mask(out, h, w))
                        done += 1
                        report(progress, done, n)
                        if self.prune_memory:
                            _prune(session, out.frame_idx, key, keep)
                    if key > 0:
                        for out in model.propagate_in_video_iterator(session, start_frame_idx=key, reverse=True):
                            if out.frame_idx == key:
                                continue
                            result.set(out.frame_idx, self._mask(out, h, w))
                            done += 1
                            report(progress, done, n)
                            if self.prune_memory:
                                _prune(session, out.frame_idx, key, keep)
            finally:
                session.processed_frames = None
                del session
                free_memory()
        return result

    def _mask(self, out: Any, h: int, w: int) -> np.ndarray:
        masks = self.video_processor.post_process_masks([out.pred_masks.float().cpu()], original_sizes=[[h, w]],
                                                        mask_threshold=self.mask_threshold, binarize=True)
        return masks[0][0, 0].numpy().astype(bool)


def _prompt_kwargs(prompt: PixelPrompt) -> dict[str, Any]:
    kw: dict[str, Any] = {}
    pts, labels = prompt.points_and_labels()
    if pts:
        kw["input_points"] = [[as_points(pts)]]
        kw["input_labels"] = [[labels]]
    if prompt.box is not None:
        kw["input_boxes"] = [[[float(v) for v in prompt.box]]]
    return kw


def _prune(session: Any, current: int, key: int, keep: int) -> None:
    """Drop per-frame outputs the memory can no longer reach (and high-res masks, used only once)."""
    for per_obj in session.output_dict_per_obj.values():
        for kind in ("cond_frame_outputs", "non_cond_frame_outputs"):
            for idx, out in list(per_obj[kind].items()):
                if isinstance(out, dict):
                    out.pop("high_res_masks", None)
                if kind == "non_cond_frame_outputs" and abs(idx - current) > keep and abs(idx - key) > keep:
                    del per_obj[kind][idx]
