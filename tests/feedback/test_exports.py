"""Exports: contents per format, dedup, determinism, atomic replacement and round trips through `datasets`.

The round trips load the files with `datasets`, check sft rows against LLaMA-Factory's sharegpt
column mapping, and read every export with the training loaders (`train.data`) without conversion;
test_export_consumers.py reads rl and eval rows by the official loader's and evaluation script's rules.
"""

import json
from pathlib import Path

import pytest

from onethinker.answer import BoxAnswer
from onethinker.feedback import Correction, Preference, Vote, export
from onethinker.feedback.exports import ExportError
from onethinker.feedback.exports.staging import recover
from onethinker.rewards import format_reward

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
    assert res.rows == {"sft": len(data)} == {"sft": 5}  # 4 parsable up-votes + the correction with reasoning
    assert res.left_out == {"sft": {"corrections without reasoning": 1}}
    entry = json.loads((out / "dataset_info.json").read_text())["onethinker_feedback"]
    assert entry["file_name"] == "sft.json"
    assert sharegpt_problems(data, entry, out) == []
    answers = [r["messages"][1]["content"] for r in data]
    assert all(format_reward(a) == 1.0 for a in answers)
    assert answers[0] == "<think>\nThe dog is on the left.\n</think>\n<answer>{\"boxes\": [10, 20, 300, 400]}</answer>"
    assert "The dog is on the left." in answers[1] and '[5, 5, 50, 50]' in answers[1]  # reasoning kept
    assert not any("[6, 6, 60, 60]" in a for a in answers)  # nobody gave reasoning for that correction
    video = next(r for r in data if r["videos"])
    assert video["messages"][0]["content"].startswith("<video>") and video["images"] == []
    assert (out / video["videos"][0]).read_bytes() == mp4()


def test_rl_and_eval_rows_carry_every_ground_truth(filled, tmp_path):
    truths = ['{"boxes": [10, 20, 300, 400]}', '{"boxes": [5, 5, 50, 50]}', '{"boxes": [6, 6, 60, 60]}', "B",
              '{"boxes": {"1": [1, 2, 3, 4], "2": [2, 3, 4, 5]}}', "A dog."]
    export(filled, "rl", tmp_path / "rl")
    export(filled, "eval", tmp_path / "eval")
    rl, ev = rows(tmp_path / "rl" / "rl.json"), rows(tmp_path / "eval" / "eval.json")
    assert [r["answer"] for r in rl] == truths
    assert [r["solution"] for r in ev] == [f"<answer>{t}</answer>" for t in truths]
    mc = rl[3]
    assert (mc["problem"], mc["problem_type"], mc["options"]) == ("<image>Which?", "multiple choice",
                                                                  ["A. cat", "B. dog"])
    assert rl[4]["data_type"] == "video" and rl[4]["problem"] == "<video>Follow the car."
    assert rl[5]["problem_type"] == "open-ended" and ev[5]["problem"] == "Where is the dog?"


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
    for fmt in ("sft", "rl", "dpo", "eval", "hf"):
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
    for fmt in ("sft", "rl", "dpo", "eval"):
        export(filled, fmt, tmp_path / fmt)
        ds = datasets.load_dataset("json", data_files=str(tmp_path / fmt / f"{fmt}.json"), split="train",
                                   cache_dir=cache)
        assert _without_nulls(ds.to_list()) == rows(tmp_path / fmt / f"{fmt}.json")
    export(filled, "hf", tmp_path / "hf")
    dd = datasets.load_from_disk(str(tmp_path / "hf"))
    assert sorted(dd) == ["dpo", "eval", "rl", "sft"]
    for fmt in ("sft", "rl", "dpo", "eval"):
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

    sft, dpo = (rows(folder / f / f"{f}.json") for f in ("sft", "dpo"))
    for raw, row in zip(sft, load_sft(folder / "sft"), strict=True):
        user, answer = row["messages"]
        assert text(user["content"]) == raw["messages"][0]["content"].replace("<image>", "").replace("<video>", "")
        assert text(answer["content"]) == raw["messages"][1]["content"]
        assert [p for _, p in media(user["content"])] == [folder / "sft" / m for m in raw["images"] + raw["videos"]]
    for fmt in ("rl", "eval"):  # training shape (images / videos) and evaluation shape (path / additional_path)
        for raw, row in zip(rows(folder / fmt / f"{fmt}.json"), load_rl(folder / fmt), strict=True):
            answer = raw.get("solution", raw.get("answer"))
            assert row["solution"] == (answer if "<answer>" in answer else f"<answer>{answer}</answer>")
            assert row["data_type"] == raw["data_type"]
            if fmt == "eval":
                files = [f for f in (raw["path"], raw["additional_path"]) if f]
            else:
                files = raw.get("videos", []) + raw.get("images", [])
            assert [p for _, p in media(row["prompt"][0]["content"])] == [folder / fmt / f for f in files]
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
    assert res.rows == {"sft": 0, "rl": 0, "dpo": 0, "eval": 0}
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
    with pytest.raises(ValueError, match="sft, rl, dpo, eval, hf"):
        export(store, "csv", tmp_path / "x")



def test_missing_database_is_an_error_not_a_new_file(tmp_path):
    with pytest.raises(ExportError, match="no feedback database"):
        export(tmp_path / "typo.db", "sft", tmp_path / "out")
    assert not (tmp_path / "typo.db").exists() and not (tmp_path / "out").exists()


def test_the_eval_export_runs_through_our_evaluation_runner(filled, tmp_path):
    """``eval`` rows are the runner's input as written: every medium found, every field read, and an answer equal
    to the row's own ground truth scores full marks."""
    from onethinker.eval import run
    from tests.eval.helpers import ScriptedBackend

    export(filled, "eval", tmp_path / "eval")
    by_question = {r["problem"]: r for r in rows(tmp_path / "eval" / "eval.json")}  # the double answers by question
    exported = list(by_question.values())
    assert {r["data_type"] for r in exported} >= {"image", "video"} and len(exported) >= 3
    (tmp_path / "eval" / "unique.json").write_text(json.dumps(exported), encoding="utf-8")
    backend = ScriptedBackend({q: f"<think>x</think>\n{r['solution']}" for q, r in by_question.items()},
                              default="never asked")
    res = run(tmp_path / "eval" / "unique.json", tmp_path / "results.json", backend,
              media_root=tmp_path / "eval", segmenter=None)
    assert len(res.results) == len(exported) and len(backend.calls) == len(exported)
    for r in res.results:
        assert r["error"] is None and r["format"] == 1.0 and r["accuracy"] == pytest.approx(1.0), (r["output"], r["solution"], r.get("prediction"))
