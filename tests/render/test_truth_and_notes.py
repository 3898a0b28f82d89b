"""Ground truth given as answer text, parse repairs in the notes, and what the legend lists."""

import numpy as np
import pytest

from onethinker.answer import parse
from onethinker.payloads import BoxAnswer, SegmentationPrompt, Track
from onethinker.render import RenderOptions, Style, render
from onethinker.render.draw import footer
from tests.render.helpers import colour_mask, decode, make_video

ST = Style(line_thickness=2)
OPT = RenderOptions(style=ST)
W, H = 200, 100
PRED = (100, 200, 500, 800)
TRUTH_TEXT = '{"boxes": [550, 100, 950, 900]}'


def black():
    return np.zeros((H, W, 3), np.uint8)


def blue_drawn(r):
    return colour_mask(r.image[:H], ST.truth, 5).any()


@pytest.mark.parametrize("truth", [TRUTH_TEXT, f"<answer>{TRUTH_TEXT}</answer>", f" {TRUTH_TEXT}\n"])
def test_truth_as_answer_text_is_parsed_with_the_answers_task(truth):
    expected = render(BoxAnswer(PRED), black(), truth=BoxAnswer((550, 100, 950, 900)), options=OPT)
    for pred in (BoxAnswer(PRED), parse(f"<think>x</think><answer>{BoxAnswer(PRED).answer_text()}</answer>",
                                        "spatial grounding")):
        r = render(pred, black(), truth=truth, options=OPT)
        assert r.warnings == () and blue_drawn(r)
        assert np.array_equal(r.image, expected.image) and r.metrics == expected.metrics


def test_tracking_truth_text_gives_the_same_metric_as_score_reads_it(tmp_path):
    video = make_video(tmp_path / "v.mp4", n=16, w=96, h=64, fps=8)
    truth = '{"boxes": {"1": [100, 100, 400, 400], "2": [200, 200, 500, 500]}}'
    r = render(Track({1: (100, 100, 400, 400)}), video, truth=truth, options=OPT, out_file=str(tmp_path / "t.mp4"))
    assert r.metrics["mean_iou"] == pytest.approx(0.5)
    assert [f.time for f in r.frames if f.truth is not None][0] == 0.0


def test_segmentation_truth_text_is_read_as_image_or_video_by_the_media(tmp_path):
    p = SegmentationPrompt((100, 200, 500, 800), ((300, 500),), ((900, 500),))
    text = ('{"boxes": [550, 100, 950, 900], "positive_points": [[700, 500], [750, 500], [800, 500]], '
            '"negative_points": [[50, 50], [60, 60], [70, 70]]}')
    r = render(p, black(), truth=text, options=OPT)
    assert r.metrics["box_iou"] == 0.0 and blue_drawn(r)
    assert not any(w.startswith("ground truth") for w in r.warnings), r.warnings
    # on a video the text is read as a video segmentation answer: its "time" is its key frame
    video = make_video(tmp_path / "v.mp4", n=16, w=W, h=H, fps=8)
    pv = SegmentationPrompt(p.box, p.positive_points, p.negative_points, time=0.5)
    r = render(pv, video, truth='{"time": 1.25, ' + text[1:], options=OPT, out_file=str(tmp_path / "s.mp4"))
    assert not any(w.startswith("ground truth") for w in r.warnings), r.warnings
    assert r.metrics["box_iou"] == 0.0
    assert [f.index for f in r.frames if f.truth is not None] == [10]  # 1.25 s at 8 fps
    assert [f.index for f in r.frames if f.key] == [4]
    frames = decode(r.video_path)
    assert colour_mask(frames[10][:H], ST.truth, 60).sum() > 50 and not colour_mask(frames[9][:H], ST.truth, 60).any()


@pytest.mark.parametrize("bad", ["", "not an answer", '{"boxes": "nope"}', "<answer></answer>", "[[[["])
def test_unreadable_truth_text_is_a_note_never_an_exception(bad):
    r = render(BoxAnswer(PRED), black(), truth=bad, options=OPT)
    assert any("ground truth text is not a spatial grounding answer" in w and "ignored" in w
               for w in r.warnings), r.warnings
    assert not blue_drawn(r) and "iou" not in r.metrics
    assert colour_mask(r.image[H:], ST.note, 90).sum() > 5  # said on the picture too


def footer_of(r, legend):
    """The footer the picture should carry: this legend and the result's warnings as notes."""
    return footer(W, H, ST, legend, list(r.warnings), max_notes=OPT.max_notes)._static()


def test_parse_repairs_reach_warnings_and_the_picture():
    ans = parse('<think>x</think><answer>{"boxes": [500, 800, 100, 1200]}</answer>', "spatial grounding")
    assert ans.warnings  # swapped corners and a clamped coordinate
    r = render(ans, black(), options=OPT)
    assert [f"prediction: {w}" for w in ans.warnings] == list(r.warnings[:len(ans.warnings)])
    assert np.array_equal(r.image[H:], footer_of(r, [("pred", ST.pred)]))  # the notes are drawn under it


def test_ground_truth_repairs_are_named_as_such_but_not_its_missing_tags():
    truth = parse('{"boxes": [550, 100, 950, 1300]}', "spatial grounding")
    r = render(BoxAnswer(PRED), black(), truth='{"boxes": [550, 100, 950, 1300]}', options=OPT)
    repairs = [w for w in r.warnings if w.startswith("ground truth: ")]
    assert repairs and len(repairs) < len(truth.warnings)  # the clamp, not "no <think>/<answer> tags"
    assert all(w[len("ground truth: "):] in truth.warnings for w in repairs)
    assert not any("tags" in w for w in r.warnings)
    assert np.array_equal(r.image, render(BoxAnswer(PRED), black(), truth=truth, options=OPT).image)


# ---------------------------------------------------------------------------------------------
# Legend

SEG = SegmentationPrompt((100, 200, 500, 800), ((300, 500),), ((900, 500),))


def test_image_segmentation_legend_lists_mask_only_when_one_is_drawn():
    mask = np.zeros((H, W), bool)
    mask[30:70, 40:80] = True
    base = [("pred", ST.pred)]
    points = [("+ points", ST.positive), ("- points", ST.negative)]
    r = render(SEG, black(), options=OPT)  # no backend, no mask
    assert np.array_equal(r.image[H:], footer_of(r, base + points))
    r = render(SEG, black(), masks=np.zeros((H, W), bool), options=OPT)  # an empty mask draws nothing
    assert np.array_equal(r.image[H:], footer_of(r, base + points))
    r = render(SEG, black(), masks=mask, options=OPT)
    assert np.array_equal(r.image[H:], footer_of(r, base + [("mask", ST.pred)] + points))


def legend_row(frame, ft):
    y = H + ft.bar_h + 4
    return frame[y:y + ft.lh].astype(int)


@pytest.mark.parametrize("case", ["none", "empty", "masks"])
def test_video_segmentation_legend_lists_mask_only_when_one_is_drawn(tmp_path, case):
    vw, vh, n = 200, 100, 8
    video = make_video(tmp_path / "v.mp4", n=n, w=vw, h=vh, fps=8)
    full = np.zeros((vh, vw), bool)
    full[20:60, 20:60] = True
    masks = {"none": None, "empty": lambda i: np.zeros((vh, vw), bool), "masks": lambda i: full}[case]
    p = SegmentationPrompt(SEG.box, SEG.positive_points, SEG.negative_points, time=0.5)
    r = render(p, video, masks=masks, options=OPT, out_file=str(tmp_path / "s.mp4"))
    assert any(f.mask for f in r.frames) == (case == "masks")
    rest = [("+ points", ST.positive), ("- points", ST.negative), ("key frame 0.50 s", ST.key_frame)]
    with_mask = footer(vw, vh, ST, [("pred", ST.pred), ("mask", ST.pred)] + rest, list(r.warnings), bar=True)
    without = footer(vw, vh, ST, [("pred", ST.pred)] + rest, list(r.warnings), bar=True)
    frame = decode(r.video_path)[n - 1]
    d_with = np.abs(legend_row(frame, with_mask) - legend_row(with_mask.compose(np.zeros((vh, vw, 3), np.uint8)),
                                                               with_mask)).mean()
    d_without = np.abs(legend_row(frame, without) - legend_row(without.compose(np.zeros((vh, vw, 3), np.uint8)),
                                                               without)).mean()
    # the legend drawn is the right one: much closer to it than to the other (H.264 blurs coloured text)
    assert (d_with < 0.6 * d_without) if case == "masks" else (d_without < 0.6 * d_with), (d_with, d_without)


# ---------------------------------------------------------------------------------------------
# Ground-truth masks (an evaluation row's annotated masks)


def test_image_truth_mask_is_drawn_in_the_truth_colour_with_its_iou():
    truth = np.zeros((H, W), bool)
    truth[20:60, 20:100] = True
    r = render(SEG, black(), truth_masks=truth, options=OPT)
    blue = colour_mask(r.image[:H], tuple(int(c * ST.mask_opacity) for c in ST.truth), 3)
    # translucent blue on black inside the mask (but where the prompt's box and points are drawn), none outside
    assert blue[25:55, 25:95].mean() > 0.8 and not blue[65:, 105:].any()
    assert np.array_equal(r.image[H:], footer_of(r, [("pred", ST.pred), ("+ points", ST.positive),
                                                     ("- points", ST.negative), ("truth mask", ST.truth)]))
    pred = np.zeros((H, W), bool)
    pred[20:60, 60:140] = True
    both = render(SEG, black(), masks=pred, truth_masks=truth, options=OPT)
    assert both.metrics["mask_iou"] == pytest.approx((40 * 40) / (40 * 120))
    wrong = render(SEG, black(), truth_masks=np.ones((5, 5), bool), options=OPT)
    assert any(w.startswith("ground-truth mask of shape (5, 5)") for w in wrong.warnings)


def test_video_truth_masks_follow_the_frames(tmp_path):
    vw, vh, n = 96, 64, 8
    video = make_video(tmp_path / "v.mp4", n=n, w=vw, h=vh, fps=8)
    left = np.zeros((vh, vw), bool)
    left[10:50, 8:40] = True
    masks = {i: left for i in range(4)}  # annotated on the first half only
    p = SegmentationPrompt(SEG.box, SEG.positive_points, SEG.negative_points, time=0.5)
    r = render(p, video, truth_masks=masks, options=OPT, out_file=str(tmp_path / "s.mp4"))
    frames = decode(r.video_path)
    tinted = [int(colour_mask(f[:vh][15:45, 12:36], (44, 107, 159), 40).sum()) for f in frames]
    assert all(t > 300 for t in tinted[:4]) and all(t == 0 for t in tinted[4:]), tinted
