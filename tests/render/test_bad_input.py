"""Bad answers never crash a render: they are clamped or skipped, noted on the picture and returned."""

import math

import numpy as np
import pytest

from onethinker.payloads import BoxAnswer, SegmentationPrompt, SpatioTemporal, TimeSpan, Track
from onethinker.media.video_writer import probe_encoded
from onethinker.render import RenderOptions, Style, render
from tests.render.helpers import colour_mask, decode, make_video, near

NAN = math.nan
ST = Style(line_thickness=2)
OPT = RenderOptions(style=ST)
W, H = 200, 100


@pytest.fixture(scope="module")
def video(tmp_path_factory):
    return make_video(tmp_path_factory.mktemp("bad") / "v.mp4", n=16, w=128, h=64, fps=8)  # 2 s


def note_visible(img, h):
    return colour_mask(img[h:], ST.note, 90).sum() > 5


def black():
    return np.zeros((H, W, 3), np.uint8)


@pytest.mark.parametrize(
    "box, expect",
    [
        ((NAN, 100, 400, 500), "non-finite"),
        ((1200, 1200, 1500, 1500), "outside the frame; skipped"),
        ((100, 100, 100, 400), "zero area"),
        ((math.inf, 0, 10, 10), "non-finite"),
    ],
)
def test_unusable_boxes_are_skipped_with_a_visible_note(box, expect):
    r = render(BoxAnswer(box), black(), options=OPT)
    assert any(expect in w for w in r.warnings), r.warnings
    assert note_visible(r.image, H)
    assert not colour_mask(r.image[:H], ST.pred, 40).any()


def test_box_reaching_outside_is_clamped_to_the_edge():
    r = render(BoxAnswer((500, 200, 1300, 800)), black(), options=OPT)
    assert any("clamped" in w for w in r.warnings) and note_visible(r.image, H)
    assert near(r.image[50, 100], ST.pred, 5) and near(r.image[50, W - 1], ST.pred, 5)


def test_clean_answer_has_no_note():
    r = render(BoxAnswer((100, 100, 500, 500)), black(), options=OPT)
    assert r.warnings == () and not note_visible(r.image, H)


def marker_pixels(region, rgb):
    """Pixels of one point marker in ``region``: its fill plus its white outline."""
    return int(colour_mask(region, rgb, 60).sum() + colour_mask(region, (255, 255, 255), 60).sum())


def test_points_outside_image_are_clamped_and_drawn_whole():
    p = SegmentationPrompt((100, 100, 500, 500), ((-50, 500), (300, 300)), ((500, 2000),))
    r = render(p, black(), masks=np.zeros((H, W), bool), options=OPT)
    assert sum("outside the image; clamped" in w for w in r.warnings) == 2
    assert note_visible(r.image, H)
    img = r.image[:H]
    whole = marker_pixels(img[10:50, 40:80], ST.positive)  # the point inside the picture, at (60, 30)
    assert whole > 20
    # the clamped points sit at the left and bottom edges, their markers whole and just inside
    assert marker_pixels(img[:, :20], ST.positive) == whole and near(img[50, 4], ST.positive, 60)
    assert marker_pixels(img[70:, 80:120], ST.negative) == whole and near(img[H - 5, 100], ST.negative, 60)


def test_track_with_seconds_beyond_end_and_nan_boxes(video, tmp_path):
    tr = Track({1: (100, 100, 400, 500), 2: (NAN, 0, 1, 1), 5: (0, 0, 500, 500), 9: (1, 1, 2, 2)})
    r = render(tr, video, options=OPT, out_file=str(tmp_path / "a.mp4"))
    text = " | ".join(r.warnings)
    assert "keys 5, 9 (4, 8 s) are outside the video" in text and "non-finite" in text
    assert probe_encoded(r.video_path).num_frames == 16
    frames = decode(r.video_path)
    assert note_visible(frames[0], 64)
    assert [f.time for f in r.frames if f.pred] == [0.0]  # key 1 is the first frame


def test_track_with_nothing_usable_still_renders(video, tmp_path):
    r = render(Track({1: (NAN,) * 4}), video, options=OPT, out_file=str(tmp_path / "b.mp4"))
    assert any("no usable box" in w for w in r.warnings)
    assert r.video_path and not any(f.pred for f in r.frames)


def test_span_longer_than_video_is_clamped(video, tmp_path):
    st = SpatioTemporal(-1.0, 30.0, {0: (100, 100, 400, 400), 1: (200, 200, 500, 500), 25: (1, 1, 5, 5)})
    r = render(st, video, options=OPT, out_file=str(tmp_path / "c.mp4"))
    text = " | ".join(r.warnings)
    assert "reaches outside the video" in text and "second 25 is outside the video" in text
    shown = [f.time for f in r.frames if f.pred]
    assert shown[0] == 0.0 and shown[-1] == 15 / 8
    r = render(SpatioTemporal(5.0, 9.0, {6: (1, 1, 50, 50)}), video, options=OPT, out_file=str(tmp_path / "d.mp4"))
    assert any("after the video's end" in w for w in r.warnings) and not any(f.pred for f in r.frames)
    r = render(SpatioTemporal(NAN, 1.0, {1: (1, 1, 50, 50)}), video, options=OPT, out_file=str(tmp_path / "e.mp4"))
    assert any("not a pair of finite numbers" in w for w in r.warnings)


def test_time_span_beyond_video(video, tmp_path):
    r = render(TimeSpan(1.5, 99.0), video, truth=TimeSpan(NAN, 1.0), options=OPT, out_file=str(tmp_path / "f.mp4"))
    assert any("clamped" in w for w in r.warnings) and any("ground-truth span" in w for w in r.warnings)
    assert probe_encoded(r.clip_path).duration <= 2.01
    assert r.metrics["tiou"] == 0.0
    r = render(TimeSpan(3.0, 4.0), video, options=OPT)
    assert r.clip_path is None and any("after the video's end" in w for w in r.warnings)
    assert r.image is not None  # the timeline still shows the video's length


@pytest.mark.parametrize("t, expect_index", [(99.0, 15), (NAN, 0), (None, 0), (-3.0, 0)])
def test_video_segmentation_key_time_out_of_range(video, tmp_path, t, expect_index):
    p = SegmentationPrompt((100, 100, 500, 500), ((300, 300),), ((900, 900),), time=t)
    r = render(p, video, options=OPT, out_file=str(tmp_path / "g.mp4"))
    assert [f.index for f in r.frames if f.key] == [expect_index]
    assert any("key-frame time" in w for w in r.warnings)


def test_masks_of_the_wrong_size_are_not_drawn(video, tmp_path):
    r = render(Track({1: (100, 100, 400, 500)}), video, masks=lambda i: np.ones((5, 5), bool), options=OPT,
               out_file=str(tmp_path / "h.mp4"))
    assert any("do not match" in w for w in r.warnings) and not any(f.mask for f in r.frames)


def test_failing_segmenter_does_not_break_render():
    class Broken:
        def segment_image(self, image, prompt):
            raise RuntimeError("out of memory")

    r = render(SegmentationPrompt((100, 100, 500, 500), ((300, 300),), ()), black(), segmenter=Broken(), options=OPT)
    assert any("segmentation failed" in w for w in r.warnings) and near(r.image[50, 20], ST.pred, 5)
