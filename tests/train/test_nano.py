"""train.nano's pieces without training: the colour segmenter, resumable stages, failure picking, the report."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace

import numpy as np
import pytest

from onethinker.segment.base import PixelPrompt
from train.nano.evidence import pick_failures, reasoning_of
from train.nano.report import goal_errors, goals, task_metrics
from train.nano.segmenter import ColourSegmenter
from train.nano.stages import Stage, StageState, run_stages
from train.synthetic.samples import segmentation_image, segmentation_video


def _prompt(sample, w, h) -> PixelPrompt:
    from onethinker.coords import CoordAdapter

    a, p = CoordAdapter(w, h), sample.answer
    return PixelPrompt(a.box_to_pixels(list(p.box)).value, tuple(a.point_to_pixels(list(q)).value for q in p.positive_points),
                       tuple(a.point_to_pixels(list(q)).value for q in p.negative_points))


def _iou(a, b) -> float:
    return (a & b).sum() / max(1, (a | b).sum())


def test_colour_segmenter_recovers_the_shape_from_the_true_prompt():
    seg = ColourSegmenter()
    for i in range(5):
        s = segmentation_image(np.random.default_rng([3, i]))
        h, w = s.image.shape[:2]
        mask = seg.segment_image(s.image, _prompt(s, w, h)).mask
        assert _iou(mask, s.masks[0]) > 0.95
        off = PixelPrompt((0, 0, 3, 3), ((1.0, 1.0),), ())  # the background corner: not the shape
        assert _iou(seg.segment_image(s.image, off).mask, s.masks[0]) == 0


def test_colour_segmenter_follows_the_shape_through_a_video():
    s = segmentation_video(np.random.default_rng([4, 0]))
    scene = s.video

    class Frames:  # the FramesLike protocol over the scene's exact frames
        size = (scene.width, scene.height)

        def __len__(self):
            return scene.num_frames

        def get(self, i):
            return type("F", (), {"image": scene.frame(i)})

    key = scene.frame_index(s.answer.time)
    masks = ColourSegmenter().segment_video(Frames(), key, _prompt(s, scene.width, scene.height))
    ious = [_iou(masks.mask(i), s.masks[i]) for i in range(scene.num_frames) if s.masks[i].any()]
    assert masks.complete and min(ious) > 0.9


def test_stages_skip_what_is_unchanged_and_rerun_what_changed(tmp_path):
    calls = []

    def make(name, key):
        out = tmp_path / f"{name}.txt"
        return Stage(name, key, out, lambda: (calls.append(name), out.write_text(key))[-1] and None)

    state = StageState(tmp_path)
    assert run_stages([make("a", "1"), make("b", "1")], state) == ["a", "b"]
    assert run_stages([make("a", "1"), make("b", "1")], StageState(tmp_path)) == []  # read back from stages.json
    assert run_stages([make("a", "1"), make("b", "2")], StageState(tmp_path)) == ["b"]
    (tmp_path / "a.txt").unlink()  # an output that went missing reruns its stage
    assert run_stages([make("a", "1"), make("b", "2")], StageState(tmp_path)) == ["a"]
    assert run_stages([make("a", "1")], StageState(tmp_path), force=True) == ["a"]
    assert json.loads((tmp_path / "stages.json").read_text())["b"]["key"] == "2"


def _row(task, acc, fmt=1.0, **kw):
    return {"task": task, "problem_type": kw.pop("problem_type", task), "accuracy": acc, "format": fmt,
            "output": "<think>x</think><answer>y</answer>", "data_type": kw.pop("data_type", "image"), **kw}


def test_failures_are_picked_round_robin_over_tasks():
    rows = [_row("spatial grounding", 0.1, problem_id=f"s{i}") for i in range(5)]
    rows += [_row("multiple choice", 0.0, problem_id="m0"), _row("multiple choice", 1.0, problem_id="m1"),
             _row("numerical", 1.0, 0.0, problem_id="n0"), {**_row("tracking", 0.0), "output": None}]
    picked = pick_failures(rows, 0.5, 4)
    assert [r["problem_id"] for r in picked] == ["m0", "n0", "s0", "s1"]  # malformed counts; unasked rows do not
    assert reasoning_of("<think>\nThe red circle is left.\n</think>\n<answer>A</answer>") == "The red circle is left."


def test_report_metrics_per_task_and_goals():
    rows = [_row("spatial grounding", 0.6, components={"iou": 0.6}, problem_type="spatial grounding"),
            _row("spatial grounding", 0.2, components={"iou": 0.2}, problem_type="spatial grounding"),
            _row("temporal grounding", 0.7, components={"tiou": 0.7}, data_type="video"),
            _row("multiple choice", 1.0, 0.0)]
    m = task_metrics(rows)
    assert m["spatial grounding"]["iou"] == pytest.approx(0.4) and m["temporal grounding"]["tiou"] == 0.7
    assert m["all"]["format"] == 0.75 and m["all"]["count"] == 4
    met = {what: ok for what, _, _, ok in goals(m)}
    assert met == {"format rate": False, "multiple-choice accuracy": True, "spatial-grounding mean IoU": False,
                   "temporal-grounding mean tIoU": True}


def test_goal_standard_errors_count_the_goal_rows_only():
    rows = [_row("spatial grounding", 0.6, components={"iou": 0.6}),
            _row("spatial grounding", 0.2, components={"iou": 0.2}),
            _row("multiple choice", 1.0), _row("multiple choice", 0.0), _row("multiple choice", 1.0, 0.0),
            _row("temporal grounding", 0.5, components={"tiou": 0.5})]
    e = goal_errors(rows)
    assert e["spatial-grounding mean IoU"] == (2, pytest.approx(0.2))  # std 0.2828 over √2
    assert e["multiple-choice accuracy"] == (3, pytest.approx((1 / 3) ** 0.5 / 3 ** 0.5))  # std of 1, 0, 1 is √(1/3)
    assert e["format rate"] == (6, pytest.approx((1 / 6) ** 0.5 / 6 ** 0.5))  # five 1s and a 0: std √(1/6)
    assert e["temporal-grounding mean tIoU"] == (1, None)  # one row: no spread to measure


def test_help_names_the_stages_and_options():
    out = subprocess.run([sys.executable, "-m", "train.nano", "--help"], capture_output=True, text=True, check=True)
    for word in ("EMA-GRPO", "resumable", "--recipe", "--out", "--publish", "--only", "--cpu"):
        assert word in out.stdout


@pytest.mark.slow
def test_quick_run_end_to_end_then_resumes_without_work(tmp_path):
    """Every stage on a tiny model (a few training steps): results, report, log, published checkpoint; a rerun
    finds every stage up to date."""
    from train.nano.pipeline import MODELS, NanoRun, setup_logging
    from train.nano.recipe import QUICK

    out, report, publish = tmp_path / "run", tmp_path / "reports" / "nano.md", tmp_path / "models" / "nano"
    run = NanoRun(out, QUICK, report=report, publish=publish, command="python -m train.nano --recipe quick")
    setup_logging(out / "train.log")
    ran = run.run()
    assert ran == [s.name for s in run.stages()]
    for m in MODELS:
        assert json.loads((out / "eval" / f"{m}.json").read_text())["metrics"]["overall/count"] == QUICK.test_size
    text = report.read_text()
    for needle in ("Goals after EMA-GRPO", "after plain GRPO", "J&F", "The loop", "colour-region"):
        assert needle in text
    log_text = report.with_suffix(".log").read_text()
    assert "sft step" in log_text and "language step" in log_text  # the trainers' metrics reach the log
    assert "held-out drills answered right" in log_text
    drills = json.loads((out / "stages.json").read_text())["language"]["info"]["held_out"]
    assert set(drills) <= {"colour", "shape", "count", "all"} and 0 <= drills["all"] <= 1
    assert "Language warm-up" in text
    evidence = json.loads((out / "loop" / "evidence.json").read_text())
    assert evidence["records"] == evidence["cases"] == QUICK.loop.max_cases
    from onethinker.engine import load_profile

    assert (publish / "README.md").is_file() and load_profile(publish).video == QUICK.media.video()
    assert NanoRun(out, QUICK, report=report, publish=publish,
                   command="python -m train.nano --recipe quick").run() == []


def test_sampler_steps_are_random_mixtures_sorted_by_length():
    from train.nano.sampler import MixedStepLengthSortedSampler

    lengths = [i % 7 * 10 + i for i in range(50)]
    s = MixedStepLengthSortedSampler(lengths, 8, seed=3)
    first = list(s)
    assert len(first) == len(s) == 48 and len(set(first)) == 48  # whole steps, no repeats
    steps = [first[i:i + 8] for i in range(0, 48, 8)]
    assert all([lengths[i] for i in st] == sorted(lengths[i] for i in st) for st in steps)
    assert sorted(first) != first and list(MixedStepLengthSortedSampler(lengths, 8, seed=3)) == first
    s.set_epoch(1)
    assert list(s) != first  # a new draw each epoch


def test_time_limit_stops_training_at_a_step_boundary():
    from types import SimpleNamespace

    from train.nano.pipeline import _time_limit

    for minutes, stops in ((0.0, True), (60.0, False), (None, False)):
        cb, control = _time_limit(minutes), SimpleNamespace(should_training_stop=False)
        state = SimpleNamespace(global_step=3, max_steps=10)
        cb.on_train_begin(None, state, control)
        cb.on_step_end(None, state, control)
        assert control.should_training_stop is stops


def _position_r2(init: str, tmp_path) -> float:
    """R² of a least-squares read-out of each merged image token's (row, column) from the untrained vision tower's
    output, fitted on half of 24 synthetic pictures and measured on the other half."""
    import torch
    from PIL import Image
    from transformers import AutoModelForImageTextToText, AutoProcessor

    from train.nano.build import build_nano
    from train.nano.recipe import QUICK
    from train.synthetic.samples import spatial_grounding_image

    folder = build_nano(tmp_path / init, ["a red circle", "0 1 2 3"], replace(QUICK.model, vision_position_init=init))
    proc, model = AutoProcessor.from_pretrained(folder), AutoModelForImageTextToText.from_pretrained(folder).eval()
    feats, where = [], []
    for i in range(24):
        picture = Image.fromarray(spatial_grounding_image(np.random.default_rng([5, i])).image)
        pix = proc.image_processor(images=[picture], return_tensors="pt")
        with torch.no_grad():
            merged = model.model.visual(pix["pixel_values"], grid_thw=pix["image_grid_thw"]).pooler_output
        _, h, w = (int(v) // m for v, m in zip(pix["image_grid_thw"][0], (1, 2, 2)))
        rows, cols = np.meshgrid((np.arange(h) + 0.5) / h, (np.arange(w) + 0.5) / w, indexing="ij")
        feats.append(merged.numpy())
        where.append(np.stack([rows.ravel(), cols.ravel()], 1))
    half = 12
    x_fit, y_fit = np.concatenate(feats[:half]), np.concatenate(where[:half])
    x_new, y_new = np.concatenate(feats[half:]), np.concatenate(where[half:])
    w_fit = np.linalg.lstsq(np.c_[x_fit, np.ones(len(x_fit))], y_fit, rcond=None)[0]
    err = ((np.c_[x_new, np.ones(len(x_new))] @ w_fit - y_new) ** 2).sum()
    return float(1 - err / ((y_new - y_new.mean(0)) ** 2).sum())


def test_sincos_position_init_lets_every_image_token_know_where_it_is(tmp_path):
    """With the library's random position table an untrained tower's tokens carry no readable position (the first
    nano run's tower had not learned one after 4,362 steps either); the sine/cosine table makes it readable."""
    from train.nano.build import sincos_grid

    grid = sincos_grid(16, 32)
    assert grid.shape == (256, 32) and grid[0, :8].abs().max() == 0 and not grid[17].equal(grid[18])
    assert _position_r2("sincos", tmp_path) > 0.8  # measured 0.92 (the 5 M nano tower, untrained: 0.97)
    assert _position_r2("random", tmp_path) < 0.3  # measured -0.33


def test_a_forced_full_rerun_starts_a_fresh_log_and_a_forced_stage_keeps_it(tmp_path, monkeypatch):
    from train.nano import __main__ as cli
    from train.nano.pipeline import NanoRun

    calls = []
    monkeypatch.setattr(NanoRun, "run", lambda self, force=False, only=None: calls.append((force, only)) or [])
    log = tmp_path / "train.log"
    log.write_text("the earlier run\n")
    assert cli.main(["--out", str(tmp_path), "--recipe", "quick", "--report", "", "--publish", "", "--force",
                     "--only", "sft"]) == 0
    assert log.read_text().startswith("the earlier run")  # one stage forced: the run's log goes on
    assert cli.main(["--out", str(tmp_path), "--recipe", "quick", "--report", "", "--publish", "", "--force"]) == 0
    assert (tmp_path / "train.log.previous").read_text().startswith("the earlier run")
    fresh = log.read_text()
    assert "the earlier run" not in fresh and fresh.count("log started") == 1
    assert calls == [(True, ["sft"]), (True, None)]
