"""``python -m onethinker.eval`` and the committed example evaluation."""

import json
import subprocess
import sys

import pytest

from onethinker.eval import compute_metrics, read_rows, score_rows
from onethinker.eval.__main__ import main
from onethinker.tasks import TASKS
from tests.eval.conftest import EXAMPLES
from tests.eval.helpers import R, row


def test_help_lists_both_commands():
    out = subprocess.run([sys.executable, "-m", "onethinker.eval", "--help"], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0 and "run" in out.stdout and "score" in out.stdout
    run_help = subprocess.run([sys.executable, "-m", "onethinker.eval", "run", "--help"], capture_output=True,
                              text=True, timeout=120).stdout
    for flag in ("--media-root", "--server", "--concurrency", "--temperature", "--segmenter", "--prompt-templates"):
        assert flag in run_help


def test_score_recomputes_everything_from_the_rows(tmp_path, capsys):
    rows = [{**row("numerical", "3", R("3"), problem_id=1), "accuracy": 0.0},  # a stale score
            {**row("spatial grounding", {"boxes": [0, 0, 10, 10]}, R({"boxes": [0, 0, 10, 5]}), problem_id=2)}]
    src = tmp_path / "official_eval.json"
    src.write_text(json.dumps({"results": rows, "metrics": {"overall/acc": 0.99}, "meta": {"model_path": "m"}}))
    assert main(["score", str(src)]) == 0
    out = read_rows(tmp_path / "official_eval_scored.json")
    assert [r["accuracy"] for r in out.results] == [1.0, 0.5]
    assert out.metrics["overall/acc"] == 0.75 and out.metrics["spatial grounding/iou/R@0.5"] == 1.0
    assert out.meta["model_path"] == "m" and out.meta["scored_from"] == str(src)
    printed = capsys.readouterr()
    assert "overall/acc: 0.7500" in printed.out and "scoring" in printed.err  # metrics, and a progress bar


def test_cli_errors_are_one_clear_line(tmp_path, capsys):
    assert main(["score", str(tmp_path / "missing.json")]) == 2
    assert "file not found" in capsys.readouterr().err
    (tmp_path / "in.json").write_text("[]")
    assert main(["score", str(tmp_path / "in.json"), "--segmenter", "sam2"]) == 2
    assert "--media-root" in capsys.readouterr().err
    assert main(["run", str(tmp_path / "in.json"), "--media-root", str(tmp_path / "none"), "--server",
                 "http://127.0.0.1:9/v1"]) == 2
    assert "not a folder" in capsys.readouterr().err


def test_run_command_with_a_server(tmp_path, capsys, media_root):
    from tests.engine.fake_openai_server import FakeOpenAIServer

    inp = tmp_path / "in.jsonl"
    inp.write_text("\n".join(json.dumps(row("multiple choice", "B", problem_id=i)) for i in range(3)))
    out = tmp_path / "res.json"
    with FakeOpenAIServer(deltas=("<think>x</think>", "<answer>B</answer>")) as server:
        rc = main(["run", str(inp), "--media-root", str(media_root), "--out", str(out), "--server", server.base_url,
                   "--concurrency", "2", "--max-new-tokens", "16"])
        body = server.requests[-1]["json"]
    assert rc == 0 and read_rows(out).metrics["multiple choice/acc"] == 1.0
    assert body["max_tokens"] == 16 and body["temperature"] == 0.0
    assert "evaluating" in capsys.readouterr().err


# ---------------------------------------------------------------------------------------------
# The example evaluation in examples/results/


def test_examples_cover_every_task_type_with_small_media():
    res = read_rows(EXAMPLES / "results.json")
    covered = {(r["problem_type"], r["data_type"] if r["problem_type"] == "segmentation" else "") for r in res.results}
    wanted = {(t.problem_type, t.media[0] if t.problem_type == "segmentation" else "") for t in TASKS.values()}
    assert wanted <= covered
    assert "illustrative" in res.meta["note"].lower() and "not model output" in res.meta["note"]
    assert sum(p.stat().st_size for p in (EXAMPLES / "media").iterdir()) < 300_000
    assert all((EXAMPLES / "media" / r["path"]).is_file() for r in res.results if not r["path"].startswith(".."))


def test_example_results_agree_with_the_code():
    res = read_rows(EXAMPLES / "results.json")
    assert res.metrics == pytest.approx(compute_metrics(res.results))
    again = score_rows(res.results)  # segmentation rows keep their recorded masks' scores
    for before, after in zip(res.results, again):
        for k in ("prediction", "accuracy", "components", "format", "error"):
            assert after[k] == pytest.approx(before[k]) if isinstance(before[k], float) else after[k] == before[k]
    inputs = json.loads((EXAMPLES / "eval_input.json").read_text())
    assert [{k: r[k] for k in i} for i, r in zip(inputs, res.results)] == inputs
