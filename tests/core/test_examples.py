"""The shipped examples stay valid: the sample responses parse cleanly and score, the template loads."""

import json
import subprocess
import sys
from pathlib import Path

from onethinker.answer import parse
from onethinker.rewards import compute_score
from onethinker.tasks import build_prompt, load_prompt_templates

ROOT = Path(__file__).resolve().parents[2]


def test_sample_responses_parse_without_repairs_and_score():
    items = [json.loads(line) for line in (ROOT / "examples/sample_responses.jsonl").read_text().splitlines()]
    assert len(items) == 12
    for it in items:
        a = parse(it["response"], it["problem_type"], data_type=it["data_type"])
        assert a.ok and a.warnings == (), (it["problem_type"], a.error, a.warnings)
    rows = compute_score(items)
    assert all(r["format"] == 1.0 and r["accuracy"] > 0.5 for r in rows)


def test_score_file_script_runs():
    out = subprocess.run([sys.executable, str(ROOT / "examples/score_file.py"),
                          str(ROOT / "examples/sample_responses.jsonl")], capture_output=True, text=True, check=True)
    assert "segmentation-video" in out.stdout and "mean overall per task" in out.stdout


def test_example_template_overrides_tracking():
    t = load_prompt_templates(ROOT / "examples/prompt_templates.yaml")
    p = build_prompt("tracking", "Follow the red car.", data_type="video", templates=t)
    assert p.startswith("Follow the red car.\nLook carefully at the video.") and "at most 32" in p
