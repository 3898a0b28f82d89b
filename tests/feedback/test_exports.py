"""Exports: contents per format, dedup, determinism, atomic replacement and round trips through `datasets`.

The round trips load the files with `datasets`, check sft rows against LLaMA-Factory's sharegpt
column mapping, and read every export with the training loaders (`train.data`) without conversion.
"""

import json
from pathlib import Path

import pytest

from onethinker.answer import BoxAnswer
from onethinker.feedback import Correction, ExportOptions, Preference, Vote, export
from onethinker.feedback.exports import ExportError
from onethinker.feedback.exports.staging import recover
from onethinker.rewards import format_reward, score

from tests.feedback.helpers import mp4, output, png, record
from tests.feedback.sharegpt import sharegpt_problems

GOOD = output("The dog is on the left.", '{"boxes": [10, 20, 300, 400]}')
BAD = output("Maybe right?", '{"boxes": [600, 20, 900, 400]}')
PREFERRED = output("Left, next to the bench.", '{"boxes": [12, 22, 290, 410]}')


@pytest.fixture
def filled(store):
    """One record of each kind of feedback, plus an image and a video request."""
    store.add(record(store, Vote(1)))
    store.add(record(store, Vote(-1), outputs=(BAD,)))
    store.add(record(store, Correction(BoxAnswer((5, 5, 50, 50)), keep_reasoning=True)))
    store.add(record(store, Correction(BoxAnswer((6, 6, 60, 60))), outputs=(BAD,)))
    store.add(record(store, Preference(1), outputs=(BAD, PREFERRED)))
    store.add(record(store, Vote(1), task="multiple choice", question="Which?", options=("A. cat", "B. dog"),
                     outputs=(output("It barks.", "B"),)))
    store.add(record(store, Vote(1), task="tracking", data_type="video", question="Follow the car.",
                     outputs=(output("moving", '{"boxes": {"1": [1, 2, 3, 4], "2": [2, 3, 4, 5]}}'),)))
    store.add(record(store, Vote(1), task="captioning", outputs=(output("", "A dog."),)))
    store.add(record(store, Vote(1), outputs=(output("?", "no box"),)))  # up-voted but unparsable: not trainable
    return store


def rows(path: Path):
    return json.loads(path.read_text(encoding="utf-8"))


def test_sft_rows_follow_llama_factory_sharegpt(filled, tmp_path):
    res = export(filled, "sft", tmp_path / "sft")
    out = tmp_path / "sft"
    data = rows(out / "sft.json")
    assert res.rows == {"sft": len(data)} == {"sft": 6}  # 4 parsable up-votes + 2 corrections
    entry = json.loads((out / "dataset_info.json").read_text())["onethinker_feedback"]
    assert entry["file_name"] == "sft.json"
    assert sharegpt_problems(data, entry, out) == []
    answers = [r["messages"][1]["content"] for r in data]
    assert all(format_reward(a) == 1.0 for a in answers)
    assert answers[0] == "<think>\nThe dog is on the left.\n</think>\n<answer>{\"boxes\": [10, 20, 300, 400]}</answer>"
    assert "The dog is on the left." in answers[1] and '[5, 5, 50, 50]' in answers[1]  # reasoning kept
    assert ExportOptions().correction_note in answers[2] and "Maybe right" not in answers[2]
    video = next(r for r in data if r["videos"])
    assert video["messages"][0]["content"].startswith("<video>") and video["images"] == []
    assert (out / video["videos"][0]).read_bytes() == mp4()


def test_correction_reasoning_is_configurable(filled, tmp_path):
    note = export(filled, "sft", tmp_path / "a", ExportOptions(correction_reasoning="note", correction_note="fixed"))
    model = export(filled, "sft", tmp_path / "b", ExportOptions(correction_reasoning="model"))
    a, b = rows(tmp_path / "a" / "sft.json"), rows(tmp_path / "b" / "sft.json")
    assert note.rows == model.rows
    assert a[1]["messages"][1]["content"].startswith("<think>\nfixed\n</think>")
    assert b[2]["messages"][1]["content"].startswith("<think>\nMaybe right?\n</think>")


def test_rl_rows_are_onethinker_rows(filled, tmp_path):
    export(filled, "rl", tmp_path / "rl")
    data = rows(tmp_path / "rl" / "rl.json")
    assert [r["solution"] for r in data] == [
        '<answer>{"boxes": [10, 20, 300, 400]}</answer>', '<answer>{"boxes": [5, 5, 50, 50]}</answer>',
        '<answer>{"boxes": [6, 6, 60, 60]}</answer>', "<answer>B</answer>",
        '<answer>{"boxes": {"1": [1, 2, 3, 4], "2": [2, 3, 4, 5]}}</answer>', "<answer>A dog.</answer>",
    ]
    assert set(data[0]) == {"problem", "problem_type", "data_type", "path", "options", "solution"}
    mc = data[3]
    assert (mc["problem"], mc["problem_type"], mc["options"]) == ("Which?", "multiple choice", ["A. cat", "B. dog"])
    assert data[4]["data_type"] == "video" and data[5]["problem_type"] == "open-ended"
    assert all((tmp_path / "rl" / r["path"]).is_file() for r in data)
    for r in data:  # the solution scores full marks against itself with the OneThinker reward
        assert score(f"<think>x</think>{r['solution']}", r["solution"][8:-9], r["problem_type"],
                     data_type=r["data_type"]).accuracy == pytest.approx(1.0)


def test_dpo_rows_from_preferences_and_vote_pairs(filled, tmp_path, store):
    # a down-vote on another prompt must not pair with the up-votes above
    store.add(record(store, Vote(-1), question="Where is the cat?", outputs=(BAD,)))
    export(filled, "dpo", tmp_path / "dpo")
    data = rows(tmp_path / "dpo" / "dpo.json")
    assert len(data) == 2
    pref, pair = data
    assert pref["chosen"][0]["content"][0]["text"] == PREFERRED and pref["rejected"][0]["content"][0]["text"] == BAD
    assert pair["chosen"][0]["content"][0]["text"] == GOOD and pair["rejected"][0]["content"][0]["text"] == BAD
    assert pref["prompt"][0]["role"] == "user"
    assert [c["type"] for c in pref["prompt"][0]["content"]] == ["image", "text"]
    assert "Where is the dog?" in pref["prompt"][0]["content"][1]["text"]
    assert len(pref["images"]) == 1 and pref["videos"] == []


def test_duplicates_are_written_once(store, tmp_path):
    for _ in range(3):
        store.add(record(store, Vote(1)))  # same prompt, media and answer; different uid
    store.add(record(store, Vote(1), media=(store.put_media(png("other"), "image"),)))
    res = export(store, "sft", tmp_path / "sft")
    assert res.rows == {"sft": 2} and res.duplicates == {"sft": 2} and res.media == 2
    assert len(list((tmp_path / "sft" / "media").iterdir())) == 2


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_exports_are_deterministic(filled, tmp_path):
    for fmt in ("sft", "rl", "dpo", "hf"):
        export(filled, fmt, tmp_path / "one" / fmt)
        export(filled, fmt, tmp_path / "two" / fmt)
        one = _files(tmp_path / "one" / fmt)
        assert one == _files(tmp_path / "two" / fmt)
        assert "export.json" in one and any(name.startswith("media/") for name in one)


def test_failed_export_leaves_the_previous_one(filled, tmp_path, monkeypatch):
    out = tmp_path / "sft"
    export(filled, "sft", out)
    before = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    filled.add(record(filled, Vote(1), question="new question"))

    import onethinker.feedback.exports as exports

    def disk_full(path, lines):
        path.write_text("[\n{half a row")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(exports, "_write_json_list", disk_full)
    with pytest.raises(OSError):
        export(filled, "sft", out)
    after = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert after == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".sft.") and p.is_dir()] == []


def test_a_swap_cut_short_by_a_crash_is_recovered(filled, tmp_path):
    out = tmp_path / "rl"
    export(filled, "rl", out)
    previous = (out / "rl.json").read_bytes()
    (tmp_path / ".rl.tmp-crashed").mkdir()  # a crashed export's half-written folder
    out.rename(tmp_path / ".rl.old-crashed")  # the crash fell between the two renames
    recover(out)
    assert (out / "rl.json").read_bytes() == previous
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".rl.") and p.is_dir()) == []


def test_a_folder_that_is_not_an_export_is_never_replaced(filled, tmp_path):
    precious = tmp_path / "home"
    precious.mkdir()
    (precious / "thesis.tex").write_text("years of work")
    with pytest.raises(ExportError, match="not a feedback export"):
        export(filled, "sft", precious)
    assert (precious / "thesis.tex").read_text() == "years of work"


def test_round_trip_through_datasets(filled, tmp_path):
    datasets = pytest.importorskip("datasets")
    cache = str(tmp_path / "cache")
    for fmt in ("sft", "rl", "dpo"):
        export(filled, fmt, tmp_path / fmt)
        ds = datasets.load_dataset("json", data_files=str(tmp_path / fmt / f"{fmt}.json"), split="train",
                                   cache_dir=cache)
        assert _without_nulls(ds.to_list()) == rows(tmp_path / fmt / f"{fmt}.json")
    export(filled, "hf", tmp_path / "hf")
    dd = datasets.load_from_disk(str(tmp_path / "hf"))
    assert sorted(dd) == ["dpo", "rl", "sft"]
    for fmt in ("sft", "rl", "dpo"):
        assert _without_nulls(dd[fmt].to_list()) == rows(tmp_path / fmt / f"{fmt}.json")
    entry = json.loads((tmp_path / "sft" / "dataset_info.json").read_text())["onethinker_feedback"]
    assert sharegpt_problems(dd["sft"].to_list(), entry, tmp_path / "hf") == []
    _read_by_the_training_loaders(tmp_path)


def _read_by_the_training_loaders(folder: Path) -> None:
    """Each export folder loads with its training loader as written: same rows, media resolved to the files."""
    from train.data import load_dpo, load_rl, load_sft

    def media(content):
        return [(b["type"], Path(b[b["type"]])) for b in content if b["type"] in ("image", "video")]

    def text(content):
        return "".join(b.get("text", "") for b in content)

    sft, rl, dpo = (rows(folder / f / f"{f}.json") for f in ("sft", "rl", "dpo"))
    for raw, row in zip(sft, load_sft(folder / "sft"), strict=True):
        user, answer = row["messages"]
        assert text(user["content"]) == raw["messages"][0]["content"].replace("<image>", "").replace("<video>", "")
        assert text(answer["content"]) == raw["messages"][1]["content"]
        assert [p for _, p in media(user["content"])] == [folder / "sft" / m for m in raw["images"] + raw["videos"]]
    for raw, row in zip(rl, load_rl(folder / "rl"), strict=True):  # evaluation shape (path) or training (images)
        answer = raw.get("solution", raw.get("answer"))
        assert row["solution"] == (answer if "<answer>" in answer else f"<answer>{answer}</answer>")
        assert row["data_type"] == raw["data_type"]
        files = [raw["path"]] if "path" in raw else raw.get("videos", []) + raw.get("images", [])
        assert [p for _, p in media(row["prompt"][0]["content"])] == [folder / "rl" / f for f in files]
        question = raw["problem"].replace("<image>", "").replace("<video>", "").strip()
        assert text(row["prompt"][0]["content"]).startswith(question)
    for raw, row in zip(dpo, load_dpo(folder / "dpo"), strict=True):
        assert (row["chosen"], row["rejected"]) == (raw["chosen"], raw["rejected"])
        assert text(row["prompt"][0]["content"]) == raw["prompt"][0]["content"][-1]["text"]
        assert media(row["prompt"][0]["content"]) == [(b["type"], folder / "dpo" / p) for b, p in
                                                     zip(raw["prompt"][0]["content"], raw["images"] + raw["videos"])]


def test_hf_export_of_an_empty_store_has_typed_empty_splits(store, tmp_path):
    datasets = pytest.importorskip("datasets")
    res = export(store, "hf", tmp_path / "hf")
    assert res.rows == {"sft": 0, "rl": 0, "dpo": 0}
    dd = datasets.load_from_disk(str(tmp_path / "hf"))
    assert dd["sft"].column_names == ["messages", "images", "videos"] and len(dd["sft"]) == 0


def _without_nulls(data):
    """Arrow may give a struct all its fields: an image block can read back as {"type": "image", "text": None}."""
    for row in data:
        for turn in row.get("prompt", []):
            for block in turn["content"]:
                if block.get("text") is None:
                    block.pop("text", None)
    return data


def test_unknown_format(store, tmp_path):
    with pytest.raises(ValueError, match="sft, rl, dpo, hf"):
        export(store, "csv", tmp_path / "x")



def test_missing_database_is_an_error_not_a_new_file(tmp_path):
    with pytest.raises(ExportError, match="no feedback database"):
        export(tmp_path / "typo.db", "sft", tmp_path / "out")
    assert not (tmp_path / "typo.db").exists() and not (tmp_path / "out").exists()
