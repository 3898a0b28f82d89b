"""One test per row of README's table "Where our reward differs from the official one".

Each row was checked against the official reward (EasyR1/verl/reward_function/onethinker_reward.py);
the official result is stated in the docstring, our result is asserted.
"""

import json
import math

import pytest

from onethinker.rewards import compute_score, score
from onethinker.rewards.metrics import MATH_SYMBOLIC_CHARS


def R(answer: str, think: str = "reasoning") -> str:
    return f"<think>{think}</think><answer>{answer}</answer>"


SEG = {"boxes": [10, 10, 50, 50], "positive_points": [[20, 20], [30, 30], [40, 40]],
       "negative_points": [[0, 0], [60, 60], [70, 70]]}


def test_whitespace_is_normalised_only_inside_the_four_tags():
    """Official: removes whitespace around every '<', '>' and '/', so 'a / b' is read as 'a/b' (accuracy 0)."""
    assert score(R("a / b"), "a / b", "ocr").accuracy == 1.0
    assert score("< think >x< / think >\n< answer >a / b</ answer >", "a / b", "ocr").format == 1.0


@pytest.mark.parametrize("written", ["C.", "C)", "C:", "(C)", "c", " C "])
def test_an_option_letter_with_its_punctuation_counts(written):
    """Official: grades with a math answer grader: '(C)' and 'c' count, 'C.' and 'C)' score 0."""
    assert score(R(written), "C", "multiple choice").accuracy == 1.0
    assert score(R("C"), written, "multiple choice").accuracy == 1.0
    assert score(R("B. a dog"), "B", "multiple choice").accuracy == 0.0  # a letter with more text is not a letter


def test_an_empty_answer_earns_nothing():
    """Official: an empty <answer></answer> falls back to the whole response: here ROUGE 0.74 from the reasoning."""
    s = score(R("", think="a red car near the door"), "a red car near the door", "open-ended")
    assert s.accuracy == 0.0 and s.format == 1.0


@pytest.mark.parametrize("task, data_type, answer, truth", [
    ("segmentation", "video", dict(SEG, time=float("nan")), dict(SEG, time=3)),  # official: accuracy NaN
    ("segmentation", "video", dict(SEG, time=True), dict(SEG, time=1)),  # official: 1.0
    ("segmentation", "video", dict(SEG, time=float("inf")), dict(SEG, time=3)),  # official: 0.7
    ("spatial grounding", "image", {"boxes": [True, True, 10, 10]}, {"boxes": [1, 1, 10, 10]}),  # official: 1.0
    ("temporal grounding", "video", {"time": [True, 10]}, {"time": [1, 10]}),  # official: 1.0
    ("segmentation", "image", dict(SEG, positive_points=[[True, True], [30, 30], [40, 40]]),
     dict(SEG, positive_points=[[1, 1], [30, 30], [40, 40]])),  # official: 1.0
])
def test_nan_infinity_and_booleans_are_not_numbers(task, data_type, answer, truth):
    s = score(R(json.dumps(answer)), json.dumps(truth), task, data_type)
    assert all(math.isfinite(v) for v in s[:4])
    assert (s.accuracy, s.structure) == (0.0, 0.0)


def test_nan_coordinates_earn_no_structure_bonus():
    """Official: '{"boxes": [NaN, 0, 10, 10]}' passes its number check, so it earns the 0.5 structure bonus."""
    s = score(R('{"boxes": [NaN, 0, 10, 10]}'), '{"boxes": [0, 0, 10, 10]}', "spatial grounding")
    assert (s.accuracy, s.structure) == (0.0, 0.0)
    s = score(R('{"time": [0, Infinity]}'), '{"time": [0, 10]}', "temporal grounding")
    assert (s.accuracy, s.structure) == (0.0, 0.0)


def test_segmentation_without_a_data_type_is_scored_as_an_image():
    """Official: no data type gives accuracy 0 and structure 0."""
    item = {"response": R(json.dumps(SEG)), "ground_truth": json.dumps(SEG), "problem_type": "segmentation"}
    for data_type in (None, ""):
        assert compute_score([dict(item, data_type=data_type)])[0] == {
            "overall": pytest.approx(1.5), "format": 1.0, "accuracy": 1.0, "structure_reward": 0.5}


def test_an_unknown_task_scores_zero_with_an_error():
    """Official: accuracy 0 but the 'non-structured' structure bonus 0.5, so overall 0.6."""
    s = score(R("B"), "B", "bogus")
    assert tuple(s[:4]) == (0.0, 0.0, 0.0, 0.0) and "unknown task" in s.error
    assert compute_score([{"response": R("B"), "ground_truth": "B", "problem_type": "bogus"}])[0]["overall"] == 0.0


@pytest.mark.parametrize("gold, right, wrong", [
    ("\\sqrt{2}", "$\\sqrt{2}$", "2"),  # official: no gold at all, every answer 0
    ("2\\sqrt{3}", "$2\\sqrt{3}$", "2"),  # official: gold read as 2, so '2' scores 1
    ("10^{3}", "1000", "10"),  # official: gold read as 10
])
def test_a_math_gold_without_dollars_is_read_as_latex(gold, right, wrong):
    assert score(R(right), gold, "math").accuracy == 1.0
    assert score(R(wrong), gold, "math").accuracy == 0.0


def test_a_math_answer_far_longer_than_the_gold_is_compared_as_text():
    """Official: runs math-verify on any answer (seconds, or its 5 s timeout, on long junk)."""
    short = "1" + "+0" * 10
    long = "1" + "+0" * MATH_SYMBOLIC_CHARS  # also equal to 1, but no final answer is written like that
    assert score(R(short), "1", "math").accuracy == 1.0
    assert score(R(long), "1", "math").accuracy == 0.0
    assert score(R(long), long, "math").accuracy == 1.0  # the same text still matches


@pytest.mark.parametrize("truth", ["oops", '{"boxes": [NaN, 1, 5, 5]}', '{"boxes": [1, 1, 5]}',
                                   '{"box": [1, 1, 5, 5]}'])
def test_an_unusable_ground_truth_is_reported(truth):
    """Official: scores such a row 0 without a word.  Ours gives the same numbers and says why."""
    s = score(R('{"boxes": [1, 1, 5, 5]}'), truth, "spatial grounding")
    assert s.accuracy == 0.0 and s.structure == 0.5 and "ground truth for spatial grounding" in s.error
    assert score(R('{"boxes": [1, 1, 5, 5]}'), '{"boxes": [1, 1, 5, 5]}', "spatial grounding").error is None
