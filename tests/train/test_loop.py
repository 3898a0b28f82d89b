"""The feedback → retrain loop: a store made here → export → SFT and DPO (2 steps each) → a model the engine
serves; a rerun skips what did not change, and a new record reruns only the stages it reaches."""

from __future__ import annotations

import json

import pytest

from onethinker.feedback import FeedbackStore, Preference, Vote
from train.loop import main, run_loop
from train.model import TrainError

from tests.feedback.helpers import output, record
from tests.train.training import engine_streams

GOOD = output("The bar is on the left.", '{"boxes": [10, 20, 300, 400]}')
BAD = output("Maybe right?", '{"boxes": [600, 20, 900, 400]}')
TRACK = output("It moves right.", '{"boxes": {"1": [1, 2, 30, 40], "2": [5, 2, 35, 40]}}')
LOST = output("Gone.", '{"boxes": {"1": [500, 500, 600, 600]}}')

FAST = [f"{stage}.{kv}" for stage in ("sft", "dpo") for kv in (
    "max_steps=2", "bf16=false", "gradient_checkpointing=false", "report_to=none", "save_strategy=no",
    "per_device_train_batch_size=2", "image_max_pixels=4096", "video_max_pixels=4096", "learning_rate=5e-3",
    "disable_tqdm=true", "dataloader_pin_memory=false")]


@pytest.fixture
def feedback_db(tmp_path, media_dir):
    """Image and video feedback of every kind the loop trains on: up-votes, a preference, an up/down vote pair."""
    store = FeedbackStore(tmp_path / "data" / "feedback.db")
    image = (store.put_media(media_dir / "photo.png", "image"),)
    video = (store.put_media(media_dir / "clip.mp4", "video"),)
    store.add(record(store, Vote(1), media=image, question="Where is the bar?", outputs=(GOOD,)))
    store.add(record(store, Preference(1), media=image, question="Where is the bar?", outputs=(BAD, GOOD)))
    for vote, answer in ((Vote(1), TRACK), (Vote(-1), LOST)):
        store.add(record(store, vote, media=video, task="tracking", data_type="video", question="Follow the bar.",
                         outputs=(answer,)))
    store.close()
    return tmp_path / "data" / "feedback.db"


def test_loop_exports_trains_and_leaves_a_model_the_engine_serves(feedback_db, tiny_model_dir, media_dir, tmp_path):
    out = tmp_path / "run"
    first = run_loop(feedback_db, tiny_model_dir, out, sets=FAST)
    assert first.ran == ["export:sft", "sft", "export:dpo", "dpo"]
    assert first.model == out / "model" and first.model.resolve() == (out / "dpo").resolve()
    state = json.loads((out / "loop.json").read_text())
    assert state["sft"]["read"]["rows"] == 2 and state["dpo"]["read"]["rows"] == 2
    assert state["dpo"]["read"]["model"] == str(out / "sft")  # DPO starts from the SFT model
    engine_streams(out / "model", video=str(media_dir / "clip.mp4"))

    weights = (out / "dpo" / "model.safetensors").stat().st_mtime_ns
    again = run_loop(feedback_db, tiny_model_dir, out, sets=FAST)
    assert again.ran == [] and again.skipped == [
        "export:sft (store unchanged)", "sft (unchanged)", "export:dpo (store unchanged)", "dpo (unchanged)"]
    assert (out / "dpo" / "model.safetensors").stat().st_mtime_ns == weights

    store = FeedbackStore(feedback_db)  # a new preference: the sft rows stay the same, the dpo rows change
    store.add(record(store, Preference(0), media=(store.put_media(media_dir / "photo.png", "image"),),
                     question="Where is the bar now?", outputs=(GOOD, BAD)))
    store.close()
    third = run_loop(feedback_db, tiny_model_dir, out, sets=FAST)
    assert third.ran == ["export:sft", "export:dpo", "dpo"] and "sft (unchanged)" in third.skipped
    assert json.loads((out / "loop.json").read_text())["dpo"]["read"]["rows"] == 3


def test_stages_without_rows_are_skipped_and_an_empty_store_is_an_error(tmp_path, tiny_model_dir, media_dir):
    store = FeedbackStore(tmp_path / "feedback.db")
    store.add(record(store, Vote(-1), media=(store.put_media(media_dir / "photo.png", "image"),), outputs=(BAD,)))
    store.close()
    with pytest.raises(TrainError, match="nothing to train on"):
        run_loop(tmp_path / "feedback.db", tiny_model_dir, tmp_path / "run", sets=FAST)
    state = json.loads((tmp_path / "run" / "loop.json").read_text())
    assert set(state) == {"export:sft", "export:dpo"}


@pytest.mark.parametrize("argv, message", [
    (["--stages", "sft,rlhf"], "unknown stage"),
    (["--set", "sft.max_steps"], "stage.key=value"),
    (["--set", "ppo.beta=1"], "stage.key=value"),
])
def test_bad_arguments_are_named(feedback_db, tmp_path, argv, message):
    with pytest.raises(SystemExit, match=message):
        main(["--db", str(feedback_db), "--base-model", "x", "--out", str(tmp_path / "run"), *argv])


def test_missing_database(tmp_path):
    with pytest.raises(SystemExit, match="no feedback database"):
        main(["--db", str(tmp_path / "typo.db"), "--base-model", "x", "--out", str(tmp_path / "run")])
    assert not (tmp_path / "run").exists()


def test_the_grpo_stage_runs_train_grpo_on_the_rl_export(feedback_db, tiny_model_dir, tmp_path):
    """Runs once train.grpo (the EMA-GRPO part of issue F) is in the tree."""
    pytest.importorskip("train.grpo")
    grpo = [f"grpo.{kv}" for kv in ("max_steps=1", "bf16=false", "report_to=none", "save_strategy=no",
                                    "num_generations=2", "per_device_train_batch_size=2", "max_completion_length=8",
                                    "video_max_pixels=4096", "image_max_pixels=4096", "gradient_checkpointing=false")]
    res = run_loop(feedback_db, tiny_model_dir, tmp_path / "run", stages=("grpo",), sets=grpo)
    assert res.ran == ["export:rl", "grpo"] and (tmp_path / "run" / "grpo" / "config.json").is_file()
