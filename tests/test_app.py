"""The app starts without any model and its placeholder page parses and scores a pasted response."""

import app


def test_app_builds_and_scores_a_pasted_response():
    demo = app.build_demo()
    assert demo is not None
    parsed, scored = app._check("spatial grounding",
                                '<think>left</think><answer>{"boxes": [0, 0, 10, 10]}</answer>',
                                '{"boxes": [0, 0, 10, 20]}')
    assert parsed["payload"] == {"type": "box", "box": [0.0, 0.0, 10.0, 10.0]}
    assert scored["accuracy"] == 0.5 and scored["error"] is None


def test_app_without_ground_truth_only_parses():
    parsed, scored = app._check("multiple choice", "<answer>maybe</answer>", "")
    assert scored is None and "option letter" in parsed["error"]
