"""EMA-GRPO advantage: hand-computed multi-step cases, errors, state round trip, property test."""

from __future__ import annotations

import copy
import json
import math

import pytest
import torch
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from train.ema_grpo import TaskStdTracker, compute_ema_grpo_advantages, ema_grpo, task_key

E = 1e-6  # the scaling epsilon of the spec


def adv(scores, groups, tasks, tracker, guard=5.0):
    return compute_ema_grpo_advantages(torch.tensor(scores, dtype=torch.float64), groups, tasks, tracker, guard)


def close(got, want):
    assert got.tolist() == pytest.approx(want, abs=1e-12, rel=1e-12)


def test_two_tasks_over_two_steps_by_hand():
    tr = TaskStdTracker(decay=0.5, min_std=1e-3)
    # step 1 initialises both tasks with this batch's moments
    # A: [1, 0, 1, 0]  m1 = 0.5, m2 = 0.5, std = sqrt(0.5 - 0.25) = 0.5, group mean 0.5
    # B: [0.2, 0.4]    m1 = 0.3, m2 = 0.1, std = sqrt(0.1 - 0.09) = 0.1, group mean 0.3
    got = adv([1, 0, 1, 0, 0.2, 0.4], [7, 7, 7, 7, 3, 3], ["A"] * 4 + ["B"] * 2, tr)
    sa, sb = 0.5, math.sqrt(0.1 - 0.09)
    close(got, [0.5 / (sa + E), -0.5 / (sa + E), 0.5 / (sa + E), -0.5 / (sa + E), -0.1 / (sb + E), 0.1 / (sb + E)])
    assert tr.mean("A") == 0.5 and tr.std("B") == pytest.approx(0.1)

    # step 2 updates first, then scales with the updated std
    # A: [1, 1, 1, 0]  batch m1 = m2 = 0.75 -> m1 = m2 = 0.5*0.5 + 0.5*0.75 = 0.625, std = sqrt(0.625 - 0.625²)
    # B: [0.5, 0.5]    constant group -> advantage 0; m1 = 0.5*0.3 + 0.5*0.5 = 0.4, m2 = 0.5*0.1 + 0.5*0.25 = 0.175
    got = adv([1, 1, 1, 0, 0.5, 0.5], [0, 0, 0, 0, 1, 1], ["A"] * 4 + ["B"] * 2, tr)
    sa = math.sqrt(0.625 - 0.625 ** 2)
    close(got, [0.25 / (sa + E)] * 3 + [-0.75 / (sa + E), 0.0, 0.0])
    assert tr.std("B") == pytest.approx(math.sqrt(0.175 - 0.4 ** 2))
    # a task missing from a batch keeps its state
    adv([0, 1], [0, 0], ["A", "A"], tr)
    assert tr.std("B") == pytest.approx(math.sqrt(0.175 - 0.4 ** 2))


def test_guard_rail_scales_the_offending_group_by_its_own_std():
    # one success among 32 completions of task C: m1 = m2 = 1/32, std = sqrt(1/32 - 1/1024) ≈ 0.174
    # group 0 centred: 7 × (-1/8) and 7/8; 0.875 / 0.174 ≈ 5.03 > 5 -> group std sqrt(7/64) ≈ 0.331 instead
    scores = [0.0] * 7 + [1.0] + [0.0] * 24
    groups = [g for g in range(4) for _ in range(8)]
    tr = TaskStdTracker()
    res = ema_grpo(torch.tensor(scores), groups, ["C"] * 32, tr)
    gstd = math.sqrt(7 / 64)
    assert res.advantages[:8].tolist() == pytest.approx([-0.125 / (gstd + E)] * 7 + [0.875 / (gstd + E)], rel=1e-6)
    assert res.advantages[8:].abs().max() == 0
    assert res.guarded.tolist() == [True] * 8 + [False] * 24
    assert res.task_std["C"] == pytest.approx(math.sqrt(1 / 32 - 1 / 1024))
    # a higher guard keeps the task-level scaling
    tr2 = TaskStdTracker()
    got = adv(scores, groups, ["C"] * 32, tr2, guard=6.0)
    assert got[7].item() == pytest.approx(0.875 / (math.sqrt(31 / 1024) + E))


def test_constant_groups_and_constant_task():
    tr = TaskStdTracker(min_std=1e-3)
    got = adv([1, 1, 0, 0, 0.3, 0.3], [0, 0, 1, 1, 2, 2], ["A", "A", "A", "A", "B", "B"], tr)
    assert got.tolist() == [0.0] * 6  # every group is constant
    assert tr.std("A") == 0.5  # but the EMA saw the rewards
    assert tr.std("B") == 1e-3  # constant task: std floored at min_std
    assert tr.mean("B") == pytest.approx(0.3)


def test_a_group_of_one_gets_zero():
    assert adv([0.7, 0.1, 0.9], [0, 1, 1], ["A"] * 3, TaskStdTracker())[0].item() == 0.0


def test_bad_rewards_and_inputs_raise_and_leave_the_tracker_alone():
    tr = TaskStdTracker()
    adv([1, 0], [0, 0], ["A", "A"], tr)
    before = tr.state_dict()
    with pytest.raises(ValueError, match=r"reward nan at position 2 \(task 'B', group 1\).*None or NaN"):
        adv([1, 0, float("nan"), 1], [0, 0, 1, 1], ["A", "A", "B", "B"], tr)
    with pytest.raises(ValueError, match="not a finite number"):
        adv([1, float("inf")], [0, 0], ["A", "A"], tr)
    with pytest.raises(ValueError, match="group 0 mixes tasks"):
        adv([1, 0], [0, 0], ["A", "B"], tr)
    with pytest.raises(ValueError, match="task_keys has 1 entries but there are 2 scores"):
        adv([1, 0], [0, 0], ["A"], tr)
    with pytest.raises(ValueError, match="group_ids must be 1-D"):
        compute_ema_grpo_advantages(torch.zeros(2), torch.zeros(3, dtype=torch.long), ["A", "A"], tr)
    with pytest.raises(ValueError, match="scores must be a 1-D floating-point tensor"):
        compute_ema_grpo_advantages([1.0, 0.0], [0, 0], ["A", "A"], tr)
    with pytest.raises(ValueError, match="hashable"):
        adv([1, 0], [[0], [0]], ["A", "A"], tr)
    assert tr.state_dict() == before


def test_group_id_kinds_agree_and_dtype_is_kept():
    scores = torch.tensor([0.1, 0.9, 0.5, 0.2, 0.8, 0.3], dtype=torch.float32)
    tasks = ["A", "A", "A", "B", "B", "B"]
    outs = []
    for gids in ([5, 5, 9, 2, 2, 2], ["u5", "u5", "u9", "u2", "u2", "u2"], torch.tensor([5, 5, 9, 2, 2, 2]),
                 [10 ** 12, 10 ** 12, 3, -1, -1, -1]):
        outs.append(compute_ema_grpo_advantages(scores, gids, tasks, TaskStdTracker()))
    assert all(o.dtype == torch.float32 for o in outs)
    assert all(torch.equal(outs[0], o) for o in outs[1:])


def test_state_round_trip_continues_identically():
    batches = [([1, 0, 0.5, 0.5], [0, 0, 1, 1], ["A", "A", "segmentation/video", "segmentation/video"]),
               ([0.2, 0.9, 0.4, 0.1], [0, 0, 1, 1], ["A", "A", "B", "B"]),
               ([0, 1, 1, 0.3], [0, 0, 1, 1], ["B", "B", "A", "A"])]
    a = TaskStdTracker(decay=0.9, min_std=1e-2)
    adv(*batches[0], a)
    saved = json.loads(json.dumps(a.state_dict()))  # what a checkpoint holds
    b = TaskStdTracker()
    b.load_state_dict(saved)
    assert b == a and b.decay == 0.9 and b.min_std == 1e-2
    for batch in batches[1:]:
        assert torch.equal(adv(*batch, a), adv(*batch, b))
    assert a.state_dict() == b.state_dict()


@pytest.mark.parametrize("state, match", [
    ([], "must be a mapping"),
    ({"decay": 1.5}, "decay must be a number in"),
    ({"tasks": {"A": {"m1": 0.1}}}, r"tasks\['A'\] must be"),
    ({"tasks": {"A": {"m1": float("nan"), "m2": 0.1}}}, "not finite"),
    ({"version": 99}, "version 99"),
])
def test_bad_state_is_refused_without_changes(state, match):
    tr = TaskStdTracker()
    adv([1, 0], [0, 0], ["A", "A"], tr)
    before = copy.deepcopy(tr.state_dict())
    with pytest.raises(ValueError, match=match):
        tr.load_state_dict(state)
    assert tr.state_dict() == before


def test_task_keys():
    assert task_key("segmentation", "video") == "segmentation/video"
    assert task_key("segmentation", "image") == "segmentation/image"
    assert task_key("segmentation", None) == "segmentation/image"
    assert task_key("multiple choice", "video") == "multiple choice"
    assert task_key(" OCR ", "image") == "OCR"


# ----------------------------------------------------------------------------------------------
# Property test against a straightforward per-sample reference (the official code's loops)


def reference(scores, groups, tasks, state, decay, min_std, guard):
    """Per-sample loops over dicts, as EasyR1's ema_grpo estimator does; ``state`` is updated in place."""
    members, by_task = {}, {}
    for i, (g, t) in enumerate(zip(groups, tasks)):
        members.setdefault(g, []).append(i)
        by_task.setdefault(t, []).append(i)
    mean = {g: sum(scores[i] for i in ix) / len(ix) for g, ix in members.items()}
    centred = [scores[i] - mean[g] for i, g in enumerate(groups)]
    for t, ix in by_task.items():
        m1 = sum(scores[i] for i in ix) / len(ix)
        m2 = sum(scores[i] * scores[i] for i in ix) / len(ix)
        if t in state:
            state[t] = (decay * state[t][0] + (1 - decay) * m1, decay * state[t][1] + (1 - decay) * m2)
        else:
            state[t] = (m1, m2)
    std = {t: math.sqrt(max(m2 - m1 * m1, min_std ** 2)) for t, (m1, m2) in state.items()}
    out = [centred[i] / (std[t] + E) for i, t in enumerate(tasks)]
    margins = [abs(abs(v) - guard) for v in out]
    for g, ix in members.items():
        if any(abs(out[i]) > guard for i in ix):
            gstd = math.sqrt(sum(centred[i] ** 2 for i in ix) / len(ix))
            for i in ix:
                out[i] = centred[i] / (gstd + E)
    return out, min(margins)


REWARD = st.one_of(st.sampled_from([0.0, 0.1, 0.5, 1.0, 1.1, 2.0]), st.floats(0, 2, allow_nan=False))
GROUP = st.tuples(st.sampled_from(["mc", "ocr", "segmentation/image"]), st.lists(REWARD, min_size=1, max_size=6))
BATCH = st.lists(GROUP, min_size=1, max_size=6)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(batches=st.lists(BATCH, min_size=1, max_size=3), decay=st.sampled_from([0.0, 0.5, 0.9, 0.99]),
       min_std=st.sampled_from([1e-3, 0.05]), guard=st.sampled_from([0.5, 2.0, 5.0]),
       shuffle=st.randoms(use_true_random=False))
def test_matches_per_sample_reference(batches, decay, min_std, guard, shuffle):
    tracker, state = TaskStdTracker(decay, min_std), {}
    for step, batch in enumerate(batches):
        rows = [(f"s{step}g{gi}", task, r) for gi, (task, rewards) in enumerate(batch) for r in rewards]
        shuffle.shuffle(rows)  # groups need not be contiguous
        groups, tasks, scores = (list(c) for c in zip(*rows))
        want, margin = reference(scores, groups, tasks, state, decay, min_std, guard)
        assume(margin > 1e-9)  # a score exactly at the guard may round either way
        got = compute_ema_grpo_advantages(torch.tensor(scores, dtype=torch.float64), groups, tasks, tracker, guard)
        assert got.tolist() == pytest.approx(want, rel=1e-9, abs=1e-9)
        for t, (m1, m2) in state.items():
            assert tracker.mean(t) == pytest.approx(m1, rel=1e-12, abs=1e-15)
            assert tracker.std(t) == pytest.approx(math.sqrt(max(m2 - m1 * m1, min_std ** 2)), rel=1e-9)
