"""segment-anything (SAM v1) backend on a tiny random model."""

import numpy as np
import pytest

from onethinker.media.frames import FrameSource
from onethinker.segment import get_segmenter
from onethinker.segment.base import PixelPrompt
from onethinker.segment.sam1 import SamV1Segmenter, guess_model_type
from tests.segment.tiny import clip


def test_needs_a_checkpoint_path_and_guesses_its_type(tmp_path):
    seg = get_segmenter("segment-anything", checkpoint=tmp_path / "missing_vit_b.pth", device="cpu")
    assert isinstance(seg, SamV1Segmenter)
    with pytest.raises(ValueError, match="not found"):
        seg.segment_image(clip(1)[0], PixelPrompt((1.0, 1.0, 9.0, 9.0)))
    with pytest.raises(ValueError, match="checkpoint"):
        SamV1Segmenter(device="cpu").segment_image(clip(1)[0], PixelPrompt((1.0, 1.0, 9.0, 9.0)))
    assert guess_model_type("sam_vit_b_01ec64.pth") == "vit_b" and guess_model_type("x.pth") == "vit_h"
    with pytest.raises(ValueError, match="not found"):  # load() fails the same way, before any segmentation
        seg.load()


def test_load_now_then_segment(sam1_model):
    seg = SamV1Segmenter(model=sam1_model, device="cpu")
    seg.load(video=True)
    assert seg._predictor is not None
    assert seg.segment_image(clip(1)[0], PixelPrompt((8.0, 6.0, 40.0, 30.0))).mask.shape == clip(1)[0].shape[:2]


class Recorder:
    def __init__(self, monkeypatch):
        from segment_anything import SamPredictor

        self.set, self.pred = [], []
        set_image, predict = SamPredictor.set_image, SamPredictor.predict

        def s(this, image, image_format="RGB"):
            self.set.append(int(image[1, 1, 0]))
            return set_image(this, image, image_format)

        def p(this, **kw):
            self.pred.append(kw)
            return predict(this, **kw)

        monkeypatch.setattr(SamPredictor, "set_image", s)
        monkeypatch.setattr(SamPredictor, "predict", p)


def test_image_mask_and_pixel_prompt(sam1_model, monkeypatch):
    rec = Recorder(monkeypatch)
    seg = SamV1Segmenter(model=sam1_model, device="cpu")
    out = seg.segment_image(clip(1)[0], PixelPrompt((8.0, 6.0, 40.0, 30.0), ((20.0, 18.0),), ((60.0, 44.0),)))
    assert out.mask.shape == (48, 64) and out.mask.dtype == bool
    (kw,) = rec.pred
    assert kw["box"].tolist() == [8.0, 6.0, 40.0, 30.0]
    assert kw["point_coords"].tolist() == [[20.0, 18.0], [60.0, 44.0]] and kw["point_labels"].tolist() == [1, 0]


def marked(n=6, w=64, h=48):
    f = np.full((n, h, w, 3), 90, np.uint8)
    for i in range(n):
        f[i, :4, :4, 0] = 10 * i + 5
    return f


def test_video_without_track_segments_key_frame_only_and_says_so(sam1_model, monkeypatch):
    rec = Recorder(monkeypatch)
    seg = SamV1Segmenter(model=sam1_model, device="cpu")
    out = seg.segment_video(FrameSource.from_array(marked(), fps=2), 3, PixelPrompt((8.0, 6.0, 40.0, 30.0)))
    assert out.frames == [3] and out.prompted == [3] and rec.set == [35]
    assert any("only the key frame" in n for n in out.notes)


def test_video_with_track_prompts_every_frame_with_interpolated_box(sam1_model, monkeypatch, tmp_path):
    from onethinker.payloads import SegmentationPrompt, Track
    from onethinker.render import render

    rec = Recorder(monkeypatch)
    seg = SamV1Segmenter(model=sam1_model, device="cpu")
    src = FrameSource.from_array(marked(), fps=2)  # frames at 0, 0.5, … 2.5 s
    track = Track({2: (100, 100, 300, 300), 3: (300, 300, 500, 500)})  # tracking key k is t = k − 1 s
    p = SegmentationPrompt((100, 100, 300, 300), ((200, 200),), ((900, 900),), time=1.0)
    progress = []
    r = render(p, src, segmenter=seg, track=track, out_file=str(tmp_path / "o.mp4"),
               progress=lambda d, n: progress.append((d, n)))
    vm = r.segmentation
    assert vm.prompted == [2, 3, 4] and vm.frames == [2, 3, 4]
    assert rec.set == [25, 35, 45]  # the right decoded frames
    boxes = [kw["box"].tolist() for kw in rec.pred]
    assert boxes[1] == pytest.approx([12.8, 9.6, 25.6, 19.2])  # 1.5 s: halfway between keys 2 (1 s) and 3 (2 s)
    assert boxes[2] == pytest.approx([19.2, 14.4, 32.0, 24.0])
    assert rec.pred[0]["point_coords"].ravel().tolist() == pytest.approx([12.8, 9.6, 57.6, 43.2])  # key frame points
    assert rec.pred[1]["point_coords"] is None
    assert any("masks cover 3 of 6" in w for w in r.warnings)
    assert (3, 3) in progress and progress[-1] == (6, 6)
