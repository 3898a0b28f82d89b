"""SAM2 (transformers) backend on tiny random models: shapes, coverage, order, prompt coordinates."""

import pytest

from onethinker.media.frames import FrameSource
from onethinker.segment import get_segmenter
from onethinker.segment.base import PixelPrompt
from onethinker.segment.sam2 import DEFAULT_SAM2_CHECKPOINT, Sam2Segmenter
from tests.segment.tiny import S, clip

PROMPT = PixelPrompt((8.0, 6.0, 40.0, 30.0), ((20.0, 18.0), (24.0, 20.0)), ((60.0, 44.0),))


class Spy:
    """Wraps a callable and records its calls."""

    def __init__(self, fn):
        self.fn, self.calls = fn, []

    def __call__(self, *a, **kw):
        self.calls.append((a, kw))
        return self.fn(*a, **kw)


def test_lazy_and_configurable():
    seg = get_segmenter("sam2", checkpoint="some/where", device="cpu")
    assert isinstance(seg, Sam2Segmenter) and seg.checkpoint == "some/where"
    assert seg.image_model is None and seg.video_model is None  # nothing loaded yet
    assert Sam2Segmenter().checkpoint == DEFAULT_SAM2_CHECKPOINT == "facebook/sam2.1-hiera-large"
    with pytest.raises(ValueError, match="unknown segmentation backend"):
        get_segmenter("nope")


def test_load_now_loads_only_what_is_asked_and_raises_what_loading_raises(sam2_image, tmp_path):
    model, proc = sam2_image
    seg = Sam2Segmenter(device="cpu", image_model=model, image_processor=proc)
    seg.load()  # the image model, given: nothing to fetch
    assert seg.image_model is model and seg.video_model is None
    with pytest.raises(OSError):  # neither a folder here nor a hub id: the video model cannot load
        Sam2Segmenter(str(tmp_path / "no-such-checkpoint"), device="cpu").load(video=True)


def test_image_mask_shape_and_pixel_prompt(sam2_image, monkeypatch):
    model, proc = sam2_image
    seg = Sam2Segmenter(image_model=model, image_processor=proc, device="cpu")
    spy = Spy(proc.__call__)
    monkeypatch.setattr(seg, "image_processor", spy)
    spy.post_process_masks = proc.post_process_masks
    img = clip(1)[0]
    out = seg.segment_image(img, PROMPT)
    assert out.mask.shape == (48, 64) and out.mask.dtype == bool and out.score is not None
    (_, kw), = spy.calls
    assert kw["input_boxes"] == [[[8.0, 6.0, 40.0, 30.0]]]  # pixels of this image
    assert kw["input_points"] == [[[[20.0, 18.0], [24.0, 20.0], [60.0, 44.0]]]]
    assert kw["input_labels"] == [[[1, 1, 0]]]
    # and the processor maps them onto the model's S×S input from this image's size
    enc = proc(images=img, input_boxes=kw["input_boxes"], return_tensors="pt")
    assert enc["input_boxes"][0, 0].tolist() == pytest.approx([8 * S / 64, 6 * S / 48, 40 * S / 64, 30 * S / 48])


def test_empty_prompt_skips_the_model():
    seg = Sam2Segmenter(checkpoint="/does/not/exist", device="cpu")
    out = seg.segment_image(clip(1)[0], PixelPrompt())
    assert not out.mask.any() and out.notes and seg.image_model is None


@pytest.mark.parametrize("key", [3, 0, 7])
def test_video_covers_every_frame_forward_then_backward(sam2_video, key, monkeypatch):
    model, proc = sam2_video
    seg = Sam2Segmenter(video_model=model, video_processor=proc, device="cpu")
    frames = FrameSource.from_array(clip(8), fps=4)
    added = Spy(proc.add_inputs_to_inference_session)
    monkeypatch.setattr(proc, "add_inputs_to_inference_session", added)
    got = Spy(frames.get)
    monkeypatch.setattr(frames, "get", got)
    progress = []
    out = seg.segment_video(frames, key, PROMPT, progress=lambda d, n: progress.append((d, n)))
    assert out.complete and out.frames == list(range(8))
    assert all(out.mask(i).shape == (48, 64) for i in range(8))
    assert out.order == list(range(key, 8)) + list(range(key - 1, -1, -1))
    assert progress[-1] == (8, 8) and [d for d, _ in progress] == list(range(9))
    # the prompt went to the key frame, in that frame's pixels, and the model saw that frame first
    (_, kw), = added.calls
    assert kw["frame_idx"] == key and out.prompted == [key]
    assert kw["input_boxes"] == [[[8.0, 6.0, 40.0, 30.0]]]
    assert kw["input_points"] == [[[[20.0, 18.0], [24.0, 20.0], [60.0, 44.0]]]] and kw["input_labels"] == [[[1, 1, 0]]]
    assert got.calls[0][0] == (key,)


def test_video_memory_is_pruned_and_session_released(sam2_video, monkeypatch):
    model, proc = sam2_video
    seg = Sam2Segmenter(video_model=model, video_processor=proc, device="cpu")
    sessions = []
    init = proc.init_video_session

    def spy(*a, **kw):
        s = init(*a, **kw)
        sessions.append(s)
        return s

    monkeypatch.setattr(proc, "init_video_session", spy)
    frames = FrameSource.from_array(clip(20, 32, 24), fps=4)
    out = seg.segment_video(frames, 10, PixelPrompt((4.0, 4.0, 20.0, 16.0)))
    assert out.complete
    (s,) = sessions
    keep = max(model.config.num_maskmem, model.config.max_object_pointers_in_encoder) + 1
    kept = s.output_dict_per_obj[0]["non_cond_frame_outputs"]
    assert len(kept) <= 3 * keep < 19  # old outputs were dropped as tracking went on
    assert all("high_res_masks" not in o for o in kept.values())
    assert s.processed_frames is None  # frames released with the session


def test_render_video_segmentation_with_sam2(sam2_video, tmp_path):
    from onethinker.payloads import SegmentationPrompt
    from onethinker.media.video_writer import write_video
    from onethinker.render import render

    model, proc = sam2_video
    path = write_video(tmp_path / "c.mp4", clip(10), fps=4)
    seg = Sam2Segmenter(video_model=model, video_processor=proc, device="cpu")
    p = SegmentationPrompt((125, 125, 625, 625), ((300, 300),), ((900, 900),), time=1.0)
    r = render(p, path, segmenter=seg, out_file=str(tmp_path / "o.mp4"))
    assert r.segmentation.complete and r.segmentation.key_index == 4
    assert [f.index for f in r.frames if f.key] == [4]
    assert r.segmentation.order[0] == 4 and not [w for w in r.warnings if "masks cover" in w]
