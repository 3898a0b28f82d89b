"""One rank of the two-process EMA-GRPO test (started by tests/train/test_ema_grpo_distributed.py).

    torchrun --nproc_per_node 2 -m tests.train.ddp_grpo_worker MODEL IMAGE OUT

Trains two steps on image rows and writes ``OUT/rank<r>.json``: the gathered rewards and task keys of each
generation batch, this rank's advantages, and the EMA state at the end.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def main(model_dir: str, image: str, out_dir: str) -> None:
    from tests.train.grpo_fixtures import RecordingTrainer, make_trainer, rl_rows

    # 3 prompts × 2 completions over 2 ranks: rank 0 holds groups 0, 0, 1 and rank 1 groups 1, 2, 2, so one
    # group spans both ranks and only the gathered rewards give its mean
    trainer = make_trainer(model_dir, rl_rows("image", {"image": image}, 6), Path(out_dir) / "run",
                           trainer_class=RecordingTrainer, per_device_train_batch_size=3, max_steps=2)
    trainer.train()
    rank = trainer.accelerator.process_index
    result = {
        "world_size": trainer.accelerator.num_processes,
        "weights": trainer.reward_weights.tolist(),
        "batches": [{"rewards": r.tolist(), "task_keys": k, "local_advantages": a.tolist()}
                    for (r, k), a in zip(trainer.recorded, trainer.local_advantages)],
        "ema_state": trainer.ema_tracker.state_dict(),
    }
    (Path(out_dir) / f"rank{rank}.json").write_text(json.dumps(result))


if __name__ == "__main__":
    main(*sys.argv[1:4])
