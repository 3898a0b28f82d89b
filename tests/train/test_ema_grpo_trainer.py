"""EMAGRPOTrainer on the tiny random Qwen3-VL (CPU): image and video rows, advantages, filtering, checkpoints."""

from __future__ import annotations

import json
import math

import pytest
import torch

from tests.train.grpo_fixtures import (  # noqa: F401  (fixtures)
    RecordingTrainer, grpo_media, grpo_model_dir, grpo_qwen25_dir, make_trainer, rl_rows,
)
from train.ema_grpo import TaskStdTracker, compute_ema_grpo_advantages
from train.grpo_trainer import EMA_STATE_FILE, EMAGRPOTrainer


def generation_batch(trainer, n_prompts=2):
    """What TRL's sampler hands over: each prompt repeated num_generations times, in train mode."""
    trainer.model.train()
    rows = [trainer.train_dataset[i] for i in range(n_prompts) for _ in range(trainer.num_generations)]
    return trainer._generate_and_score_completions(rows)


def weighted(trainer, rewards_per_func):
    return (rewards_per_func * trainer.reward_weights).nansum(dim=1)


# video: one generation feeds both steps, so TRL also runs its old-log-prob forward (with our media rows) and
# shuffles / splits the rows between the steps
@pytest.mark.parametrize("kind, steps_per_generation", [("image", 1), ("video", 2)])
def test_two_steps_train_and_the_checkpoint_streams_in_the_engine(kind, steps_per_generation, grpo_model_dir,
                                                                  grpo_media, tmp_path):
    from onethinker.engine import Request, SamplingParams, TransformersBackend
    from onethinker.engine.transformers_backend import unload_model

    trainer = make_trainer(grpo_model_dir, rl_rows(kind, grpo_media), tmp_path / "run",
                           steps_per_generation=steps_per_generation)
    before = {n: p.detach().clone() for n, p in trainer.model.named_parameters()}
    trainer.train()
    losses = [h["loss"] for h in trainer.state.log_history if "loss" in h]
    assert len(losses) == 2 and all(math.isfinite(x) for x in losses)
    assert trainer.state.global_step == 2
    changed = [n for n, p in trainer.model.named_parameters() if not torch.equal(p, before[n])]
    assert any("language_model" in n for n in changed)
    assert any("visual" in n for n in changed), "the vision tower got no gradient: media did not reach the forward"
    logged = {k for h in trainer.state.log_history for k in h}
    assert "rewards/accuracy/mean" in logged and "ema/guarded_group_fraction" in logged
    assert {f"ema/{t}/std" for t in trainer.ema_tracker.tasks} <= logged
    assert set(trainer.ema_tracker.tasks) <= {"multiple choice", "numerical", f"segmentation/{kind}"}

    out = tmp_path / "model"
    trainer.save_model(str(out))
    unload_model()
    media = {kind: grpo_media[kind]}
    stream = TransformersBackend(str(out)).stream(
        Request("What is shown?", "multiple choice", options=["A. cat", "B. dog"], **media,
                sampling=SamplingParams(max_new_tokens=6, temperature=0)))
    text = "".join(stream)
    assert stream.completion_tokens and stream.completion_tokens > 0 and isinstance(text, str)
    unload_model()


@pytest.mark.parametrize("model, video_fields", [
    ("grpo_model_dir", ["pixel_values_videos", "video_grid_thw"]),  # Qwen3-VL: timestamps are prompt text
    ("grpo_qwen25_dir", ["pixel_values_videos", "second_per_grid_ts", "video_grid_thw"]),  # Qwen2.5-VL: a tensor
])
def test_video_log_probs_use_the_video_features(model, video_fields, grpo_media, tmp_path, request):
    """TRL's own forward drops the video tensors of a video-only batch; ours must match a with-video forward."""
    from trl import GRPOTrainer
    from trl.trainer.utils import remove_none_values

    from train.data.vision import encode

    trainer = make_trainer(request.getfixturevalue(model), rl_rows("video", grpo_media, 2), tmp_path)
    out = generation_batch(trainer)
    assert [sorted(r) for r in out["mm_rows"]] == [video_fields] * 4
    ids = torch.cat([out["prompt_ids"], out["completion_ids"]], 1)
    mask = torch.cat([out["prompt_mask"], out["completion_mask"]], 1)
    k = out["completion_ids"].size(1)
    model = trainer.model.eval()
    with torch.no_grad():
        trainer._mm_rows = out["mm_rows"]
        ours = trainer._get_per_token_logps_and_entropies(model, ids, mask, k, batch_size=3)[0]
        trainer._mm_rows = None
        trl_own = GRPOTrainer._get_per_token_logps_and_entropies(trainer, model, ids, mask, k)[0]
        for i in range(4):  # reference: the processor's own tensors for this prompt, one plain forward
            prompt = remove_none_values(trainer.train_dataset[i // 2]["prompt"])
            enc = encode(trainer.processing_class, prompt, add_generation_prompt=True)
            completion = out["completion_ids"][i][out["completion_mask"][i].bool()]
            full = torch.cat([enc["input_ids"][0], completion])[None]
            types = torch.cat([enc["mm_token_type_ids"][0], torch.zeros_like(completion)])[None]
            logits = model(input_ids=full, mm_token_type_ids=types, **{f: enc[f] for f in video_fields}).logits
            p = enc["input_ids"].size(1)
            want = torch.log_softmax(logits[0, p - 1:-1].float(), -1).gather(-1, completion[:, None])[:, 0]
            got = ours[i, :len(completion)]
            assert torch.allclose(got, want, atol=1e-5), (got - want).abs().max()
            assert (trl_own[i, :len(completion)] - want).abs().max() > 1e-3  # the silent failure, for the record
        with pytest.raises(RuntimeError, match="over video tokens got no video features"):
            trainer._get_per_token_logps_and_entropies(model, ids, mask, k)  # no rows: refused, never silent


def test_advantages_are_ema_grpo_of_the_gathered_rewards(grpo_model_dir, grpo_media, tmp_path):
    trainer = make_trainer(grpo_model_dir, rl_rows("image", grpo_media, 3), tmp_path, trainer_class=RecordingTrainer,
                           per_device_train_batch_size=6, ema_decay=0.5)
    reference = TaskStdTracker(decay=0.5)
    for _ in range(2):  # two batches: the second uses the EMA of both
        out = generation_batch(trainer, 3)
        rewards, keys = trainer.recorded[-1]
        assert keys == [trainer.train_dataset[i]["problem_type"].replace("segmentation", "segmentation/image")
                        for i in range(3) for _ in range(2)]
        want = compute_ema_grpo_advantages(weighted(trainer, rewards), [0, 0, 1, 1, 2, 2], keys, reference)
        assert torch.allclose(out["advantages"], want.float(), atol=1e-6)
        assert out["advantages"].abs().sum() > 0
    assert trainer.ema_tracker == reference
    assert list(trainer._logs["advantages"])[-6:] == pytest.approx(out["advantages"].tolist())


def test_plain_grpo_flag_keeps_trls_advantage(grpo_model_dir, grpo_media, tmp_path):
    trainer = make_trainer(grpo_model_dir, rl_rows("image", grpo_media, 2), tmp_path, trainer_class=RecordingTrainer,
                           advantage_estimator="grpo")
    out = generation_batch(trainer)
    r = weighted(trainer, trainer.recorded[-1][0]).view(-1, 2)
    want = ((r - r.mean(1, keepdim=True)) / (r.std(1, keepdim=True) + 1e-4)).view(-1)  # TRL's group scaling
    assert torch.allclose(out["advantages"], want, atol=1e-5)
    assert trainer.ema_tracker.tasks == []


def accuracy_from_column(completions, fixed_accuracy, **_):
    """Test double named like the OneThinker term: the accuracy a dataset column dictates."""
    return list(fixed_accuracy)


def test_online_filtering_drops_too_easy_and_too_hard_groups(grpo_model_dir, grpo_media, tmp_path):
    from datasets import Dataset
    from transformers import AutoModelForImageTextToText, AutoProcessor

    from tests.train.grpo_fixtures import distinct_chars_reward, grpo_config

    rows = rl_rows("image", grpo_media, 3)
    for row, acc in zip(rows, (0.0, 1.0, 0.5)):  # too hard, too easy, kept
        row["fixed_accuracy"] = acc
    args = grpo_config(tmp_path, per_device_train_batch_size=6, online_filtering=True, reward_weights=[1.0, 1.0],
                       filter_key="accuracy_from_column")
    trainer = RecordingTrainer(AutoModelForImageTextToText.from_pretrained(grpo_model_dir),
                               reward_funcs=[accuracy_from_column, distinct_chars_reward], args=args,
                               train_dataset=Dataset.from_list(rows),
                               processing_class=AutoProcessor.from_pretrained(grpo_model_dir, padding_side="left"))
    out = generation_batch(trainer, 3)
    assert out["completion_mask"][:4].sum() == 0 and out["completion_mask"][4:].sum() > 0
    assert out["advantages"][:4].abs().sum() == 0 and out["advantages"][4:].abs().sum() > 0
    assert int(out["num_items_in_batch"]) == int(out["completion_mask"].sum())
    kept = weighted(trainer, trainer.recorded[-1][0])[4:]
    assert trainer.ema_tracker.tasks == ["segmentation/image"]  # only the kept group reached the EMA
    assert trainer.ema_tracker.mean("segmentation/image") == pytest.approx(kept.double().mean().item())


def test_bad_config_is_refused(tmp_path):
    from tests.train.grpo_fixtures import grpo_config

    with pytest.raises(ValueError, match="advantage_estimator must be one of"):
        grpo_config(tmp_path, advantage_estimator="ppo")
    with pytest.raises(ValueError, match="filter_low < filter_high"):
        grpo_config(tmp_path, filter_low=0.5, filter_high=0.2)
    with pytest.raises(ValueError, match="decay must be"):
        grpo_config(tmp_path, ema_decay=1.0)


class StopAfterFirstStep:
    """Callback: save and stop at step 1, as a preempted job would."""

    def __init__(self):
        from transformers import TrainerCallback

        class _CB(TrainerCallback):
            def on_step_end(self, args, state, control, **kw):
                if state.global_step == 1:
                    control.should_save = True
                    control.should_training_stop = True
                return control

        self.callback = _CB()


class EmaAtStepBegin:
    def __init__(self, trainer):
        from transformers import TrainerCallback

        seen = self.seen = []

        class _CB(TrainerCallback):
            def on_step_begin(self, args, state, control, **kw):
                seen.append((state.global_step, trainer.ema_tracker.state_dict()))

        trainer.add_callback(_CB())


def test_resume_continues_the_ema_state_and_the_step_counter(grpo_model_dir, grpo_media, tmp_path):
    rows = rl_rows("image", grpo_media)
    first = make_trainer(grpo_model_dir, rows, tmp_path / "run", save_strategy="no")
    first.add_callback(StopAfterFirstStep().callback)
    first.train()
    assert first.state.global_step == 1
    saved = json.loads((tmp_path / "run" / "checkpoint-1" / EMA_STATE_FILE).read_text())
    assert saved == first.ema_tracker.state_dict() and saved["tasks"]

    resumed = make_trainer(grpo_model_dir, rows, tmp_path / "run", save_strategy="no")
    probe = EmaAtStepBegin(resumed)
    resumed.train(resume_from_checkpoint=str(tmp_path / "run" / "checkpoint-1"))
    assert probe.seen[0] == (1, saved)  # step 2 starts from the checkpoint's step and EMA state
    assert resumed.state.global_step == 2
    assert resumed.ema_tracker != TaskStdTracker() and resumed.ema_tracker.state_dict() != saved

    # the same two steps without interruption end in the same EMA state
    straight = make_trainer(grpo_model_dir, rows, tmp_path / "straight")
    straight.train()
    assert straight.ema_tracker.state_dict() == resumed.ema_tracker.state_dict()


def test_a_checkpoint_with_a_broken_ema_state_fails_clearly(grpo_model_dir, grpo_media, tmp_path):
    trainer = make_trainer(grpo_model_dir, rl_rows("image", grpo_media), tmp_path)
    (tmp_path / "ckpt").mkdir()
    (tmp_path / "ckpt" / EMA_STATE_FILE).write_text('{"tasks": {"OCR": {"m1": "x"}}}')
    with pytest.raises(ValueError, match=r"cannot restore the EMA-GRPO state from .*ckpt.*tasks\['OCR'\]"):
        trainer._load_optimizer_and_scheduler(str(tmp_path / "ckpt"))


def test_vllm_is_optional_and_refuses_video_clearly(grpo_model_dir, grpo_media, tmp_path):
    from PIL import Image

    from tests.train.grpo_fixtures import grpo_config, media_block

    with pytest.raises(ImportError, match="use_vllm needs the vllm package"):
        EMAGRPOTrainer(grpo_model_dir, args=grpo_config(tmp_path, use_vllm=True))
    trainer = make_trainer(grpo_model_dir, rl_rows("image", grpo_media, 1), tmp_path)
    video = [[{"role": "user", "content": [media_block("video", grpo_media), {"type": "text", "text": "?"}]}]]
    with pytest.raises(ValueError, match="video prompts cannot be rolled out with use_vllm.*use_vllm: false"):
        trainer._vllm_prompts(video)
    image = [[{"role": "user", "content": [media_block("image", grpo_media), {"type": "text", "text": "?"}]}]]
    block = trainer._vllm_prompts(image)[0][0]["content"][0]
    assert isinstance(block["image"], Image.Image) and block["image"].size == (96, 64)  # official sizing, loaded
