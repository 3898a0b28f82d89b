"""Every script a newcomer may run answers ``--help`` with its usage, at once, without a traceback.

Scripts are found by folder, so a new example or benchmark is covered without editing this file.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

SCRIPTS = sorted(str(p.relative_to(ROOT)) for d in ("examples", "benchmarks") for p in (ROOT / d).rglob("*.py"))
MODULES = ["onethinker.feedback", "onethinker.feedback export", "onethinker.feedback stats",
           "onethinker.feedback.stress"]


def _help(args, cwd):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "GRADIO_ANALYTICS_ENABLED": "False", "HF_HUB_OFFLINE": "1"}
    return subprocess.run([sys.executable, *args, "--help"], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=60)


def test_the_scripts_are_found():
    assert "examples/score_file.py" in SCRIPTS and "benchmarks/bench_feedback.py" in SCRIPTS
    assert "examples/results/make_examples.py" in SCRIPTS  # in a subfolder


@pytest.mark.parametrize("script", SCRIPTS)
def test_script_help(script, tmp_path):
    out = _help([str(ROOT / script)], cwd=tmp_path)  # from another folder, as a newcomer might
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("usage: "), out.stdout
    assert "Traceback" not in out.stderr


@pytest.mark.parametrize("command", MODULES)
def test_module_help(command, tmp_path):
    out = _help(["-m", *command.split()], cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith(f"usage: python -m {command}"), out.stdout
    assert "Traceback" not in out.stderr
