"""Never raise, never hang: huge numbers, deep nesting and the long runs a stuck model writes.

The big-input tests check results on 60,000-character texts.  Their cost is measured, not asserted,
by benchmarks/bench_rewards.py ("pathological input" rows); before the linear rewrite each of these
calls took from seconds to minutes.
"""

import json
import math

import pytest

from onethinker.answer import SpatioTemporal, Track, parse
from onethinker.rewards import (
    box_iou,
    compute_score,
    interval_iou,
    mean_iou_over_common,
    mean_iou_over_truth,
    point_set_similarity,
    score,
)
from onethinker.rewards.metrics import strict_number, strict_numbers

HUGE = "1" + "0" * 400  # 10**400 written as digits: a JSON integer no float can hold
N = 60_000


def R(answer: str, think: str = "reasoning") -> str:
    return f"<think>{think}</think><answer>{answer}</answer>"


SEG = {"boxes": [10, 10, 50, 50], "positive_points": [[20, 20], [30, 30], [40, 40]],
       "negative_points": [[0, 0], [60, 60], [70, 70]]}

# (task, data type, answer with 10**400 in it, a good ground truth)
HUGE_CASES = [
    ("spatial grounding", "image", '{"boxes": [%s, 0, 10, 10]}' % HUGE, '{"boxes": [0, 0, 10, 10]}'),
    ("temporal grounding", "video", '{"time": [0, %s]}' % HUGE, '{"time": [0, 10]}'),
    ("spatial-temporal grounding", "video", '{"time": [0, 2], "boxes": {"1": [0, 0, %s, 10]}}' % HUGE,
     '{"time": [0, 2], "boxes": {"1": [0, 0, 10, 10]}}'),
    ("tracking", "video", '{"boxes": {"1": [0, 0, %s, 10]}}' % HUGE, '{"boxes": {"1": [0, 0, 10, 10]}}'),
    ("segmentation", "image", json.dumps(SEG).replace("[20, 20]", "[%s, 20]" % HUGE), json.dumps(SEG)),
    ("segmentation", "video", json.dumps(dict(SEG, time=1)).replace('"time": 1', '"time": %s' % HUGE),
     json.dumps(dict(SEG, time=1))),
]


IDS = [f"{c[0]}-{c[1]}" for c in HUGE_CASES]


@pytest.mark.parametrize("task, data_type, answer, truth", HUGE_CASES, ids=IDS)
def test_an_integer_too_large_for_a_float_counts_as_no_number(task, data_type, answer, truth):
    s = score(R(answer), truth, task, data_type)
    assert s.error is None
    assert s == score(R(answer.replace(HUGE, "null")), truth, task, data_type)
    assert s.accuracy < 0.5 + 1e-9  # the time may still match; the box, point or key time never does
    # the same value as the ground truth is a bad data row: zero, and the reason
    bad_truth = score(R(truth), answer, task, data_type)
    assert "ground truth" in bad_truth.error and bad_truth.accuracy <= s.accuracy
    # one such rollout leaves the rest of its batch alone
    good = {"response": R(truth), "ground_truth": truth, "data_type": data_type, "problem_type": task}
    rows = compute_score([dict(good, response=R(answer)), good])
    assert rows[0]["accuracy"] == s.accuracy and rows[1]["accuracy"] == pytest.approx(1.0)


@pytest.mark.parametrize("task, data_type, answer, truth", HUGE_CASES, ids=IDS)
def test_an_integer_too_large_for_a_float_is_an_ordinary_parse_result(task, data_type, answer, truth):
    a = parse(R(answer), task, data_type=data_type)
    said = " ".join([a.error or "", *a.warnings])
    assert "internal" not in said
    assert "not a finite number" in said or "numeric 'time'" in said
    assert a.payload is None or a.warnings  # dropped with a reason, never silently kept
    json.loads(a.to_json())  # and it still stores


def test_huge_python_integers_are_not_numbers_in_the_metrics():
    big = 10**400
    assert strict_number(big) is None and strict_numbers([big, -big], 2) is None
    assert box_iou([0, 0, big, big], [0, 0, big, big]) == 0.0
    assert box_iou([big, 0, big + 1, 1], [big, 0, big + 1, 1]) == 0.0
    assert interval_iou([0, big], [0, big]) == 0.0
    assert mean_iou_over_truth({"1": [0, 0, big, 1]}, {"1": [0, 0, big, 1]}) == 0.0
    assert mean_iou_over_common({"1": [0, 0, big, 1]}, {"1": [0, 0, big, 1]}) == 0.0
    pts = [[big, 0], [1, 1], [2, 2]]
    assert point_set_similarity(pts, pts) == 0.0
    # large integers that a float holds are still numbers, whichever path they take
    assert box_iou([0, 0, 2**40, 2**40], [0, 0, 2**40, 2**40]) == pytest.approx(1.0)
    assert interval_iou([-1e308, 1e308], [-1e308, 1e308]) == 0.0  # inf / inf is not a score


def test_a_5000_digit_second_key_is_ignored_with_a_warning():
    a = parse(R('{"boxes": {"%s": [1, 2, 3, 4], "2": [5, 6, 7, 8]}}' % ("1" * 5000)), "tracking")
    assert a.error is None and a.payload == Track({2: (5.0, 6.0, 7.0, 8.0)})
    assert any("not a whole-second key" in w and len(w) < 120 for w in a.warnings)


@pytest.mark.parametrize("task", ["tracking", "spatial grounding", "temporal grounding", "segmentation"])
def test_deeply_nested_json_is_an_ordinary_error(task):
    deep = "[" * 100_000 + "]" * 100_000
    for answer in (deep, '{"boxes": %s}' % deep):
        a = parse(R(answer), task)
        assert a.error and "internal" not in a.error
        assert score(R(answer), R(answer), task).accuracy == 0.0


def test_a_time_span_of_1e300_seconds_does_not_hang():
    a = parse(R('{"time": [0, 1e300], "boxes": {"2": [1, 1, 5, 5]}}'), "spatial-temporal grounding")
    assert a.payload == SpatioTemporal(0.0, 1e300, {2: (1.0, 1.0, 5.0, 5.0)})
    [missing] = [w for w in a.warnings if w.startswith("no box for seconds")]
    assert missing.startswith("no box for seconds [0, 1, 3, 4, 5, 6, 7, 8, …]") and len(missing) < 400


def test_a_data_type_that_is_not_text_is_an_ordinary_parse_error():
    a = parse(R("B"), "multiple choice", data_type=3)
    assert a.error and "data_type" in a.error and "internal" not in a.error


# -- 60,000-character texts: right results (their cost is in benchmarks/bench_rewards.py) -----

def test_streaming_track_with_a_long_run_of_digits():
    head = '<think>r</think><answer>{"boxes": {"1": [1, 2, 3, 4], "2": ['
    a = parse(head + "1" * N, "tracking", final=False)
    assert a.phase == "answering" and a.error is None and a.payload == Track({1: (1.0, 2.0, 3.0, 4.0)})
    a = parse('<think>r</think><answer>{"time": [1, 3], "boxes": {"' + "1" * N, "spatial-temporal grounding",
              final=False)
    assert a.phase == "answering" and a.payload == SpatioTemporal(1.0, 3.0, {})
    # letters or back-ticks where keys go, and a key run closed by a colon at last
    for junk in ("a" * N + ":", "`" * N, '"1":' * (N // 4), '"1": [' * (N // 6)):
        a = parse('<think>r</think><answer>{"boxes": {' + junk, "tracking", final=False)
        assert a.phase == "answering" and a.error is None and a.payload == Track({})


FILLERS = {"lt-spaces": "<" + " " * N, "lt-slash-spaces": "< /" + " " * N,
           "lt-spaces-slash-spaces": "<" + " " * N + "/" + " " * N, "lts": "<" * N,
           "think-tags": "<think>" * (N // 7), "answer-spaces": "answer" + " " * N}


@pytest.mark.parametrize("filler", FILLERS.values(), ids=FILLERS.keys())
def test_reasoning_with_a_long_run_of_spaces_or_tags(filler):
    text = R("C", think="look " + filler + " done")
    s = score(text, "C", "multiple choice")
    assert (s.accuracy, s.format) == (1.0, 1.0)
    a = parse(text, "multiple choice")
    assert a.payload is not None and a.payload.letter == "C" and a.think.startswith("look")
    # the same text cut anywhere inside the filler, while streaming
    cut = parse(text[: len(text) // 2], "multiple choice", final=False)
    assert cut.phase == "thinking" and cut.think.startswith("look")


def test_streaming_reasoning_with_a_lone_tag_start_followed_by_spaces():
    # the old cut-tag pattern backtracked cubically here: 1.5 s at 1,000 spaces, hours at 20,000
    a = parse("<think>look <" + " " * N + "x.", "multiple choice", final=False)
    assert a.phase == "thinking" and a.think.startswith("look <") and a.think.endswith("x.")
    a = parse("<think>look < /" + " " * N + "ans", "multiple choice", final=False)
    assert a.phase == "thinking" and a.think == "look"  # a cut-off </ans…> tag is hidden


RUNS = {"answer-spaces": ("answer" + " " * N + "x", "multiple choice"), "digits": ("1" * N, "numerical"),
        "digit-commas": ("1," * (N // 2), "numerical"), "fences": ("```" * (N // 3), "spatial grounding"),
        "comma-spaces": ('{"boxes": [1,' + " " * N + "x", "spatial grounding"), "parens": ("(" * N, "segmentation"),
        "quote-digits": ("'" + "1" * N, "tracking")}


@pytest.mark.parametrize("answer, task", RUNS.values(), ids=RUNS.keys())
def test_answers_that_are_one_long_run(answer, task):
    a = parse(R(answer), task)
    assert a.payload is None and a.error and "internal" not in a.error
    assert score(R(answer), R("B"), task).accuracy == 0.0


def test_math_and_text_rewards_on_a_long_run():
    for junk in ("x" + " " * N + "x", "[" * N, "1," * (N // 2)):
        assert score(R(junk), "\\frac{1}{2}", "math").accuracy == 0.0
        assert 0.0 <= score(R(junk), "a red car", "open-ended").accuracy < 0.1
        assert score(R(junk), "OPEN 24", "ocr").accuracy == 0.0
    assert math.isclose(score(R("1 " * (N // 2)), "1", "open-ended").accuracy, (2 / 30001 + 0 + 2 / 30001) / 3)


def test_thousands_of_bad_keys_give_a_short_list_of_warnings():
    boxes = {f"k{i}k": [1, 2, 3, 4] for i in range(3000)} | {"1": [1, 2, 3, 4]}
    a = parse(R(json.dumps({"boxes": boxes})), "tracking")
    assert a.payload == Track({1: (1.0, 2.0, 3.0, 4.0)})
    assert len(a.warnings) == 21 and a.warnings[-1] == "… and 2980 more warnings of the same kinds"
