"""The synthetic data generator: deterministic, exact, and in the formats its readers expect."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from onethinker.answer import parse
from onethinker.coords import CoordAdapter
from onethinker.rewards import score
from train.synthetic import GENERATORS, generate, make_samples
from train.synthetic.scene import COLOURS, box_of
from train.synthetic.write import response_text, schedule

EVERY_TASK = {name: 1.0 for name in GENERATORS}


def _digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def split(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("synthetic")
    generate(out, seed=7, sizes={"train": len(GENERATORS), "test": len(GENERATORS)}, mix=EVERY_TASK)
    return out


def test_same_seed_same_bytes_and_other_seed_other_bytes(split, tmp_path):
    generate(tmp_path / "again", seed=7, sizes={"train": len(GENERATORS), "test": len(GENERATORS)}, mix=EVERY_TASK)
    assert _digest(split) == _digest(tmp_path / "again")
    generate(tmp_path / "other", seed=8, sizes={"train": len(GENERATORS)}, mix=EVERY_TASK)
    first = _digest(split / "train")
    other = _digest(tmp_path / "other" / "train")
    assert first["sft.json"] != other["sft.json"]


def test_worker_processes_write_the_same_bytes(split, tmp_path):
    generate(tmp_path / "pool", seed=7, sizes={"train": len(GENERATORS), "test": len(GENERATORS)}, mix=EVERY_TASK,
             workers=3)
    assert _digest(split) == _digest(tmp_path / "pool")


def test_splits_come_from_different_seeds(split):
    train = json.loads((split / "train" / "meta.json").read_text())
    test = json.loads((split / "test" / "meta.json").read_text())
    assert train["seed"] != test["seed"]
    assert (split / "train" / "sft.json").read_bytes() != (split / "test" / "sft.json").read_bytes()


def test_schedule_covers_every_task_in_proportion():
    names = schedule(220, EVERY_TASK, seed=1)
    assert {n: names.count(n) for n in GENERATORS} == {n: 20 for n in GENERATORS}
    with pytest.raises(ValueError, match="unknown synthetic task"):
        schedule(10, {"juggling": 1.0}, seed=1)


@pytest.mark.parametrize("name", sorted(GENERATORS))
def test_every_answer_scores_full_accuracy_against_itself(name):
    for _, s in make_samples(6, seed=11, mix={name: 1.0}):
        response = response_text(s)
        truth = f"<answer>{s.answer.answer_text()}</answer>"
        result = score(response, truth, s.task, s.data_type)
        assert result.error is None
        assert (result.format, result.accuracy) == (1.0, 1.0), (name, response)
        parsed = parse(response, s.task, data_type=s.data_type)
        assert parsed.ok and parsed.payload == s.answer and not parsed.warnings, (name, parsed)


@pytest.mark.parametrize("name", ["mc-image", "mc-video"])
def test_multiple_choice_reasoning_reads_the_options_in_order_up_to_the_answer(name):
    for _, s in make_samples(40, seed=5, mix={name: 1.0}):
        letter = s.answer.answer_text()
        read = re.search(r"Option A is (.*)\. So the answer is option ([A-D])\.$", s.think)
        assert read and read.group(2) == letter, s.think
        values = [o.split(". ", 1)[1] for o in s.options]
        # every option from A to the answer, with its own value, and none after it
        assert read.group(1).split(", ") == [values[0]] + [f"option {'ABCD'[i]} is {v}" for i, v in
                                                           enumerate(values[1:"ABCD".index(letter) + 1], 1)]
        value = values["ABCD".index(letter)]
        if s.question.startswith("What colour is the"):  # marked where the listing names it, colour first
            kind = s.question.removeprefix("What colour is the ").rstrip("?")
            entry, tail = f"a {value} {kind} asked about, {value}", f"The one asked about, {value}."
            plain = f"a {value} {kind}"
        elif s.question.startswith("Which shape is"):
            colour = s.question.removeprefix("Which shape is ").rstrip("?")
            entry, tail = f"a {colour} one asked about, a {value}", f"The one asked about, a {value}."
            plain = f"a {colour} {value}"
        else:
            continue
        # the listing is the plain scene with exactly the asked shape's entry marked, and the answer is copied
        # from after the mark
        listed = re.match(r"The image shows (.*?)\. The one asked about", s.think).group(1)
        assert listed.count("asked about") == 1 and entry in listed, s.think
        assert listed.replace(entry, plain) == s.meta["scene"]
        assert f" {tail} Option A is " in s.think, s.think


def test_spatial_reasoning_lists_each_shape_left_to_right_with_its_box_marks_the_asked_one_then_repeats_its_box():
    for _, s in make_samples(30, seed=8, mix={"spatial": 1.0}):
        listed = re.fullmatch(r"The image shows (.*)\. The one asked about at (\[[0-9, ]+\])\.", s.think)
        assert listed, s.think
        entries = re.findall(r"a (\w+ \w+)( asked about)? at (\[[0-9, ]+\])", listed.group(1))
        assert len(entries) == listed.group(1).count(" at [")  # every entry read
        items = [(name, box) for name, _, box in entries]
        boxes = [json.loads(b) for _, b in items]
        assert [x1 for x1, *_ in boxes] == sorted(x1 for x1, *_ in boxes)  # left to right
        asked = [(name, box) for name, mark, box in entries if mark]
        assert len(asked) == 1 and s.question == f"Find the {asked[0][0]}."  # exactly the asked shape is marked
        assert asked[0][1] == listed.group(2)  # the repeat is the marked entry's box
        assert json.loads(listed.group(2)) == [int(v) for v in s.answer.box]  # the answer repeats the listed box
        h, w = s.image.shape[:2]
        for name, box in items:  # every listed box is that shape's own: inside it, mostly the shape's colour
            x1, y1, x2, y2 = (round(v) for v in CoordAdapter(w, h).box_to_pixels(json.loads(box)).value)
            inside = np.all(s.image[y1:y2, x1:x2] == COLOURS[name.split()[0]], axis=-1)
            assert inside.mean() > 0.3, (name, box, s.think)


def test_rows_have_the_keys_their_readers_use(split):
    folder = split / "train"
    sft = json.loads((folder / "sft.json").read_text())
    rl = json.loads((folder / "rl.json").read_text())
    ev = json.loads((folder / "eval.json").read_text())
    assert len(sft) == len(rl) == len(ev) == len(GENERATORS)
    for s_row, r_row, e_row in zip(sft, rl, ev):
        media = s_row.get("images", []) + s_row.get("videos", [])
        user, assistant = s_row["messages"]
        assert user["content"].count("<image>") + user["content"].count("<video>") == len(media) == 1
        assert assistant["content"].startswith("<think>") and assistant["content"].endswith("</answer>")
        assert r_row["problem"].count("<image>") + r_row["problem"].count("<video>") == 1
        assert f"<answer>{r_row['answer']}</answer>" == e_row["solution"] and e_row["path"] == media[0]
        assert (folder / e_row["path"]).is_file()
        assert {"problem_type", "data_type", "options", "problem_reserved_text", "problem_id"} <= set(r_row)
        assert "problem_id" in e_row
    info = json.loads((folder / "dataset_info.json").read_text())
    assert next(iter(info.values()))["formatting"] == "sharegpt"


def _decode_rle(rle: dict) -> np.ndarray:
    from pycocotools import mask as mask_utils

    return mask_utils.decode({"size": rle["size"], "counts": rle["counts"].encode("ascii")}).astype(bool)


def test_segmentation_truth_matches_the_answer(split):
    rows = [r for r in json.loads((split / "train" / "eval.json").read_text()) if r["problem_type"] == "segmentation"]
    assert {r["data_type"] for r in rows} == {"image", "video"}
    for row in rows:
        answer = json.loads(row["solution"][len("<answer>"):-len("</answer>")])
        w, h = row["resolution"]["width"], row["resolution"]["height"]
        out = row["segmentation_output"]
        if row["data_type"] == "image":
            mask = _decode_rle(out["segmentation_rle"])
        else:
            assert out["frames"] == sorted(out["segmentation_rle"])
            key = out["frames"][round(answer["time"] * row["fps"])]  # the official key-frame rule
            mask = _decode_rle(out["segmentation_rle"][key])
        assert mask.shape == (h, w)
        adapter = CoordAdapter(w, h)
        assert list(adapter.box_from_pixels_int(box_of(mask)).value) == answer["boxes"]
        for points, inside in ((answer["positive_points"], True), (answer["negative_points"], False)):
            for p in points:
                x, y = adapter.point_to_pixels(p).value
                assert mask[min(int(y), h - 1), min(int(x), w - 1)] == inside, (row["problem_id"], p, inside)


def _frames(path: Path) -> list[np.ndarray]:
    import imageio_ffmpeg

    reader = imageio_ffmpeg.read_frames(str(path))
    meta = next(reader)
    w, h = meta["size"]
    return [np.frombuffer(f, np.uint8).reshape(h, w, 3) for f in reader]


def _colour_box(frame: np.ndarray, colour: str):
    near = np.abs(frame.astype(int) - np.array(COLOURS[colour])).sum(axis=2) < 60
    return box_of(near)


def test_tracking_keys_are_true_positions_in_the_decoded_video(split):
    rows = json.loads((split / "train" / "eval.json").read_text())
    row = next(r for r in rows if r["problem_type"] == "tracking")
    colour = row["problem"].split()[2]
    frames = _frames(split / "train" / row["path"])
    h, w = frames[0].shape[:2]
    fps = 4
    boxes = json.loads(row["solution"][8:-9])["boxes"]
    adapter = CoordAdapter(w, h)
    for key, box in boxes.items():
        frame = frames[(int(key) - 1) * fps]  # key "1" is the first frame (t = 0 s)
        seen = adapter.box_from_pixels(_colour_box(frame, colour)).value
        assert np.abs(np.array(seen) - np.array(box)).max() <= 20, (key, seen, box)


def test_image_boxes_match_the_pixels(split):
    rows = json.loads((split / "train" / "eval.json").read_text())
    row = next(r for r in rows if r["problem_type"] == "spatial grounding")
    colour = row["problem"].split()[2]
    pixels = np.asarray(Image.open(split / "train" / row["path"]).convert("RGB"))
    h, w = pixels.shape[:2]
    seen = CoordAdapter(w, h).box_from_pixels_int(_colour_box(pixels, colour)).value
    assert list(seen) == json.loads(row["solution"][8:-9])["boxes"]


def test_cli_help_and_bad_mix(tmp_path):
    from train.synthetic.__main__ import main

    with pytest.raises(SystemExit) as e:
        main(["--help"])
    assert e.value.code == 0
    assert main(["--out", str(tmp_path), "--train", "2", "--validation", "0", "--test", "0",
                 "--mix", '{"juggling": 1}']) == 2


def test_rows_load_under_the_official_readers_rules(split):
    from tests.feedback.official_readers import load_rl_row, read_eval_row

    folder = split / "train"
    for row in json.loads((folder / "rl.json").read_text()):
        load_rl_row(row, folder)  # raises Refused where the official RL loader would fail
    for row in json.loads((folder / "eval.json").read_text()):
        read_eval_row(row, folder)
