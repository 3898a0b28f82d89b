import math

import numpy as np
import pytest

from onethinker.coords import CoordAdapter, CoordSystem, coord_system_for_model


def test_grid_box_to_pixels_scales_by_width_and_height():
    a = CoordAdapter(width=1920, height=1080)
    c = a.box_to_pixels([100, 500, 600, 1000])
    assert c.error is None and not c.clamped
    assert c.value == pytest.approx((192.0, 540.0, 1152.0, 1080.0))


def test_grid_round_trip_points():
    a = CoordAdapter(640, 480)
    px = a.point_to_pixels((250, 750)).value
    assert px == pytest.approx((160.0, 360.0))
    assert a.point_from_pixels(px).value == pytest.approx((250.0, 750.0))


def test_out_of_range_is_clamped_and_flagged():
    a = CoordAdapter(100, 50)
    c = a.box_to_pixels([-20, 0, 1200, 1000])
    assert c.clamped
    assert c.value == (0.0, 0.0, 100.0, 50.0)
    c = a.box_to_pixels([-20, 0, 1200, 1000], clamp=False)
    assert not c.clamped and c.value[0] == pytest.approx(-2.0)


def test_pixel_models_use_the_resized_input_size():
    # A Qwen2.5-VL-style model saw a 448x224 resize of an 896x448 image and answered in its pixels.
    a = CoordAdapter(896, 448, CoordSystem.PIXELS, model_width=448, model_height=224)
    assert a.box_to_pixels([10, 20, 100, 200]).value == pytest.approx((20.0, 40.0, 200.0, 400.0))
    assert a.box_from_pixels([20, 40, 200, 400]).value == pytest.approx((10.0, 20.0, 100.0, 200.0))


def test_pixel_model_without_resize_is_identity():
    a = CoordAdapter(300, 200, CoordSystem.PIXELS)
    assert a.point_to_pixels([12.5, 99]).value == (12.5, 99.0)


@pytest.mark.parametrize("model_id, expected", [
    ("OneThink/OneThinker-8B", CoordSystem.GRID_1000),
    ("Qwen/Qwen3-VL-8B-Instruct", CoordSystem.GRID_1000),
    ("Qwen/Qwen2.5-VL-7B-Instruct", CoordSystem.PIXELS),
    ("/models/qwen2_5_vl_local", CoordSystem.PIXELS),
    (None, CoordSystem.GRID_1000),
])
def test_convention_follows_model_family(model_id, expected):
    assert coord_system_for_model(model_id) is expected
    assert CoordAdapter.for_model(model_id, 10, 10).system is expected


def test_numpy_input_and_integer_rounding_for_corrections():
    a = CoordAdapter(1000, 500)
    assert a.box_from_pixels_int(np.array([10.4, 10.6, 500.2, 250.9])).value == (10.0, 21.0, 500.0, 502.0)


@pytest.mark.parametrize("bad, fragment", [
    ([1, 2, 3], "4 numbers"),
    ([1, 2, 3, math.nan], "non-finite"),
    ("1,2,3,4", "list of 4"),
    ([1, 2, "x", 4], "non-number"),
    (None, "list of 4"),
    ([True, 2, 3, 4], "boolean"),
])
def test_bad_boxes_return_an_explained_error(bad, fragment):
    c = CoordAdapter(10, 10).box_to_pixels(bad)
    assert c.value is None and fragment in c.error


@pytest.mark.parametrize("w, h", [(0, 10), (10, -1), (math.nan, 10), ("10", 10)])
def test_bad_image_size_is_reported(w, h):
    c = CoordAdapter(w, h).point_to_pixels([1, 2])
    assert c.value is None and "must be a positive number" in c.error
