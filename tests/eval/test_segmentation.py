"""Segmentation rows: RLE decoding, prompts in pixels, hand-computed J / F / IoU, and tiny SAM models end to end."""

import json

import numpy as np
import pytest
from pycocotools import mask as coco

from onethinker.eval import check_row, score_row
from onethinker.eval.rows import RowError, SegTruth
from onethinker.eval.segmentation import decode_rle, image_reward, prompt_from_prediction, video_reward
from onethinker.rewards import boundary_f_measure, mask_iou
from tests.eval.helpers import R


def encode(mask) -> dict:
    r = coco.encode(np.asfortranarray(np.asarray(mask, np.uint8)))
    return {"size": list(r["size"]), "counts": r["counts"].decode("ascii")}


def square(w, h, rows, cols):
    m = np.zeros((h, w), bool)
    m[rows[0]:rows[1] + 1, cols[0]:cols[1] + 1] = True
    return m


def test_rle_decoding_both_count_forms_and_wrong_sizes():
    m = square(5, 4, (1, 2), (1, 3))
    assert (decode_rle(encode(m), 5, 4) == m).all()
    # uncompressed COCO RLE: run lengths in column-major order, starting with background
    runs = {"size": [4, 5], "counts": [5, 2, 2, 2, 2, 2, 5]}
    assert (decode_rle(runs, 5, 4) == m).all()
    with pytest.raises(RowError, match="has size") as e:
        decode_rle(encode(m), 4, 5)
    assert e.value.kind == "bad_rle"
    with pytest.raises(RowError, match="cannot be decoded"):
        decode_rle({"size": [4, 5], "counts": 17}, 5, 4)


def test_prompt_from_the_answer_in_pixels_of_the_resolution():
    pred = json.dumps({"time": "2.5", "boxes": [500, 600, 100, 200], "positive_points": [[250, 500], [333, 333]],
                       "negative_points": [[1200, -5], "bad", [1, 2, 3]]})
    prompt, t = prompt_from_prediction(pred, 200, 100)
    assert prompt.box == (20.0, 20.0, 100.0, 60.0)  # 0–1000 grid -> pixels, corners ordered
    assert prompt.positive == ((50.0, 50.0), (67.0, 33.0))  # rounded to whole pixels (66.6, 33.3)
    assert prompt.negative == ((200.0, 0.0),)  # clamped into the picture; unusable points dropped
    assert t == 2.5
    empty, t0 = prompt_from_prediction("not json", 200, 100)
    assert empty.empty and t0 == 0.0


def test_image_and_video_scores_by_hand():
    gt = square(20, 20, (2, 6), (2, 6))
    pred = square(20, 20, (2, 6), (4, 8))  # J = 15/35, F = 0.625 (see tests/core/test_mask_metrics.py)
    assert image_reward(pred, gt) == {"IoU": pytest.approx(3 / 7), "inter": 15, "union": 35}
    truth = SegTruth(20, 20, 8.0, ("f0", "f1", "f2", "f3"),
                     {"f0": encode(gt), "f1": encode(gt), "f2": None, "f3": encode(gt)})
    masks = {0: gt, 1: pred, 2: gt}  # frame 3 has no predicted mask: J = F = 0 there; f2 is not annotated
    r = video_reward(truth, masks.get)
    assert r["J"] == pytest.approx((1 + 3 / 7 + 0) / 3)
    assert r["F"] == pytest.approx((1 + 0.625 + 0) / 3)
    assert r["J&F"] == pytest.approx((r["J"] + r["F"]) / 2)
    assert video_reward(SegTruth(20, 20, 8.0, ("f0",), {}), masks.get) == {"J": 0.0, "F": 0.0, "J&F": 0.0}


class Recording:
    """Test double around a real segmenter that keeps what it returned."""

    def __init__(self, inner):
        self.inner, self.name, self.images, self.videos = inner, inner.name, [], []

    def segment_image(self, image, prompt):
        out = self.inner.segment_image(image, prompt)
        self.images.append((image, prompt, out))
        return out

    def segment_video(self, frames, key_index, prompt, boxes=None, progress=None):
        out = self.inner.segment_video(frames, key_index, prompt, boxes, progress)
        self.videos.append((frames, key_index, prompt, out))
        return out

    def release(self):
        self.inner.release()


@pytest.fixture(scope="module")
def sam2():
    from onethinker.segment.sam2 import Sam2Segmenter
    from tests.segment.tiny import tiny_sam2_image, tiny_sam2_video

    (im, ip), (vm, vp) = tiny_sam2_image(), tiny_sam2_video()
    return Sam2Segmenter(image_model=im, image_processor=ip, video_model=vm, video_processor=vp, device="cpu")


def seg_row(example_rows, data_type):
    return next(r for r in example_rows if r["problem_type"] == "segmentation" and r["data_type"] == data_type)


def test_image_row_end_to_end_with_tiny_sam2(sam2, example_rows, media_root):
    r = seg_row(example_rows, "image")
    answer = {"boxes": [539, 406, 797, 750], "positive_points": [[664, 573]], "negative_points": [[100, 900]]}
    seg = Recording(sam2)
    out = score_row({**r, "output": R(answer)}, media_root=media_root, segmenter=seg)
    assert out["error"] is None and out["status"] == "ok"
    (image, prompt, mask), = seg.images
    assert image.shape == (192, 256, 3)  # the picture at the row's resolution
    assert prompt.box == (138.0, 78.0, 204.0, 144.0) and prompt.positive == ((170.0, 110.0),)
    gt = decode_rle(r["segmentation_output"]["segmentation_rle"], 256, 192)
    iou = mask_iou(mask.mask, gt)
    assert out["reward"]["IoU"] == pytest.approx(iou) and out["accuracy"] == pytest.approx(iou)
    assert out["reward"]["union"] == int((mask.mask | gt).sum()) and out["components"] == {"iou": pytest.approx(iou)}
    assert out["predicted_answer_norm"] == json.dumps(answer)


def test_video_row_end_to_end_with_tiny_sam2(sam2, example_rows, media_root):
    r = seg_row(example_rows, "video")
    answer = {"time": 2.0, "boxes": [400, 400, 600, 700], "positive_points": [[500, 555]], "negative_points": []}
    seg = Recording(sam2)
    out = score_row({**r, "output": R(answer)}, media_root=media_root, segmenter=seg)
    assert out["error"] is None, out["error"]
    (frames, key, prompt, vm), = seg.videos
    assert len(frames) == 32 and frames.size == (192, 144)  # one frame per annotated key, at the resolution
    assert key == 16 and vm.prompted == [16]  # round(2.0 s · 8 fps)
    assert vm.complete  # propagated forward and backward from the key frame
    truth = check_row(r).truth
    js = [mask_iou(vm.mask(k), decode_rle(truth.rles[key], 192, 144)) for k, key in enumerate(truth.frames)]
    fs = [boundary_f_measure(vm.mask(k), decode_rle(truth.rles[key], 192, 144)) for k, key in enumerate(truth.frames)]
    assert out["reward"]["J"] == pytest.approx(np.mean(js)) and out["reward"]["F"] == pytest.approx(np.mean(fs))
    assert out["accuracy"] == pytest.approx((np.mean(js) + np.mean(fs)) / 2)
    assert set(out["components"]) == {"J", "F", "J&F"}


def test_image_row_with_segment_anything(example_rows, media_root):
    from onethinker.segment.sam1 import SamV1Segmenter
    from tests.segment.tiny import tiny_sam1

    r = seg_row(example_rows, "image")
    out = score_row({**r, "output": R({"boxes": [539, 406, 797, 750]})}, media_root=media_root,
                    segmenter=SamV1Segmenter(model=tiny_sam1(), device="cpu"))
    assert out["error"] is None and 0.0 <= out["reward"]["IoU"] <= 1.0 and out["reward"]["union"] > 0


def test_segmentation_without_a_segmenter_keeps_or_asks(example_rows):
    r = {**seg_row(example_rows, "image"), "output": R({"boxes": [0, 0, 1, 1]})}
    assert score_row(r)["error"]["kind"] == "not_segmented"
    official = {**r, "reward": {"IoU": 0.25, "inter": 5, "union": 20}, "status": "ok"}  # seg_post_sam2.py's record
    kept = score_row(official)
    assert kept["error"] is None and kept["accuracy"] == 0.25 and kept["reward"]["union"] == 20
    assert score_row({**official, "status": "no-prompts", "reward": None})["error"]["kind"] == "not_segmented"


def test_a_segmenter_failure_is_that_rows_error(example_rows, media_root):
    class Broken:
        name = "broken"

        def segment_image(self, image, prompt):
            raise RuntimeError("CUDA out of memory")

    r = {**seg_row(example_rows, "image"), "output": R({"boxes": [0, 0, 500, 500]})}
    out = score_row(r, media_root=media_root, segmenter=Broken())
    assert out["error"]["kind"] == "segmenter" and "out of memory" in out["error"]["message"]
    missing = score_row({**r, "path": "./gone.png"}, media_root=media_root, segmenter=Broken())
    assert missing["error"]["kind"] == "missing_media"
