"""What is shown is what is scored: the first <answer> block, and a streaming phase that never goes back."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from onethinker.answer import PHASES, OptionLetter, parse
from onethinker.rewards import extract_answer, normalize_tags, score

TWO_BLOCKS = "<think>Maybe <answer>C</answer>, or rather D.</think><answer>D</answer>"

# Responses whose later text mentions the tags again.
MENTIONS = [
    TWO_BLOCKS,
    "<think>I will put it in <answer> tags.</think>\n<answer>B</answer>",
    "<think>a</think><answer>B</answer> (the </think> and <answer> tags are done)",
    "<answer>A</answer><think>second thoughts</think><answer>C</answer>",
    "so</think><think>again</think><answer>B</answer>",
    "<think>x < / think >< answer >B</ answer >< think >",
    '<think>r</think><answer>{"boxes": {"1": [1, 2, 3, 4], "2": [5, 6, 7, 8]}}</answer><answer>{"boxes": {}}',
]


def test_the_first_answer_block_is_shown_and_scored():
    a = parse(TWO_BLOCKS, "multiple choice")
    assert a.payload == OptionLetter("C") and a.answer_text == extract_answer(TWO_BLOCKS)
    assert any("several <answer> blocks" in w for w in a.warnings)
    assert a.think == "Maybe"
    assert score(TWO_BLOCKS, "C", "multiple choice").accuracy == 1.0
    assert score(TWO_BLOCKS, "D", "multiple choice").accuracy == 0.0


def test_one_block_has_no_several_blocks_warning():
    a = parse("<think>x</think><answer>C</answer>", "multiple choice")
    assert a.warnings == ()


@pytest.mark.parametrize("text", MENTIONS)
@pytest.mark.parametrize("task", ["multiple choice", "tracking"])
def test_streaming_phase_never_goes_backwards(text, task):
    phases = [PHASES.index(parse(text[:i], task, final=False).phase) for i in range(len(text) + 1)]
    assert phases == sorted(phases), [PHASES[p] for p in phases]
    assert phases[-1] == PHASES.index("done")
    # once done, the shown answer stays the scored one
    done_at = phases.index(PHASES.index("done"))
    shown = {normalize_tags(parse(text[:i], task, final=False).answer_text) for i in range(done_at, len(text) + 1)}
    assert shown == {extract_answer(text)}


TAGGY = st.lists(st.sampled_from(["<think>", "</think>", "<answer>", "</answer>", "< / think >", "< answer>",
                                  " ", "\n", "\u00a0", "x", "B", "<", ">", "/"]), max_size=25).map("".join)


@settings(max_examples=600, deadline=None)
@given(text=TAGGY)
def test_the_shown_answer_is_the_scored_answer(text):
    scored = extract_answer(text)
    a = parse(text, "open-ended")
    if scored is not None:
        assert normalize_tags(a.answer_text) == scored


@settings(max_examples=300, deadline=None)
@given(text=TAGGY)
def test_phases_over_prefixes_are_monotone(text):
    phases = [PHASES.index(parse(text[:i], "open-ended", final=False).phase) for i in range(len(text) + 1)]
    assert phases == sorted(phases)
