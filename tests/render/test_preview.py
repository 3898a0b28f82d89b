"""The live overlay: a partial answer drawn on one picture, the latest track key on its own frame."""

from __future__ import annotations

import numpy as np

from onethinker.answer import parse
from onethinker.media.frames import FrameSource
from onethinker.payloads import BoxAnswer, Number, SegmentationPrompt, Track
from onethinker.render import render
from onethinker.render.preview import key_time, preview


def clip(n=40, fps=10.0, w=64, h=48):
    """Frame i is a flat grey of brightness 5·i, so a picture says which frame it came from."""
    return np.stack([np.full((h, w, 3), 5 * i, np.uint8) for i in range(n)]), fps


def test_streaming_track_is_drawn_on_the_frame_of_its_latest_key():
    frames, fps = clip()
    src = FrameSource.from_array(frames, fps)
    partial = parse('<think>t</think><answer>{"boxes": {"1": [0, 0, 500, 500], "2": [500, 500, 1000, 1000], "3": [1',
                    "tracking", final=False)
    assert partial.phase == "answering" and sorted(partial.payload.boxes) == [1, 2]
    res = preview(partial, None, source=src)
    i = src.plan.nearest_index(key_time(partial.payload, 2))
    expected = render(BoxAnswer((500.0, 500.0, 1000.0, 1000.0)), src.get(i).image)
    assert np.array_equal(res.image, expected.image)
    assert res.warnings[0].startswith("2 box(es) so far")


def test_nothing_to_draw_yet_or_ever():
    assert preview(parse("<think>hm", "tracking", final=False), "x.mp4") is None
    assert preview(Number(3.0), "x.png") is None
    assert preview(Track({}), "x.mp4") is None


def test_box_on_an_image_is_the_final_render(tmp_path):
    from PIL import Image

    p = tmp_path / "a.png"
    Image.fromarray(np.full((40, 60, 3), 200, np.uint8)).save(p)
    box = BoxAnswer((100.0, 100.0, 600.0, 900.0))
    assert np.array_equal(preview(box, str(p)).image, render(box, str(p)).image)


def test_video_segmentation_prompt_is_drawn_on_its_key_frame():
    frames, fps = clip()
    src = FrameSource.from_array(frames, fps)
    seg = SegmentationPrompt((0.0, 0.0, 500.0, 500.0), ((250.0, 250.0),), ((900.0, 900.0),), time=2.0)
    res = preview(seg, None, source=src)
    assert np.array_equal(res.image, render(seg, src.get(src.plan.nearest_index(2.0)).image).image)


def test_time_span_is_a_timeline(tmp_path):
    from tests.engine.clips import make_clip

    path = make_clip(tmp_path / "c.mp4", 64, 48, 10.0, 3.0)
    res = preview(parse('<answer>{"time": [1, 2]}</answer>', "temporal grounding"), str(path))
    assert res.kind == "timeline" and res.image.ndim == 3 and res.video_path is None
