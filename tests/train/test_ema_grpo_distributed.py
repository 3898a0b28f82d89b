"""Two CPU processes (torchrun, gloo): one EMA state on both ranks, advantages as in one process."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from tests.train.grpo_fixtures import grpo_media, grpo_model_dir  # noqa: F401  (fixtures)
from train.ema_grpo import TaskStdTracker, compute_ema_grpo_advantages

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_two_processes_keep_one_ema_state_and_match_single_process(grpo_model_dir, grpo_media, tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false",
           "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    # torchrun: accelerate launch hands multi-process CPU runs to mpirun, which this machine does not have
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_addr", "127.0.0.1",
           "--master_port", str(free_port()), "-m", "tests.train.ddp_grpo_worker", grpo_model_dir,
           grpo_media["image"], str(tmp_path)]
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-4000:]
    ranks = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1)]
    assert [r["world_size"] for r in ranks] == [2, 2]
    assert ranks[0]["ema_state"] == ranks[1]["ema_state"] and ranks[0]["ema_state"]["tasks"]

    tracker = TaskStdTracker()  # one process, the same gathered rewards, batch after batch
    assert len(ranks[0]["batches"]) == 2
    for b0, b1 in zip(ranks[0]["batches"], ranks[1]["batches"]):
        assert b0["rewards"] == b1["rewards"] and b0["task_keys"] == b1["task_keys"]
        rewards = (torch.tensor(b0["rewards"]) * torch.tensor(ranks[0]["weights"])).nansum(dim=1)
        assert len(rewards) == 6
        want = compute_ema_grpo_advantages(rewards, [0, 0, 1, 1, 2, 2], b0["task_keys"], tracker)
        got = torch.tensor(b0["local_advantages"] + b1["local_advantages"])
        assert torch.allclose(got, want, atol=1e-6), (got, want)
        assert got.abs().sum() > 0
    assert tracker.state_dict() == ranks[0]["ema_state"]
