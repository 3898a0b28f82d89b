"""Golden checks on rendered videos: decode the MP4 and look at the pixels and timings."""

import numpy as np
import pytest

from onethinker.payloads import SegmentationPrompt, SpatioTemporal, TimeSpan, Track
from onethinker.media.frames import FrameSource
from onethinker.media.video_writer import probe_encoded
from onethinker.render import RenderOptions, Style, render
from onethinker.render.draw import footer
from onethinker.segment.base import VideoMasks
from tests.render.helpers import GREY, colour_mask, decode, make_video, near

W, H, FPS, N = 160, 96, 8.0, 24  # 3 s
ST = Style(line_thickness=3)
OPT = RenderOptions(style=ST, crf=12)
A, B = (100, 100, 400, 500), (300, 300, 600, 700)  # grid boxes under tracking keys 1 and 2 (t = 0 s and 1 s)


@pytest.fixture(scope="module")
def video(tmp_path_factory):
    return make_video(tmp_path_factory.mktemp("v") / "grey.mp4", n=N, w=W, h=H, fps=FPS)


def orange(img):
    return colour_mask(img, ST.pred, 70)


def blue(img):
    return colour_mask(img, ST.truth, 70)


def annotated_times(frames, fps, test=orange):
    return [i / fps for i, f in enumerate(frames) if test(f[:H]).sum() > 20]


def test_tracking_video_boxes_interpolated_only_inside_track(video, tmp_path):
    truth = Track({1: (120, 100, 420, 500), 2: (320, 300, 620, 700)})
    res = render(Track({1: A, 2: B}), video, truth=truth, options=OPT, out_file=str(tmp_path / "t.mp4"))
    assert res.kind == "video" and res.warnings == ()
    info = probe_encoded(res.video_path)
    assert (info.codec, info.pix_fmt, info.num_frames) == ("h264", "yuv420p", N)
    assert info.duration == pytest.approx(N / FPS, abs=0.02)
    assert (info.width, info.height - H) == (W, info.height - H) and info.height > H
    # records: key 1 is the first frame, so the box shows exactly from 0 s to 1 s, linearly interpolated
    shown = [r.time for r in res.frames if r.pred is not None]
    assert shown[0] == 0.0 and shown[-1] == 1.0 and len(shown) == 9
    mid = res.frames[4]  # t = 0.5
    assert mid.pred == pytest.approx((32.0, 19.2, 80.0, 57.6))
    # decoded pixels agree: first/last frames with orange boxes, truth in blue on the same frames
    frames = decode(res.video_path)
    assert annotated_times(frames, FPS) == [i / FPS for i in range(0, 9)]
    assert annotated_times(frames, FPS, blue) == [i / FPS for i in range(0, 9)]
    f = frames[4][:H]
    for y in (30, 40, 50):
        assert orange(f[y:y + 1, 31:34]).any()  # left edge at x = 32
        assert orange(f[y:y + 1, 78:82]).any()  # right edge at x = 80
    assert near(f[52, 56], (GREY,) * 3, 12)  # inside the boxes, away from traces: untouched
    # trace of the centre from (40, 28.8) to (72, 48) is drawn by the last frame
    last = frames[8][:H]
    assert orange(last[37:41, 54:59]).any()
    assert res.metrics["mean_iou"] == pytest.approx(0.875)  # 280×400 / 320×400 on both seconds


def test_progress_bar_highlights_span_and_moves_playhead(video, tmp_path):
    res = render(Track({1: A, 2: B}), video, options=OPT, out_file=str(tmp_path / "b.mp4"))
    frames = decode(res.video_path)
    ft = footer(W, H, ST, [("pred", ST.pred)], [], bar=True)
    x0, y0, x1, y1 = ft.bar_rect
    yb = (y0 + y1) // 2
    span_px = lambda t: int(x0 + (x1 - x0) * t / 3.0)  # noqa: E731
    f = frames[20]  # t = 2.5, playhead at 5/6; the track spans 0–1 s
    assert orange(f[yb:yb + 1, span_px(0.3):span_px(0.7)]).all()
    assert near(f[yb, span_px(1.6)], ST.bar_bg, 25)
    assert near(f[yb, span_px(2.5)], ST.playhead, 40)
    assert not near(frames[4][yb, span_px(2.5)], ST.playhead, 40)


def test_spatio_temporal_no_box_outside_predicted_span(video, tmp_path):
    st = SpatioTemporal(1.2, 2.4, {1: A, 2: B})
    res = render(st, video, options=OPT, out_file=str(tmp_path / "st.mp4"))
    assert res.warnings == ()
    shown = [r.time for r in res.frames if r.pred is not None]
    assert shown == [i / FPS for i in range(10, 20)]  # 1.25 … 2.375 s
    assert res.frames[19].pred == pytest.approx((48.0, 28.8, 96.0, 67.2))  # last box held to the span's end
    frames = decode(res.video_path)
    assert annotated_times(frames, FPS) == shown
    truth = SpatioTemporal(1.0, 2.0, {1: A, 2: B})
    res = render(st, video, truth=truth, options=OPT, out_file=str(tmp_path / "st2.mp4"))
    assert res.metrics["tiou"] == pytest.approx(0.8 / 1.4)
    assert res.metrics["mean_iou"] == pytest.approx(1.0)


def test_video_segmentation_masks_every_frame_and_marks_key_frame(video, tmp_path):
    src = FrameSource.open(video)
    vm = VideoMasks(len(src), W, H, key_index=12)
    for i in range(len(src)):
        m = np.zeros((H, W), bool)
        m[20:60, 20 + i:60 + i] = True
        vm.set(i, m)
    p = SegmentationPrompt((200, 200, 600, 700), ((400, 400),), ((900, 900),), time=1.5)
    res = render(p, src, masks=vm, options=OPT, out_file=str(tmp_path / "s.mp4"))
    assert res.warnings == ()
    assert all(r.mask for r in res.frames) and [r.index for r in res.frames if r.key] == [12]
    frames = decode(res.video_path)
    tint = (np.array(ST.pred) * ST.mask_opacity + GREY * (1 - ST.mask_opacity)).astype(int)
    for i in (0, 12, 23):
        assert near(frames[i][40, 40 + i], tint, 25)  # mask where it is on that frame
        assert near(frames[i][40, 90 + i if i < 60 else 5], (GREY,) * 3, 15)
    key_col = colour_mask(frames[12][:H], ST.key_frame, 70)
    assert key_col[:, 0].mean() > 0.8 and not colour_mask(frames[11][:H], ST.key_frame, 70)[:, 0].any()
    assert near(frames[12][int(0.4 * H), int(0.4 * W)], ST.positive, 70)


def test_temporal_grounding_timeline_clip_and_thumbnails(video, tmp_path):
    res = render(TimeSpan(1.0, 1.5), video, truth=TimeSpan(1.25, 2.5),
                 options=RenderOptions(style=ST, context_s=0.5), out_file=str(tmp_path / "c.mp4"))
    assert res.kind == "timeline" and res.warnings == ()
    assert res.metrics["tiou"] == pytest.approx(0.25 / 1.5)
    assert colour_mask(res.image, ST.pred, 10).sum() > 100 and colour_mask(res.image, ST.truth, 10).sum() > 100
    assert res.figure is not None
    info = probe_encoded(res.clip_path)
    assert info.codec == "h264" and info.num_frames == 13  # 0.5 … 2.0 s at 8 fps
    assert [(t.label, t.time) for t in res.thumbnails] == [("start", 1.0), ("middle", 1.25), ("end", 1.5)]
    assert res.strip.shape[1] > 3 * 100
    inside = [r.time for r in res.frames if r.key]
    assert inside == [1.0, 1.125, 1.25, 1.375, 1.5]
    frames = decode(res.clip_path)
    assert colour_mask(frames[4][:H, :2], ST.pred, 70).mean() > 0.8  # border on frames inside the span (1.0 s)
    assert not colour_mask(frames[0][:H, :2], ST.pred, 70).any()


def test_render_progress_counts_frames(video, tmp_path):
    seen = []
    render(Track({1: A}), video, options=OPT, progress=lambda d, n: seen.append((d, n)),
           out_file=str(tmp_path / "p.mp4"))
    assert seen[0] == (1, N) and seen[-1] == (N, N)


def test_parsed_tracking_answer_renders_from_model_text(video, tmp_path):
    from onethinker.answer import parse

    ans = parse('<think>it moves right</think><answer>{"boxes": {"1": [100, 100, 400, 500], '
                '"2": [300, 300, 600, 700]}}</answer>', "tracking")
    res = render(ans, video, options=OPT, out_file=str(tmp_path / "a.mp4"))
    assert [r.time for r in res.frames if r.pred is not None] == [i / FPS for i in range(0, 9)]


def test_capped_rate_and_size_apply_to_rendered_video(tmp_path):
    path = make_video(tmp_path / "big.mp4", n=48, w=320, h=192, fps=24)
    res = render(Track({1: A}), path, options=RenderOptions(max_fps=6, max_side=160),
                 out_file=str(tmp_path / "o.mp4"))
    info = probe_encoded(res.video_path)
    assert res.fps == 6 and res.size == (160, 96) and info.width == 160 and info.num_frames == 12
    assert info.duration == pytest.approx(2.0, abs=0.05)
