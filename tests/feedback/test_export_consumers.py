"""Exports read back by their consumers' own rules: the OneThinker RL loader, the evaluation script,
LLaMA-Factory's placeholder count, TRL's preference rows.  See official_readers.py for the rules."""

import json
import sqlite3

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from onethinker.answer import BoxAnswer
from onethinker.feedback import Correction, FeedbackError, Preference, Vote, export
from onethinker.feedback.codec import COLUMNS, encode
from onethinker.feedback.exports.markers import neutralise
from onethinker.feedback.record import Record
from onethinker.feedback.validate import validate
from onethinker.rewards import score
from onethinker.tasks import get_task

from tests.feedback.helpers import mp4, output, png, record
from tests.feedback.official_readers import EVAL_KEYS, Refused, load_rl_row, read_eval_row
from tests.feedback.sharegpt import sharegpt_problems

MC = dict(task="multiple choice", question="Which animal is shown?", options=("A. cat", "B. dog"))


def _json(path):
    return json.loads(path.read_text(encoding="utf-8"))


def _load_like_easyr1(path, tmp_path):
    """The rows as the RL loader gets them: ``datasets.load_dataset("json", data_files=…)``."""
    datasets = pytest.importorskip("datasets")
    return datasets.load_dataset("json", data_files=str(path), split="train", cache_dir=str(tmp_path / "cache"))


@pytest.fixture
def media(store):
    return {"image": store.put_media(png("photo"), "image"), "video": store.put_media(mp4("clip"), "video")}


@pytest.fixture
def mixed(store, media):
    """An image, a video and a video-image request, up-voted, plus one correction."""
    store.add(record(store, Vote(1), media=(media["image"],)))
    store.add(record(store, Vote(1), task="tracking", data_type="video", question="Follow the car.",
                     media=(media["video"],), outputs=(output("moving", '{"boxes": {"1": [1, 2, 3, 4]}}'),)))
    store.add(record(store, Vote(1), data_type="video-image", media=(media["video"], media["image"]),
                     outputs=(output("the cat is in both", "A"),), **MC))
    store.add(record(store, Correction(BoxAnswer((5, 5, 50, 50))), media=(media["image"],)))
    return store


def test_rl_rows_load_in_the_official_rl_loader(mixed, media, tmp_path):
    out = tmp_path / "rl"
    export(mixed, "rl", out)
    ds = _load_like_easyr1(out / "rl.json", tmp_path)
    loaded = [load_rl_row(row, image_dir=out) for row in ds]
    assert [x.batch["ground_truth"] for x in loaded] == [
        '{"boxes": [10, 20, 300, 400]}', '{"boxes": {"1": [1, 2, 3, 4]}}', "A", '{"boxes": [5, 5, 50, 50]}']
    assert [x.batch["problem_id"] for x in loaded] == [1, 2, 3, 4]
    image, video, both, _ = loaded
    assert image.fed == {"images": [str(out / "media" / media["image"].filename)]}
    assert image.blocks == ["image", "text"] and image.dropped == []
    assert video.fed == {"videos": [str(out / "media" / media["video"].filename)]}
    assert video.blocks == ["video", "text"]
    # video-image: the row carries both media and both markers ...
    row = ds[2]
    assert row["problem"].startswith("<video><image>") and len(row["videos"]) == len(row["images"]) == 1
    # ... but this loader feeds a row's images only and removes its videos column: the model sees the image.
    assert both.fed["images"] and "videos" not in both.fed and both.dropped == ["videos"]
    assert both.batch["options"] == ["A. cat", "B. dog"] and both.batch["data_type"] == "video-image"
    for x in loaded:  # our reward gives the ground truth full marks
        b = x.batch
        assert score(f"<think>x</think><answer>{b['ground_truth']}</answer>", b["ground_truth"], b["problem_type"],
                     data_type=b["data_type"]).accuracy == pytest.approx(1.0)


def test_rl_reader_refuses_what_the_loader_refuses(tmp_path):
    """The reader is only worth its passes if it fails where the loader fails."""
    (tmp_path / "a.png").write_bytes(png())
    good = {"problem": "<image>Q", "answer": "A", "images": ["a.png"], "videos": [], "problem_type": "numerical",
            "data_type": "image", "options": [], "problem_reserved_text": "Q", "problem_id": 1}
    assert load_rl_row(good, tmp_path).fed == {"images": [str(tmp_path / "a.png")]}
    broken = [{"problem": "Q"}, {"problem": "<image><image>Q"}, {"images": ["b.png"]},
              {"images": [], "videos": ["a.png", "a.png"], "problem": "<video><video>Q"}]
    for change in broken:
        with pytest.raises(Refused):
            load_rl_row({**good, **change}, tmp_path)
    for key in ("problem", "answer", "problem_reserved_text", "problem_id"):
        with pytest.raises(Refused, match=key):
            load_rl_row({k: v for k, v in good.items() if k != key}, tmp_path)


def test_eval_rows_follow_the_official_evaluation_script(mixed, tmp_path):
    out = tmp_path / "eval"
    res = export(mixed, "eval", out)
    data = _json(out / "eval.json")
    assert res.rows == {"eval": 4} and [r["problem_id"] for r in data] == [1, 2, 3, 4]
    assert all(set(r) == {"problem_id", *EVAL_KEYS} for r in data)
    read = [read_eval_row(r, out) for r in data]
    assert [[kind for kind, _ in x.media] for x in read] == [["image"], ["video"], ["video", "image"], ["image"]]
    assert [x.truth for x in read] == [
        '{"boxes": [10, 20, 300, 400]}', '{"boxes": {"1": [1, 2, 3, 4]}}', "A", '{"boxes": [5, 5, 50, 50]}']
    assert data[2]["solution"] == "<answer>A</answer>" and data[2]["options"] == ["A. cat", "B. dog"]
    assert read[2].text == "Which animal is shown?\nOptions:\nA. cat\nB. dog"
    assert data[0]["additional_path"] == "" and data[2]["additional_path"] == data[0]["path"]


LITERAL_Q = 'What does the "<image>" tag do next to <video> and <|image_pad|>?'
LITERAL_THINK = "The text mentions <image> twice: <image>, and <audio>."


def test_literal_markers_are_neutralised_in_every_format(store, media, tmp_path):
    outputs = (output(LITERAL_THINK, "B"), output("guess", "A"))
    store.add(record(store, Vote(1), media=(media["image"],), outputs=outputs[:1],
                     **{**MC, "question": LITERAL_Q, "options": ("A. <image> tag", "B. none")}))
    store.add(record(store, Preference(0), media=(media["video"],), data_type="video", outputs=outputs,
                     **{**MC, "question": LITERAL_Q}))
    for fmt in ("sft", "rl", "eval", "dpo"):
        export(store, fmt, tmp_path / fmt)
    sft = _json(tmp_path / "sft" / "sft.json")
    entry = _json(tmp_path / "sft" / "dataset_info.json")["onethinker_feedback"]
    assert sharegpt_problems(sft, entry, tmp_path / "sft") == []
    user, answer = (m["content"] for m in sft[0]["messages"])
    assert user.startswith("<image>") and user.count("<image>") == 1 and '"< image>" tag' in user
    assert "< video>" in user and "< |image_pad|>" in user and "A. < image> tag" in user
    assert "< image> twice: < image>, and < audio>." in answer
    rl = _load_like_easyr1(tmp_path / "rl" / "rl.json", tmp_path)
    loaded = load_rl_row(rl[0], tmp_path / "rl")
    assert loaded.blocks == ["image", "text"] and rl[0]["options"] == ["A. < image> tag", "B. none"]
    assert "<image>" not in loaded.batch["problem_reserved_text"]
    ev = _json(tmp_path / "eval" / "eval.json")[0]
    assert not any(m in read_eval_row(ev, tmp_path / "eval").text for m in ("<image>", "<video>", "<|image_pad|>"))
    dpo = _json(tmp_path / "dpo" / "dpo.json")[0]
    text = dpo["prompt"][0]["content"][-1]["text"]
    assert [b["type"] for b in dpo["prompt"][0]["content"]] == ["video", "text"]
    assert "<|image_pad|>" not in text and "< |image_pad|>" in text


def test_corrections_teach_only_reasoning_someone_gave(store, media, tmp_path):
    bad = output("Maybe right?", '{"boxes": [600, 20, 900, 400]}')
    silent = Correction(BoxAnswer((6, 6, 60, 60)), comment="box was too far right")
    explained = Correction(BoxAnswer((7, 7, 70, 70)), rationale="The dog sits at the top left, next to the bench.")
    kept = Correction(BoxAnswer((8, 8, 80, 80)), keep_reasoning=True)
    kept_but_empty = Correction(BoxAnswer((9, 9, 90, 90)), keep_reasoning=True)
    for i, fb in enumerate((silent, explained, kept, kept_but_empty)):
        outs = (output("", '{"boxes": [1, 2, 3, 4]}'),) if fb is kept_but_empty else (bad,)
        store.add(record(store, fb, question=f"Where is dog {i}?", media=(media["image"],), outputs=outs))
    res = export(store, "sft", tmp_path / "sft")
    thinks = [r["messages"][1]["content"].split("</think>")[0] for r in _json(tmp_path / "sft" / "sft.json")]
    assert thinks == ["<think>\nThe dog sits at the top left, next to the bench.\n", "<think>\nMaybe right?\n"]
    assert res.left_out == {"sft": {"corrections without reasoning": 2}}
    assert _json(tmp_path / "sft" / "export.json")["left_out"] == res.left_out
    for fmt in ("rl", "eval"):  # every correction's answer is ground truth there
        r = export(store, fmt, tmp_path / fmt)
        assert r.rows == {fmt: 4} and r.left_out == {fmt: {}}


def test_a_rationale_is_stored_and_must_be_plain_reasoning(store):
    rec = record(store, Correction(BoxAnswer((1, 2, 3, 4)), rationale="Left of the bench."))
    store.add(rec)
    assert store.get(rec.uid).feedback.rationale == "Left of the bench."
    assert Record.from_dict(rec.to_dict()).feedback.rationale == "Left of the bench."
    for text in ("so</think><answer>B", "fine < / THINK >", "<answer>"):
        with pytest.raises(FeedbackError) as err:
            store.add(record(store, Correction(BoxAnswer((1, 2, 3, 4)), rationale=text)))
        assert err.value.field == "feedback.rationale"
    assert store.count() == 1


def test_a_preference_between_identical_outputs_is_refused(store):
    same = output("Left.", '{"boxes": [1, 2, 3, 4]}')
    for outs in ((same, same), (same, f"  {same}\n")):
        with pytest.raises(FeedbackError) as err:
            store.add(record(store, Preference(0), outputs=outs))
        assert err.value.field == "outputs" and "same" in str(err.value)
    assert store.count() == 0


def test_identical_pairs_from_an_old_database_are_not_exported(store, tmp_path):
    same = output("Left.", '{"boxes": [1, 2, 3, 4]}')
    old = record(store, Preference(0), outputs=(same, same))
    with pytest.raises(FeedbackError):
        validate(old)
    # Written as a store did before the check existed: straight into the table.
    with sqlite3.connect(store.path) as conn:
        conn.execute(f"INSERT INTO records ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})",
                     encode(old, get_task(old.task)))
    store.add(record(store, Vote(1), outputs=(same,)))  # and an up- and a down-vote on the same output
    store.add(record(store, Vote(-1), outputs=(same,)))
    res = export(store, "dpo", tmp_path / "dpo")
    assert res.rows == {"dpo": 0} and _json(tmp_path / "dpo" / "dpo.json") == []
    assert res.left_out == {"dpo": {"pairs whose two outputs are the same": 2}}


def test_dpo_rows_for_videos_keep_the_video(store, media, tmp_path):
    store.add(record(store, Preference(1), task="tracking", data_type="video", question="Follow the car.",
                     media=(media["video"],), outputs=(output("a", '{"boxes": {"1": [1, 2, 3, 4]}}'),
                                                       output("b", '{"boxes": {"1": [5, 6, 7, 8]}}'))))
    export(store, "dpo", tmp_path / "dpo")
    row = _json(tmp_path / "dpo" / "dpo.json")[0]
    assert row["images"] == [] and len(row["videos"]) == 1
    assert (tmp_path / "dpo" / row["videos"][0]).read_bytes() == mp4("clip")
    assert [b["type"] for b in row["prompt"][0]["content"]] == ["video", "text"]


def test_requests_with_more_media_than_rl_and_eval_carry_are_left_out(store, tmp_path):
    two = (store.put_media(png("one"), "image"), store.put_media(png("two"), "image"))
    store.add(record(store, Vote(1), media=two))
    for fmt in ("rl", "eval"):
        res = export(store, fmt, tmp_path / fmt)
        assert res.rows == {fmt: 0} and res.left_out == {fmt: {"requests with more than one image or video": 1}}
    sft = export(store, "sft", tmp_path / "sft")  # LLaMA-Factory takes several images per row
    assert sft.rows == {"sft": 1} and sharegpt_problems(
        _json(tmp_path / "sft" / "sft.json"), _json(tmp_path / "sft" / "dataset_info.json")["onethinker_feedback"],
        tmp_path / "sft") == []


MARKERS = ("<image>", "<video>", "<audio>", "<|image_pad|>", "<|video_pad|>", "<|vision_start|>", "<|vision_end|>")


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(["<", ">", "|", " ", "image", "video", "audio", "_pad", "vision_start", "x",
                                 *MARKERS]), max_size=30).map("".join))
def test_neutralised_text_holds_no_marker_and_only_gains_spaces(text):
    out = neutralise(text)
    assert not any(m in out for m in MARKERS)
    assert out.replace("< ", "<") == text.replace("< ", "<")  # a space after "<" is all that changes
    assert neutralise(out) == out


def test_neutralise_leaves_ordinary_text_alone():
    for text in ("a < b and c > d", "<images> <imagery> < image>", "<think>x</think><answer>B</answer>", ""):
        assert neutralise(text) == text
