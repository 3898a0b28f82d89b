"""``python -m onethinker.feedback``: export and stats, and one-line errors with exit status 2."""

import json
import os
import subprocess
import sys
from pathlib import Path

from onethinker.answer import BoxAnswer
from onethinker.feedback import Correction, Vote
from onethinker.feedback.__main__ import main

from tests.feedback.helpers import record

ROOT = Path(__file__).resolve().parents[2]


def test_cli_export_and_stats(store, tmp_path, capsys):
    store.add(record(store, Vote(1)))
    store.add(record(store, Correction(BoxAnswer((1, 2, 3, 4)))))
    out = tmp_path / "exports" / "rl"
    assert main(["export", "--db", str(store.path), "--format", "rl", "--out", str(out), "--copy-media"]) == 0
    assert "rl: 2 rows (0 duplicates dropped)" in capsys.readouterr().out
    assert len(json.loads((out / "rl.json").read_text())) == 2
    media = next((out / "media").iterdir())
    assert media.stat().st_nlink == 1  # copied, not linked
    assert main(["stats", "--db", str(store.path)]) == 0
    assert "2 records (vote: 1, preference: 0, correction: 1); schema version 2" in capsys.readouterr().out


def test_cli_says_what_an_export_left_out(store, tmp_path, capsys):
    store.add(record(store, Vote(1)))
    store.add(record(store, Correction(BoxAnswer((1, 2, 3, 4)))))  # no rationale, reasoning not kept
    assert main(["export", "--db", str(store.path), "--format", "sft", "--out", str(tmp_path / "sft")]) == 0
    assert "sft: 1 rows (0 duplicates dropped; 1 left out: corrections without reasoning)" in capsys.readouterr().out
    assert main(["export", "--db", str(store.path), "--format", "eval", "--out", str(tmp_path / "eval")]) == 0
    assert "eval: 2 rows (0 duplicates dropped);" in capsys.readouterr().out


def test_cli_errors_are_one_line(tmp_path, store, capsys):
    assert main(["export", "--db", str(tmp_path / "nope.db"), "--format", "sft", "--out", str(tmp_path / "o")]) == 2
    assert "no feedback database" in capsys.readouterr().err
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "notes.txt").write_text("keep me")
    assert main(["export", "--db", str(store.path), "--format", "sft", "--out", str(tmp_path / "busy")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and "not a feedback export" in err and err.count("\n") == 1


def test_module_entry_point(store, tmp_path):
    store.add(record(store, Vote(1)))
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    done = subprocess.run([sys.executable, "-m", "onethinker.feedback", "export", "--db", str(store.path),
                           "--format", "sft", "--out", str(tmp_path / "sft")],
                          capture_output=True, text=True, env=env, cwd=ROOT, timeout=60)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "sft" / "sft.json").is_file() and (tmp_path / "sft" / "dataset_info.json").is_file()
