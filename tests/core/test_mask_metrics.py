"""Hand-computed region (J / IoU) and contour (F) similarity of masks, as segmentation is evaluated."""

import numpy as np
import pytest

from onethinker.rewards import boundary_f_measure, mask_inter_union, mask_iou
from onethinker.rewards.metrics import mask_boundary


def square(size, rows, cols):
    m = np.zeros((size, size), bool)
    m[rows[0]:rows[1] + 1, cols[0]:cols[1] + 1] = True
    return m


def test_iou_of_two_overlapping_squares():
    a = square(10, (0, 3), (0, 3))  # 16 px
    b = square(10, (2, 5), (2, 5))  # 16 px, overlap 2x2
    assert mask_inter_union(a, b) == (4, 28)
    assert mask_iou(a, b) == pytest.approx(4 / 28)
    assert mask_iou(a.astype(np.uint8) * 255, b.astype(np.uint8)) == pytest.approx(4 / 28)  # any non-zero counts


def test_empty_and_mismatched_masks():
    empty = np.zeros((6, 6), bool)
    full = np.ones((6, 6), bool)
    assert mask_iou(empty, empty) == 0.0  # official: an empty union scores 0
    assert boundary_f_measure(empty, empty) == 1.0  # ... but two empty contours agree
    assert mask_iou(full, empty) == 0.0 and boundary_f_measure(full, empty) == 0.0
    assert boundary_f_measure(empty, full) == 0.0
    assert mask_inter_union(full, np.ones((6, 7), bool)) == (0, 0)
    assert boundary_f_measure(full, np.ones((6, 7), bool)) == 0.0
    assert mask_iou(np.ones((2, 3, 3)), np.ones((2, 3, 3))) == 0.0  # not a 2-D mask


def test_boundary_is_the_inner_ring_and_the_picture_edge_counts_as_outside():
    ring = mask_boundary(square(7, (1, 5), (1, 5)))
    assert ring.sum() == 16 and not ring[2:5, 2:5].any()
    assert mask_boundary(np.ones((5, 5), bool)).sum() == 16


def test_f_measure_of_a_square_shifted_by_two_pixels():
    # 20x20: tolerance round(0.0075 * 28.3) = 0 -> at least 1 px.  gt cols 2..6, prediction cols 4..8,
    # rows 2..6.  Prediction ring (16 px): top and bottom rows match 4 of 5 pixels each, the left
    # column 2 of 3 (its middle pixel is 2 px from any gt edge), the right column none -> P = 10/16;
    # the mirror image gives R = 10/16, so F = 0.625.  J = 15 / 35.
    gt = square(20, (2, 6), (2, 6))
    pred = square(20, (2, 6), (4, 8))
    assert boundary_f_measure(pred, gt) == pytest.approx(0.625)
    assert mask_iou(pred, gt) == pytest.approx(3 / 7)
    assert boundary_f_measure(gt, gt) == 1.0


def test_tolerance_grows_with_the_picture_diagonal():
    # 200x200: round(0.0075 * 282.8) = 2 px, so the same 2-pixel shift matches every boundary pixel
    gt = square(200, (2, 6), (2, 6))
    pred = square(200, (2, 6), (4, 8))
    assert boundary_f_measure(pred, gt) == 1.0
    assert boundary_f_measure(pred, gt, tolerance=0.001) == pytest.approx(0.625)  # back to 1 px
