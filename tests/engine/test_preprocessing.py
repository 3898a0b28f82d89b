"""Vision preprocessing parity with the official OneThinker inference (qwen_vl_utils.process_vision_info)."""

from __future__ import annotations

import pytest
import torch

from onethinker.engine import Request, prepare
from onethinker.media.images import load_image
from onethinker.media.sampling import OFFICIAL_VIDEO, VideoSampling, load_video, smart_resize
from tests.engine.conftest import CLIP_SPECS

OFFICIAL_VIDEO_ITEM = {"fps": 2, "max_frames": 128, "max_pixels": 256 * 32 * 32}


def _reference_video(path, **item):
    from qwen_vl_utils import process_vision_info

    msgs = [{"role": "user", "content": [{"type": "video", "video": path, **(item or OFFICIAL_VIDEO_ITEM)},
                                         {"type": "text", "text": "q"}]}]
    _, videos, kwargs = process_vision_info(msgs, image_patch_size=16, return_video_kwargs=True,
                                            return_video_metadata=True)
    assert kwargs == {"do_sample_frames": False}
    return videos[0]


@pytest.mark.parametrize("name", sorted(CLIP_SPECS))
def test_video_sampling_matches_reference(clips, name):
    ours = load_video(clips[name])
    ref, meta = _reference_video(clips[name])
    assert ours.frame_indices == list(meta["frames_indices"])
    assert ours.total_frames == meta["total_num_frames"]
    assert ours.fps == pytest.approx(meta["fps"])
    assert tuple(ours.frames.shape) == tuple(ref.shape)
    assert (ours.resized_height, ours.resized_width) == tuple(ref.shape[-2:])
    assert ours.frames.dtype == torch.uint8
    assert torch.equal(ours.frames.float(), ref)  # same pixels, not just the same sizes
    w, h, fps, secs = CLIP_SPECS[name]
    assert (ours.width, ours.height) == (w, h)
    assert ours.timestamps == [i / ours.fps for i in ours.frame_indices]


def test_sampling_other_settings_match_reference(clips):
    vs = VideoSampling(fps=4.0, max_frames=8, max_pixels=64 * 32 * 32, min_pixels=16 * 32 * 32)
    ours = load_video(clips["wide_25fps"], vs)
    ref, meta = _reference_video(clips["wide_25fps"], fps=4.0, max_frames=8, max_pixels=64 * 32 * 32,
                                 min_pixels=16 * 32 * 32)
    assert ours.frame_indices == list(meta["frames_indices"]) and len(ours.frame_indices) == 8
    assert torch.equal(ours.frames.float(), ref)


@pytest.mark.parametrize("total,fps", [(3600, 30.0), (7, 30.0), (2, 1.0), (129, 2.0), (300, 29.97), (61, 24.0)])
def test_frame_arithmetic_matches_reference(total, fps):
    from qwen_vl_utils.vision_process import smart_nframes

    n = smart_nframes(dict(OFFICIAL_VIDEO_ITEM), total_frames=total, video_fps=fps)
    assert OFFICIAL_VIDEO.num_frames(total, fps) == n
    assert OFFICIAL_VIDEO.frame_indices(total, fps) == torch.linspace(0, total - 1, n).round().long().tolist()
    assert n <= 128 and n % 2 == 0


@pytest.mark.parametrize("h,w", [(720, 1280), (1080, 1920), (50, 7000), (33, 33), (4000, 3000), (17, 900)])
def test_smart_resize_matches_reference(h, w):
    from qwen_vl_utils.vision_process import smart_resize as ref

    assert smart_resize(h, w, 32, 4 * 32 * 32, 1024 * 32 * 32) == ref(h, w, 32, 4 * 32 * 32, 1024 * 32 * 32)
    assert smart_resize(h, w, 32, 128 * 1024, 256 * 1024) == ref(h, w, 32, 128 * 1024, 256 * 1024)


@pytest.mark.parametrize("size,mode", [((130, 90), "RGB"), ((2000, 1500), "RGB"), ((40, 30), "RGBA"), ((300, 200), "L")])
def test_image_matches_reference(tmp_path, size, mode):
    import numpy as np
    from PIL import Image
    from qwen_vl_utils.vision_process import fetch_image

    rng = np.random.default_rng(1)
    channels = {"RGB": 3, "RGBA": 4, "L": 1}[mode]
    arr = rng.integers(0, 255, (size[1], size[0], channels), dtype=np.uint8)
    p = tmp_path / "im.png"
    Image.fromarray(arr.squeeze(-1) if channels == 1 else arr, mode).save(p)
    ours = load_image(p)
    ref = fetch_image({"image": str(p), "max_pixels": 1024 * 32 * 32}, image_patch_size=16)
    assert ours.image.size == ref.size == (ours.resized_width, ours.resized_height)
    assert (ours.width, ours.height) == size
    assert np.array_equal(np.asarray(ours.image), np.asarray(ref))


def test_processor_inputs_equal_official_recipe(tiny_model_dir, clips, image_path):
    """Video + image request: token ids (with <t seconds>) and pixels equal the official Qwen3-VL recipe."""
    from qwen_vl_utils import process_vision_info
    from transformers import AutoProcessor

    from onethinker.engine import TransformersBackend

    processor = AutoProcessor.from_pretrained(tiny_model_dir)
    prep = prepare(Request("Where is the bar?", "open-ended", video=clips["short_30fps"], image=image_path))
    inputs, text = TransformersBackend(tiny_model_dir).encode(prep, processor)

    ref_text = processor.apply_chat_template(prep.messages, tokenize=False, add_generation_prompt=True)
    images, videos, kwargs = process_vision_info(prep.messages, image_patch_size=16, return_video_kwargs=True,
                                                 return_video_metadata=True)
    videos, metas = zip(*videos)
    ref = processor(text=[ref_text], images=images, videos=list(videos), video_metadata=list(metas),
                    do_resize=False, return_tensors="pt", **kwargs)
    assert text == ref_text
    for key in ("input_ids", "pixel_values", "image_grid_thw", "pixel_values_videos", "video_grid_thw"):
        assert torch.equal(inputs[key], ref[key]), key
    # the timestamps the model reads are the true times of the sampled frames
    decoded = processor.tokenizer.decode(inputs["input_ids"][0])
    video = prep.videos[0]
    for t in video.patch_timestamps():
        assert f"<{t:.1f} seconds>" in decoded
    assert decoded.count(" seconds>") == len(video.patch_timestamps()) == video.num_frames // 2


def test_decord_stride_bug_falls_back_to_ffmpeg(tmp_path):
    """decord 0.6 fails on some widths (48 px here); the reference then crashes, we decode with ffmpeg."""
    from qwen_vl_utils.vision_process import smart_nframes, smart_resize as ref_resize

    from tests.engine.clips import make_clip

    p = make_clip(tmp_path / "w48.mp4", 48, 96, 15.0, 1.0)
    v = load_video(p)
    n = smart_nframes(dict(OFFICIAL_VIDEO_ITEM), total_frames=15, video_fps=15.0)
    assert v.frame_indices == torch.linspace(0, 14, n).round().long().tolist()
    assert (v.resized_height, v.resized_width) == ref_resize(96, 48, 32, 128 * 1024, 256 * 1024)
    assert tuple(v.frames.shape) == (n, 3, v.resized_height, v.resized_width)
    # the frames really are the sampled ones: the blue channel encodes the frame number (i * 7)
    blue = v.frames[:, 2, v.resized_height // 2, v.resized_width // 2].tolist()  # off the moving bar
    assert all(abs(b - (i * 7) % 256) <= 12 for b, i in zip(blue, v.frame_indices))


def test_qwen25_token_size_matches_reference(clips, tmp_path):
    """Qwen2/2.5-VL models use 28-pixel tokens: the same settings scaled, same parity."""
    import numpy as np
    from PIL import Image
    from qwen_vl_utils.vision_process import fetch_image

    ours = load_video(clips["wide_25fps"], VideoSampling.official(28))
    from qwen_vl_utils import process_vision_info

    msgs = [{"role": "user", "content": [{"type": "video", "video": clips["wide_25fps"], "fps": 2, "max_frames": 128,
                                          "max_pixels": 256 * 28 * 28}]}]
    _, videos, _ = process_vision_info(msgs, image_patch_size=14, return_video_kwargs=True, return_video_metadata=True)
    ref, meta = videos[0]
    assert ours.frame_indices == list(meta["frames_indices"])
    assert torch.equal(ours.frames.float(), ref) and ours.resized_width % 28 == 0

    p = tmp_path / "a.png"
    Image.fromarray(np.random.default_rng(2).integers(0, 255, (300, 500, 3), dtype=np.uint8)).save(p)
    mine = load_image(p, 4 * 28 * 28, 1024 * 28 * 28, factor=28)
    theirs = fetch_image({"image": str(p), "max_pixels": 1024 * 28 * 28}, image_patch_size=14)
    assert mine.image.size == theirs.size and np.array_equal(np.asarray(mine.image), np.asarray(theirs))


@pytest.mark.parametrize("decoders", [1, 2, 3])
def test_parallel_chunk_decoding_matches_reference(tmp_path, decoders):
    """Short GOPs give many keyframe chunks, decoded by several threads: same frames, same order."""
    from onethinker.media.probe import open_video
    from onethinker.media.sampling import _keyframe_chunks
    from tests.engine.clips import make_clip

    path = str(make_clip(tmp_path / "short_gops.mp4", 96, 64, 30.0, 12.0, gop=15))
    ours = load_video(path, decoders=decoders, chunk=4)
    assert len(_keyframe_chunks(open_video(path), ours.frame_indices, 4)) >= 5  # really split
    ref, meta = _reference_video(path)
    assert ours.frame_indices == list(meta["frames_indices"])
    assert torch.equal(ours.frames.float(), ref)
