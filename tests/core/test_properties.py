"""Property tests: no input makes the parser or the reward raise, and answers survive JSON."""

import json
import math

import pytest
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


# -- adversarial answers: what a broken or stuck model writes -------------------------------

def _repeat(piece: str):
    return st.integers(min_value=1, max_value=3000).map(lambda n: piece * n)


NUMBERS = st.one_of(
    st.integers(min_value=309, max_value=5000).map(lambda n: "9" * n),  # no float holds it
    st.integers(min_value=4301, max_value=6000).map(lambda n: "-" + "1" * n),  # past int()'s digit limit
    st.sampled_from(["NaN", "Infinity", "-Infinity", "true", "false", "null", "1e400", "-0", "1e-400", '"7"']),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers().map(str),
)
ODD_UNICODE = st.text(alphabet=st.sampled_from(list("١٢٣²³½１２\u200b\u200f\u202e\ufeff\u00a0\u2028\x1c\x00é€𝟙"
                                                    "<>/[]{}:,\"' ")), max_size=200)
RUNS = st.one_of(*(_repeat(p) for p in ["1", " ", "<", "< ", "[", "{", "(", "```", ",", '"1":', '"1": [', "a",
                                        "<think>", "</answer>", "<answer>", "answer ", "1,"]))
NESTED = st.integers(min_value=1, max_value=100_000).map(lambda n: "[" * n + "]" * n)
VALUE = st.one_of(NUMBERS, NESTED, RUNS, ODD_UNICODE)


@st.composite
def adversarial_answer(draw):
    """An answer shaped like the task's JSON (or plain text) with hostile values in it."""
    v = [draw(VALUE) for _ in range(4)]
    shape = draw(st.sampled_from([
        "{v0}",
        '{{"boxes": [{v0}, {v1}, {v2}, {v3}]}}',
        '{{"time": [{v0}, {v1}]}}',
        '{{"time": [{v0}, {v1}], "boxes": {{"{v2}": [1, 2, 3, {v3}], "2": [1, 2, 3, 4]}}}}',
        '{{"boxes": {{"{v0}": [1, 2, 3, 4], "{v1}": [{v2}, 0, 9, {v3}]}}}}',
        '{{"time": {v0}, "boxes": [1, 2, 3, 4], "positive_points": [[{v1}, 1], [2, 2], [3, 3]], '
        '"negative_points": [[{v2}, {v3}], [5, 5], [6, 6]]}}',
        "```json\n{v0}\n```{v1}",
    ]))
    return shape.format(v0=v[0], v1=v[1], v2=v[2], v3=v[3])


ADVERSARIAL_TEXT = st.builds(
    lambda think, answer, tail, wrap: wrap.format(think=think, answer=answer, tail=tail),
    st.one_of(RUNS, ODD_UNICODE, st.just("ok")), adversarial_answer(), st.one_of(st.just(""), RUNS),
    st.sampled_from(["<think>{think}</think><answer>{answer}</answer>{tail}", "<think>{think}<answer>{answer}{tail}",
                     "{think}{answer}{tail}", "<think>{think}</think><answer>{answer}"]))
TRUTHS = {
    "temporal grounding": '{"time": [1, 5]}', "spatial grounding": '{"boxes": [1, 1, 9, 9]}',
    "spatial-temporal grounding": '{"time": [1, 3], "boxes": {"1": [1, 1, 9, 9], "2": [1, 1, 9, 9]}}',
    "tracking": '{"boxes": {"1": [1, 1, 9, 9], "2": [2, 2, 9, 9]}}',
    "segmentation-image": '{"boxes": [1, 1, 9, 9], "positive_points": [[2, 2], [3, 3], [4, 4]], '
                          '"negative_points": [[0, 0], [9, 9], [8, 8]]}',
    "segmentation-video": '{"time": 2, "boxes": [1, 1, 9, 9], "positive_points": [[2, 2], [3, 3], [4, 4]], '
                          '"negative_points": [[0, 0], [9, 9], [8, 8]]}',
    "math": "\\frac{1}{2}", "numerical": "3", "regression": "3.5", "multiple choice": "B",
}


@pytest.mark.parametrize("task", TASK_IDS)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(text=ADVERSARIAL_TEXT, final=st.booleans())
def test_adversarial_answers_give_ordinary_results(task, text, final):
    a = parse(text, task, final=final)
    assert not (a.error or "").startswith("internal parser error"), a.error
    if a.phase == "done" and a.payload is None:
        assert a.error
    assert Answer.from_json(a.to_json()) == a
    s = score(text, TRUTHS.get(task, "a red car"), task)
    assert s.error is None
    assert all(math.isfinite(x) for x in s[:4]) and 0.0 <= s.accuracy <= 1.0
