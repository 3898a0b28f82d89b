"""Golden-image checks on still overlays: pixels where the boxes, masks and points must be."""

import numpy as np
import pytest

from onethinker.answer import parse
from onethinker.payloads import BoxAnswer, Number, SegmentationPrompt
from onethinker.coords import CoordSystem
from onethinker.render import RenderOptions, Style, find_renderer, render, renderer_for
from onethinker.render.core import RenderResult
from tests.render.helpers import colour_mask, near

ST = Style(line_thickness=2)
OPT = RenderOptions(style=ST)
W, H = 200, 100


def black():
    return np.zeros((H, W, 3), np.uint8)


def test_box_edges_land_where_the_grid_says_with_truth_in_a_second_colour():
    # 0–1000 grid → pixels: x 100..500 → 20..100, y 200..800 → 20..80
    r = render(BoxAnswer((100, 200, 500, 800)), black(), truth=BoxAnswer((550, 100, 950, 900)), options=OPT)
    assert r.kind == "image" and r.size == (W, H) and r.warnings == ()
    img = r.image
    assert img.shape[1] == W and img.shape[0] > H  # legend strip under the picture
    pic = img[:H]
    for y in (40, 60, 79):  # left and right edges of the prediction
        assert near(pic[y, 20], ST.pred, 5) and near(pic[y, 100], ST.pred, 5)
    for x in (40, 60, 99):  # bottom edge
        assert near(pic[79, x], ST.pred, 5)
    assert pic[50, 60].max() == 0 and pic[50, 17].max() == 0  # inside / outside untouched
    for y in (40, 60, 89):  # truth x 110..190, y 10..90
        assert near(pic[y, 110], ST.truth, 5) and near(pic[y, 190], ST.truth, 5)
    assert not colour_mask(pic[:, 105:], ST.pred, 5).any()  # prediction colour only on the prediction
    assert r.metrics["iou"] == 0.0
    legend = img[H:]
    assert colour_mask(legend, ST.pred, 60).any() and colour_mask(legend, ST.truth, 60).any()


def test_iou_printed_matches_metric():
    r = render(BoxAnswer((100, 100, 500, 500)), black(), truth=BoxAnswer((100, 100, 500, 300)), options=OPT)
    assert r.metrics["iou"] == pytest.approx(0.5)


def test_answer_objects_and_pixel_models_go_through_the_adapter():
    ans = parse('<think>x</think><answer>{"boxes": [100, 200, 500, 800]}</answer>', "spatial grounding")
    r = render(ans, black(), options=OPT)
    assert near(r.image[50, 20], ST.pred, 5)
    # a Qwen2.5-VL-style model that saw a 400×200 resize writes absolute pixels of that picture
    opt = RenderOptions(style=ST, coord_system=CoordSystem.PIXELS, model_size=(400, 200))
    r = render(BoxAnswer((40, 40, 200, 160)), black(), options=opt)
    assert near(r.image[50, 20], ST.pred, 5) and near(r.image[50, 100], ST.pred, 5)


def test_segmentation_mask_inside_box_and_point_colours():
    mask = np.zeros((H, W), bool)
    mask[30:70, 40:80] = True
    p = SegmentationPrompt((100, 200, 500, 800), ((300, 500), (250, 400)), ((900, 500), (50, 100)))
    r = render(p, black(), masks=mask, options=OPT)
    pic = r.image[:H]
    box_region = np.zeros((H, W), bool)
    box_region[20:81, 20:101] = True
    # the mask is translucent prediction colour, all of it inside the box, where the mask is
    expect = (np.array(ST.pred) * ST.mask_opacity).astype(int)
    tint = colour_mask(pic, expect, 4)
    assert tint.sum() > 0.8 * mask.sum()
    label_zone = np.zeros((H, W), bool)
    label_zone[:20, 18:70] = True  # the "pred" label sits above the box's top-left corner
    assert not (tint & ~box_region & ~label_zone).any()
    assert not (tint & ~mask & ~label_zone).any()
    assert pic[25:28, 25:38].max() == 0
    # positive points green, negative red, at their pixels
    assert near(pic[50, 60], ST.positive, 10) and near(pic[40, 50], ST.positive, 10)
    assert near(pic[50, 180], ST.negative, 10) and near(pic[10, 10], ST.negative, 10)
    assert r.metrics["mask_area"] == pytest.approx(mask.mean())


def test_segmentation_without_backend_draws_prompt_and_says_so():
    r = render(SegmentationPrompt((100, 200, 500, 800), ((300, 500),), ()), black(), options=OPT)
    assert any("no segmentation backend" in w for w in r.warnings)
    assert near(r.image[50, 20], ST.pred, 5)
    assert colour_mask(r.image[H:], ST.note, 40).any()  # the note is visible under the picture


def test_segmentation_with_a_backend_uses_pixel_prompt():
    seen = {}

    class Fake:
        name = "fake"

        def segment_image(self, image, prompt):
            from onethinker.segment.base import ImageMask

            seen["shape"], seen["prompt"] = image.shape, prompt
            m = np.zeros(image.shape[:2], bool)
            m[30:40, 30:40] = True
            return ImageMask(m, 0.9)

    r = render(SegmentationPrompt((100, 200, 500, 800), ((300, 500),), ((900, 900),)), black(), segmenter=Fake(),
               options=OPT)
    assert seen["shape"] == (H, W, 3)
    assert seen["prompt"].box == (20.0, 20.0, 100.0, 80.0)
    assert seen["prompt"].positive == ((60.0, 50.0),) and seen["prompt"].negative == ((180.0, 90.0),)
    assert r.image[35, 35].max() > 0 and r.warnings == ()


def test_text_answers_have_nothing_to_draw_and_new_payloads_can_register():
    r = render(Number(3.0), black())
    assert r.kind == "none" and "nothing to draw" in r.warnings[0]
    assert find_renderer(BoxAnswer((0, 0, 1, 1))) is not None

    class Shifted(BoxAnswer):  # a new payload kind derived from a known one is drawn with no change
        pass

    r = render(Shifted((100, 200, 500, 800)), black(), options=OPT)
    assert near(r.image[50, 20], ST.pred, 5)

    @renderer_for(Number)
    def _num(payload, media, truth, options, **kw):
        return RenderResult(kind="none", warnings=(f"number {payload.value}",))

    try:
        assert render(Number(2.0), black()).warnings == ("number 2.0",)
    finally:
        from onethinker.render.core import _RENDERERS

        _RENDERERS.pop(Number)


def test_missing_payload_renders_the_picture_with_the_error():
    ans = parse("<think>hmm</think><answer>not json</answer>", "spatial grounding")
    r = render(ans, black())
    assert r.image.shape[1] == W and any("no answer" in w for w in r.warnings)


def test_image_files_load_with_transparency_on_white(tmp_path):
    from PIL import Image

    rgba = np.zeros((H, W, 4), np.uint8)  # fully transparent
    Image.fromarray(rgba, "RGBA").save(tmp_path / "t.png")
    r = render(BoxAnswer((100, 200, 500, 800)), str(tmp_path / "t.png"), options=OPT)
    assert r.image[50, 60].tolist() == [255, 255, 255] and near(r.image[50, 20], ST.pred, 5)
    from onethinker.media.probe import MediaError

    (tmp_path / "bad.png").write_bytes(b"nope")
    with pytest.raises(MediaError):
        render(BoxAnswer((1, 1, 2, 2)), str(tmp_path / "bad.png"))
