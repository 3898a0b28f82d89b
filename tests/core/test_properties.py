"""Property tests: no input makes the parser or the reward raise, and answers survive JSON."""

import json
import math

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from onethinker.answer import Answer, parse
from onethinker.rewards import compute_score, score
from onethinker.tasks import TASKS

TASK_IDS = sorted(TASKS)

# Text made of the pieces models actually emit, glued in any order, plus arbitrary unicode.
PIECES = st.sampled_from([
    "<think>", "</think>", "<answer>", "</answer>", "< / think >", "<answer >", "<", "</", "```json", "```",
    "{", "}", "[", "]", ",", ":", '"boxes"', '"time"', '"positive_points"', '"negative_points"', "'1'", '"2"',
    "NaN", "Infinity", "-1e309", "1e400", "12", "3.5", "-7", '"4"', "null", "true", " ", "\n", "A", "(b)",
    "\\frac{1}{2}", "$", "[[1,2],[3,4]]", "[1, 2, 3, 4]", "[[[[[[", "]]]]]]",
])
MODEL_TEXT = st.one_of(st.text(max_size=300), st.lists(PIECES, max_size=60).map("".join))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=MODEL_TEXT, task=st.sampled_from(TASK_IDS), final=st.booleans(),
       data_type=st.sampled_from([None, "image", "video", "video-image", ""]))
def test_parse_never_raises_and_round_trips(text, task, final, data_type):
    a = parse(text, task, data_type=data_type, final=final)
    assert a.phase in ("thinking", "answering", "done")
    assert not (a.error or "").startswith("internal parser error"), a.error
    if a.phase == "done" and a.payload is None:
        assert a.error, "a finished answer without payload must say why"
    if a.payload is not None:
        assert isinstance(a.payload, TASKS[a.task].payload)
    assert Answer.from_json(a.to_json()) == a


@settings(max_examples=300, deadline=None)
@given(text=MODEL_TEXT, truth=MODEL_TEXT, task=st.sampled_from(TASK_IDS),
       data_type=st.sampled_from(["image", "video", ""]))
def test_reward_never_raises_and_stays_in_range(text, truth, task, data_type):
    s = score(text, truth, task, data_type or None)
    assert 0.0 <= s.accuracy <= 1.0 and s.format in (0.0, 1.0) and 0.0 <= s.structure <= 0.5
    assert math.isclose(s.overall, 0.9 * s.accuracy + 0.1 * s.format + s.structure)
    if s.format == 0.0:
        assert s.structure == 0.0


@settings(max_examples=100, deadline=None)
@given(items=st.lists(st.fixed_dictionaries({
    "response": st.one_of(MODEL_TEXT, st.none(), st.integers()),
    "ground_truth": st.one_of(MODEL_TEXT, st.none(), st.floats()),
    "data_type": st.one_of(st.sampled_from(["image", "video"]), st.none(), st.integers()),
    "problem_type": st.one_of(st.sampled_from(TASK_IDS + ["segmentation", "bogus"]), st.none()),
}), max_size=8))
def test_compute_score_returns_one_row_per_input(items):
    rows = compute_score(items)
    assert len(rows) == len(items)
    for row in rows:
        assert set(row) == {"overall", "format", "accuracy", "structure_reward"}
        assert all(isinstance(v, float) and math.isfinite(v) for v in row.values())
    json.dumps(rows)  # plain floats only


TAGGY = st.lists(st.sampled_from(["<think>", "</think>", "<answer>", "</answer>", " ", "\n", "\x1c", "\u00a0",
                                  "x", "<", ">", "/"]), max_size=25).map("".join)


@settings(max_examples=1500, deadline=None)
@given(text=st.one_of(TAGGY, st.text(max_size=60)))
def test_string_scans_equal_the_reference_patterns(text):
    from onethinker.rewards.scoring import ANSWER_PATTERN, FORMAT_PATTERN, _first_answer, _is_think_answer

    assert _is_think_answer(text) == bool(FORMAT_PATTERN.fullmatch(text))
    m = ANSWER_PATTERN.search(text)
    assert _first_answer(text) == (m.group(1) if m else None)
