"""What the model saw: thumbnails of exactly the frames (and the image) a request's ``Sent`` lists."""

from __future__ import annotations

from pathlib import Path

import pytest

from onethinker.media.probe import MediaError
from onethinker.render.seen import seen_pictures, shown_positions


@pytest.fixture(scope="module")
def video():
    return str(Path(__file__).resolve().parents[2] / "examples" / "app" / "moving.mp4")  # 192 × 144, 60 frames at 10 fps


def test_shown_positions_keep_all_or_spread_evenly_with_both_ends():
    assert shown_positions(5, 16) == [0, 1, 2, 3, 4]
    spread = shown_positions(64, 16)
    assert len(spread) == 16 and spread[0] == 0 and spread[-1] == 63
    assert all(b - a in (4, 5) for a, b in zip(spread, spread[1:]))
    assert shown_positions(10, 1) == [0] and shown_positions(10, 0) == []


def test_only_the_listed_frames_are_shown_with_their_own_times(video):
    m = {"kind": "video", "path": video, "frame_indices": [0, 30, 59], "timestamps": [0.0, 3.0, 5.9],
         "width": 192, "height": 144, "resized_width": 192, "resized_height": 128}
    pics = seen_pictures([m], max_side=96)
    assert [(p.frame, p.time) for p in pics] == [(0, 0.0), (30, 3.0), (59, 5.9)]
    assert all(p.image.shape == (72, 96, 3) and p.sent_size == (192, 128) for p in pics)


def test_unreadable_entries(video, tmp_path):
    assert seen_pictures([{"kind": "image", "path": None}, {"kind": "video", "path": str(tmp_path / "gone.mp4")}]) == []
    with pytest.raises(MediaError, match="past the end"):
        seen_pictures([{"kind": "video", "path": video, "frame_indices": [10**6], "timestamps": [1.0]}])
