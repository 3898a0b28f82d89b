"""Hand-computed OneThinker reward values, one block per task, plus the strictness rules."""

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from onethinker.answer import BoxAnswer, parse
from onethinker.rewards import (
    compute_score,
    extract_answer,
    format_reward,
    math_equal,
    point_set_similarity,
    rouge_mean_f,
    score,
    word_error_rate,
)


def R(answer: str) -> str:
    return f"<think>reasoning</think>\n<answer>{answer}</answer>"


def check(response, truth, task, data_type=None, *, acc, fmt=1.0, struct):
    s = score(response, truth, task, data_type)
    assert s.error is None, s.error
    assert s.accuracy == pytest.approx(acc, abs=1e-9)
    assert s.format == fmt
    assert s.structure == pytest.approx(struct, abs=1e-9)
    assert s.overall == pytest.approx(0.9 * acc + 0.1 * fmt + struct, abs=1e-9)
    return s


# -- format ---------------------------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("<think>a</think><answer>b</answer>", 1.0),
    ("  <think>a\nb</think>\n\n<answer>b</answer>\n", 1.0),
    ("< think >a< / think ><answer >b</ answer>", 1.0),
    ("<think>a</think>extra<answer>b</answer>", 0.0),
    ("<answer>b</answer>", 0.0),
    ("<think>a</think><answer>b</answer> trailing", 0.0),
    ("<THINK>a</THINK><answer>b</answer>", 0.0),
    ("<think>a</think><answer>b", 0.0),
    (None, 0.0),
])
def test_format_reward(text, expected):
    assert format_reward(text) == expected


def test_answer_extraction_takes_the_first_answer():
    assert extract_answer("<answer> A </answer><answer>B</answer>") == "A"
    assert extract_answer("no tags") is None


# -- question answering ---------------------------------------------------------------------

def test_multiple_choice():
    check(R("B"), "B", "multiple choice", acc=1, struct=0.5)
    check(R("B"), "<answer>B</answer>", "multiple choice", acc=1, struct=0.5)  # wrapped ground truth
    check(R("(b)"), "B", "multiple choice", acc=1, struct=0.5)
    check(R("C"), "B", "multiple choice", acc=0, struct=0.5)
    check(R("B. a dog"), "B", "multiple choice", acc=0, struct=0.5)  # strict: a letter, not a sentence
    # no tags: accuracy is read from the whole response, format and structure are 0
    s = check("B", "B", "multiple choice", acc=1, fmt=0.0, struct=0.0)
    assert s.overall == pytest.approx(0.9)


def test_numerical_rounds_to_two_decimals():
    check(R("3.14159"), "3.14", "numerical", acc=1, struct=0.5)
    check(R("3.146"), "3.14", "numerical", acc=0, struct=0.5)
    check(R("1,000"), "1000", "numerical", acc=1, struct=0.5)
    check(R("ten"), "10", "numerical", acc=0, struct=0.5)


def test_regression_mean_relative_accuracy():
    # |7.7 - 10| / 10 = 0.23 < 1 - θ for θ in 0.50 … 0.75 → 6 of 10 thresholds
    check(R("7.7"), "10", "regression", acc=0.6, struct=0.5)
    check(R("10"), "10", "regression", acc=1.0, struct=0.5)
    check(R("25"), "10", "regression", acc=0.0, struct=0.5)


def test_ocr_one_minus_word_error_rate():
    check(R("the quick brown dog"), "the quick brown fox", "ocr", acc=0.75, struct=0.5)
    check(R("quick brown fox jumps"), "the quick brown fox", "ocr", acc=0.5, struct=0.5)
    check(R("a b c d e f g h"), "x", "ocr", acc=0.0, struct=0.5)  # clipped at 0
    # only the tags are normalised: the answer's own " / " is scored as written
    check(R("a / b"), "a / b", "ocr", acc=1.0, struct=0.5)


def test_word_error_rate_counts_edits_over_reference_words():
    assert word_error_rate("a b c", "a x c d") == pytest.approx(2 / 3)
    assert word_error_rate("", "a b") == 2.0


def test_open_ended_mean_rouge():
    # R1 F=2/3, R2 F=2/7, RL F=4/9 (LCS "cat sat"), by hand
    expected = (2 / 3 + 2 / 7 + 4 / 9) / 3
    check(R("the cat sat"), "a cat sat on the mat", "open-ended", acc=expected, struct=0.5)
    check(R("Dogs are running"), "dog runs", "captioning",
          acc=rouge_mean_f("dog runs", "Dogs are running"), struct=0.5)
    assert rouge_mean_f("dog runs", "Dogs are running") > 0.3  # stemming makes dogs≈dog, running≈run


WORDS = st.sampled_from(["the", "runners", "running", "runs", "quick", "a", "cat", "cats", "3", "Über", "!", ",",
                         "dog", "dogs", "door", "red", "is"])
SENTENCE = st.lists(WORDS, max_size=30).map(" ".join)


def test_our_rouge_matches_rouge_score():
    for a, b in [("The runners were running quickly", "a runner runs quick"),
                 ("Überraschung! 3 cats, 2 dogs.", "three cats and two dogs"), ("", "x")]:
        assert rouge_mean_f(a, b) == pytest.approx(_rouge_score_mean(a, b), abs=1e-12)


@settings(max_examples=300, deadline=None)
@given(a=SENTENCE, b=SENTENCE)
def test_our_rouge_matches_rouge_score_on_random_texts(a, b):
    assert rouge_mean_f(a, b) == pytest.approx(_rouge_score_mean(a, b), abs=1e-12)


def _rouge_score_mean(a: str, b: str) -> float:
    from rouge_score import rouge_scorer

    s = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"], use_stemmer=True).score(a, b)
    return sum(v.fmeasure for v in s.values()) / 3


@settings(max_examples=300, deadline=None)
@given(a=st.lists(st.integers(0, 4), max_size=40), b=st.lists(st.integers(0, 4), max_size=40))
def test_bit_parallel_lcs_equals_the_table(a, b):
    from onethinker.rewards.metrics import lcs_length

    table = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
    for i, x in enumerate(a, 1):
        for j, y in enumerate(b, 1):
            table[i][j] = table[i - 1][j - 1] + 1 if x == y else max(table[i - 1][j], table[i][j - 1])
    assert lcs_length(a, b) == table[-1][-1] == lcs_length(b, a)


@pytest.mark.parametrize("pred, truth, equal", [
    ("\\frac{1}{2}", "0.5", True),
    ("$\\frac{7}{2}$", "3.5", True),
    ("2\\sqrt{2}", "\\sqrt{8}", True),
    ("(x+1)^2", "x^2+2x+1", True),
    ("\\boxed{12}", "12", True),
    ("1,234", "1234", True),
    ("3", "4", False),
    ("", "4", False),
])
def test_math_equivalence(pred, truth, equal):
    assert math_equal(pred, truth) is equal
    check(R(pred), truth, "math", acc=1.0 if equal else 0.0, struct=0.5)


# -- grounding ------------------------------------------------------------------------------

def test_temporal_grounding_tiou():
    check(R('{"time": [2, 6]}'), '{"time": [4, 8]}', "temporal grounding", acc=1 / 3, struct=0.5)
    check(R('{"time": ["2", "6"]}'), '{"time": [4, 8]}', "temporal grounding", acc=1 / 3, struct=0.5)
    # end-first span scores nothing, although the parser shows it swapped
    check(R('{"time": [6, 2]}'), '{"time": [4, 8]}', "temporal grounding", acc=0, struct=0.5)
    check(R('{"time": [2]}'), '{"time": [4, 8]}', "temporal grounding", acc=0, struct=0.0)


def test_spatial_grounding_iou():
    check(R('{"boxes": [0, 0, 10, 10]}'), '{"boxes": [5, 5, 15, 15]}', "spatial grounding", acc=1 / 7, struct=0.5)
    check(R('{"boxes": [0, 0, 10, 10]}'), BoxAnswer((0, 0, 10, 10)), "spatial grounding", acc=1, struct=0.5)


def test_display_repairs_never_raise_the_reward():
    truth = '{"boxes": [0, 0, 10, 10]}'
    inverted, outside, fenced = R('{"boxes": [10, 10, 0, 0]}'), R('{"boxes": [-100, 0, 10, 10]}'), \
        R('```json\n{"boxes": [0, 0, 10, 10]}\n```')
    for text in (inverted, outside, fenced):
        shown = parse(text, "spatial grounding")
        assert shown.warnings and shown.payload is not None  # the parser repairs it for display …
    check(inverted, truth, "spatial grounding", acc=0.0, struct=0.5)  # … the reward does not
    check(outside, truth, "spatial grounding", acc=1 / 11, struct=0.5)
    check(fenced, truth, "spatial grounding", acc=0.0, struct=0.0)


A = [0, 0, 10, 10]


def test_spatio_temporal_grounding():
    truth = {"time": [1, 4], "boxes": {str(s): A for s in (1, 2, 3, 4)}}
    pred = '{"time": [2, 4], "boxes": {"2": [0, 0, 10, 10], "3": [0, 0, 5, 10]}}'
    # tIoU 2/3; IoU over common seconds (1 + 0.5) / 2; structure 0.25 + 0.25 · 2/4
    import json
    s = check(R(pred), json.dumps(truth), "spatial-temporal grounding",
              acc=0.5 * 2 / 3 + 0.5 * 0.75, struct=0.375)
    assert s.overall == pytest.approx(1.1125)
    # key overlap counts even when the shape is wrong ("time" missing)
    check(R('{"boxes": {"1": [0, 0, 10, 10]}}'), json.dumps(truth), "spatial-temporal grounding",
          acc=0.5 * 0 + 0.5 * 1.0, struct=0.0625)


def test_tracking_mean_iou_over_truth_seconds():
    import json
    truth = json.dumps({"boxes": {str(s): A for s in (1, 2, 3, 4)}})
    pred = '{"boxes": {"1": [0, 0, 10, 10], "2": [0, 0, 10, 5], "5": [0, 0, 10, 10]}}'
    s = check(R(pred), truth, "tracking", acc=(1 + 0.5 + 0 + 0) / 4, struct=0.25 + 0.25 * 2 / 4)
    assert s.overall == pytest.approx(0.8125)
    # keys are compared as written: "1.0" is not second "1"
    check(R('{"boxes": {"1.0": [0, 0, 10, 10]}}'), truth, "tracking", acc=0.0, struct=0.25)


SEG_TRUTH = {"boxes": [0, 0, 100, 100], "positive_points": [[10, 10], [20, 20], [30, 30]],
             "negative_points": [[200, 200], [300, 300], [400, 400]]}
SEG_PRED = {"boxes": [0, 0, 100, 50], "positive_points": [[30, 30], [10, 10], [20, 20]],
            "negative_points": [[230, 240], [330, 340], [430, 440]]}


def test_point_matching_is_one_to_one_and_gaussian():
    assert point_set_similarity(SEG_PRED["positive_points"], SEG_TRUTH["positive_points"]) == pytest.approx(1.0)
    # every negative point is 50 px off: exp(-50² / (2·50²)) = exp(-0.5)
    assert point_set_similarity(SEG_PRED["negative_points"], SEG_TRUTH["negative_points"]) == pytest.approx(math.exp(-0.5))
    assert point_set_similarity([[0, 0], [1, 1]], [[0, 0], [1, 1]]) == 0.0  # needs exactly 3 each


def test_image_segmentation():
    import json
    acc = 0.5 * 0.5 + 0.25 * 1.0 + 0.25 * math.exp(-0.5)
    check(R(json.dumps(SEG_PRED)), json.dumps(SEG_TRUTH), "segmentation", "image", acc=acc, struct=0.5)
    two_neg = dict(SEG_PRED, negative_points=SEG_PRED["negative_points"][:2])
    check(R(json.dumps(two_neg)), json.dumps(SEG_TRUTH), "segmentation", "image", acc=0.0, struct=0.0)


def test_video_segmentation():
    import json
    truth = json.dumps(dict(SEG_TRUTH, time=3))
    acc = 0.3 * 0.5 + 0.3 * math.exp(-1.0) + 0.2 * 1.0 + 0.2 * math.exp(-0.5)
    check(R(json.dumps(dict(SEG_PRED, time=5))), truth, "segmentation", "video", acc=acc, struct=0.5)
    # the key time must be a JSON number
    check(R(json.dumps(dict(SEG_PRED, time="5"))), truth, "segmentation", "video", acc=0.0, struct=0.0)
    # the image shape is not enough for video
    check(R(json.dumps(SEG_PRED)), truth, "segmentation", "video", acc=0.0, struct=0.0)


# -- batch interface and bad input ----------------------------------------------------------

def test_compute_score_matches_single_item_scores_and_format_weight():
    items = [
        {"response": R("B"), "ground_truth": "<answer>B</answer>", "data_type": "image", "problem_type": "multiple choice"},
        {"response": R('{"time": [2, 6]}'), "ground_truth": '{"time": [4, 8]}', "data_type": "video",
         "problem_type": "temporal grounding"},
        {"response": "B", "ground_truth": "B", "data_type": "image", "problem_type": "multiple choice"},
    ]
    rows = compute_score(items, format_weight=0.2)
    assert rows[0] == {"overall": pytest.approx(0.8 + 0.2 + 0.5), "format": 1.0, "accuracy": 1.0,
                       "structure_reward": 0.5}
    assert rows[1]["overall"] == pytest.approx(0.8 / 3 + 0.2 + 0.5)
    assert rows[2] == {"overall": pytest.approx(0.8), "format": 0.0, "accuracy": 1.0, "structure_reward": 0.0}


def test_compute_score_rejects_a_non_list_with_an_explanation():
    with pytest.raises(TypeError, match="list of reward-input dicts"):
        compute_score({"response": "x"})


@pytest.mark.parametrize("args, fragment", [
    ((R("B"), "B", "nope"), "unknown task"),
    ((None, "B", "multiple choice"), "must be text"),
    ((R("B"), "", "multiple choice"), "ground truth"),
    ((R("B"), None, "multiple choice"), "ground truth"),
    ((R('{"boxes": [1, 2, 3, 4]}'), "not json", "spatial grounding"), "not a JSON object"),
])
def test_bad_inputs_score_zero_with_a_reason(args, fragment):
    s = score(*args)
    assert fragment in s.error
    if "JSON" not in fragment:
        assert (s.overall, s.accuracy, s.format, s.structure) == (0, 0, 0, 0)


def test_bad_format_weight():
    assert "format_weight" in score(R("B"), "B", "multiple choice", format_weight=float("nan")).error


# -- metric primitives never raise ---------------------------------------------------------

BAD_VALUES = [None, "", "x", float("nan"), [], [float("nan")] * 4, ["1", "b", 3, 4], {"a": 1}, [True, 1, 2, 3],
              [1e308, 1e308, 1e308, 1e308]]


@pytest.mark.parametrize("bad", BAD_VALUES)
def test_metrics_score_zero_on_malformed_input(bad):
    from onethinker.rewards import (
        box_iou,
        interval_iou,
        mean_iou_over_common,
        mean_iou_over_truth,
        mean_relative_accuracy,
        ocr_accuracy,
    )

    good_box, good_span = [0, 0, 10, 10], [0, 5]
    assert box_iou(bad, good_box) == 0.0 and box_iou(good_box, bad) == 0.0
    assert interval_iou(bad, good_span) == 0.0
    assert mean_iou_over_truth(bad, {"1": good_box}) == 0.0
    assert mean_iou_over_common({"1": bad}, {"1": good_box}) == 0.0
    assert mean_relative_accuracy(bad, 3) == 0.0
    assert point_set_similarity(bad, [[0, 0], [1, 1], [2, 2]]) == 0.0
    assert 0.0 <= ocr_accuracy(bad, "a b") <= 1.0
    assert rouge_mean_f(bad, "a b") == 0.0 or isinstance(bad, str)
    assert math_equal(bad, "1") is False or isinstance(bad, str)


def test_huge_but_finite_numbers_are_still_numbers():
    from onethinker.rewards import box_iou

    big = [1e308, 1e308, 1.5e308, 1.5e308]  # their sum overflows; the values themselves are finite
    assert 0.0 <= box_iou(big, big) <= 1.0  # no NaN, no exception
    assert box_iou([0.5, 0.5, 10.5, 10.5], [0.5, 0.5, 10.5, 10.5]) == pytest.approx(1.0)
