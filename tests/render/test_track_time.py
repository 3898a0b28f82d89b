"""Golden checks of when boxes are drawn: a square moves at a known speed, so its true box at every time is known.

Tracking keys follow the official OneThinker data (key "1" is the first frame, key k is t = k − 1 s);
spatio-temporal keys are absolute seconds (key k is t = k s); a video segmentation ``"time"`` selects
frame round(time · fps).
"""

import numpy as np
import pytest

from onethinker.answer import parse
from onethinker.payloads import SegmentationPrompt, SpatioTemporal, Track
from onethinker.render import RenderOptions, Style, render
from onethinker.segment.base import VideoMasks
from tests.render.helpers import colour_mask, decode, moving_square_video

W, H, FPS, N = 160, 100, 8.0, 32  # 4 s
SIDE, X0, Y0, SPEED = 16, 16, 40, 16.0  # the square's left edge is at X0 + SPEED·t pixels
ST = Style(line_thickness=3)
OPT = RenderOptions(style=ST, crf=12)
ROW = Y0 + 4  # a row through the square, clear of the label (above it) and the centre trace


@pytest.fixture(scope="module")
def square(tmp_path_factory):
    return moving_square_video(tmp_path_factory.mktemp("sq") / "square.mp4", N, W, H, FPS, SIDE, X0, Y0, SPEED)


def left(t):
    return X0 + SPEED * t


def px_box(t):
    return (left(t), Y0, left(t) + SIDE, Y0 + SIDE)


def grid_box(t):
    x1, y1, x2, y2 = px_box(t)
    return (x1 / W * 1000, y1 / H * 1000, x2 / W * 1000, y2 / H * 1000)


def assert_box_on_square(frame, t):
    """In the decoded frame at ``t``, the orange box edges sit on the square's edges and the square lies
    between them."""
    row = frame[ROW]
    orange = np.flatnonzero(colour_mask(row[None], ST.pred, 70)[0])
    white = np.flatnonzero(colour_mask(row[None], (255, 255, 255), 40)[0])
    x = int(left(t))
    assert orange.size and white.size, f"t={t}: nothing drawn or no square"
    on_edges = (np.abs(orange - x) <= 2) | (np.abs(orange - (x + SIDE)) <= 2)
    assert on_edges.all(), f"t={t}: box edges at columns {orange.tolist()}, square spans {x}..{x + SIDE - 1}"
    assert (np.abs(orange - x) <= 2).any() and (np.abs(orange - (x + SIDE)) <= 2).any()
    assert white.min() >= x and white.max() < x + SIDE


def test_tracking_key_one_is_the_first_frame(square, tmp_path):
    # the answer the model should give: key k holds the square's box at t = k − 1 s
    track = Track({k: grid_box(k - 1) for k in range(1, 5)})
    res = render(track, square, options=OPT, out_file=str(tmp_path / "track.mp4"))
    assert res.warnings == ()
    shown = [r for r in res.frames if r.pred is not None]
    assert shown[0].time == 0.0 and shown[-1].time == 3.0 and len(shown) == 25  # the first second has boxes
    for r in shown:  # interpolated between keys, every frame's box is the square's true box
        assert r.pred == pytest.approx(px_box(r.time))
    frames = decode(res.video_path)
    for t in (0.0, 0.5, 1.0, 2.0, 3.0):
        assert_box_on_square(frames[int(t * FPS)][:H], t)


def test_tracking_truth_and_prediction_meet_on_the_same_frames(square, tmp_path):
    truth = Track({k: grid_box(k - 1) for k in range(1, 4)})
    pred = Track({k: grid_box(k - 1) for k in range(1, 3)})
    res = render(pred, square, truth=truth, options=OPT, out_file=str(tmp_path / "tt.mp4"))
    assert res.metrics["mean_iou"] == pytest.approx(2 / 3)  # keys 1 and 2 exact, key 3 missing
    assert [r.time for r in res.frames if r.truth is not None][0] == 0.0


def test_spatio_temporal_keys_are_absolute_seconds(square, tmp_path):
    st = SpatioTemporal(0.0, 3.0, {k: grid_box(k) for k in range(0, 4)})
    res = render(st, square, options=OPT, out_file=str(tmp_path / "st.mp4"))
    assert res.warnings == ()
    shown = [r for r in res.frames if r.pred is not None]
    assert shown[0].time == 0.0 and shown[-1].time == 3.0
    for r in shown:
        assert r.pred == pytest.approx(px_box(r.time))
    frames = decode(res.video_path)
    for t in (0.0, 1.0, 2.5, 3.0):
        assert_box_on_square(frames[int(t * FPS)][:H], t)


@pytest.mark.parametrize("t", [0.0, 0.6, 1.3, 2.2, 3.9])
def test_segmentation_time_selects_frame_round_time_times_fps(square, tmp_path, t):
    p = SegmentationPrompt(grid_box(t), (), (), time=t)
    res = render(p, square, options=OPT, out_file=str(tmp_path / "seg.mp4"))
    assert [r.index for r in res.frames if r.key] == [round(t * FPS)]
    frames = decode(res.video_path)
    border = [i for i, f in enumerate(frames) if colour_mask(f[:H, :1], ST.key_frame, 70).mean() > 0.8]
    assert border == [round(t * FPS)]


class RecordingSegmenter:
    """Test double: records the box the renderer gives for every frame and returns empty masks."""

    name = "recording"

    def __init__(self):
        self.boxes = {}

    def segment_video(self, frames, key_index, prompt, boxes=None, progress=None):
        self.boxes = {i: boxes(i) for i in range(len(frames))}
        return VideoMasks.for_frames(frames, key_index)


def test_video_segmentation_box_prompts_follow_the_track_in_time(square, tmp_path):
    seg = RecordingSegmenter()
    track = Track({k: grid_box(k - 1) for k in range(1, 4)})  # 0–2 s
    p = SegmentationPrompt(grid_box(1.0), ((300, 480),), ((900, 900),), time=1.0)
    render(p, square, segmenter=seg, track=track, options=OPT, out_file=str(tmp_path / "sp.mp4"))
    for i, b in seg.boxes.items():
        if i / FPS <= 2.0:
            assert b == pytest.approx(px_box(i / FPS)), i
        else:
            assert b is None
    # the parsed model answer works the same as its payload
    answer = parse(f"<think>follow it</think><answer>{track.answer_text()}</answer>", "tracking")
    again = RecordingSegmenter()
    render(p, square, segmenter=again, track=answer, options=OPT, out_file=str(tmp_path / "sa.mp4"))
    assert again.boxes == seg.boxes
