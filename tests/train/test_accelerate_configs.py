"""The launch configs in ``train/accelerate/`` load with accelerate's own config reader and say what README says."""

from __future__ import annotations

from pathlib import Path

import pytest

CONFIGS = Path(__file__).resolve().parents[2] / "train" / "accelerate"
EXPECTED = {  # file: (distributed type, what makes it that kind of run)
    "multi_gpu.yaml": ("MULTI_GPU", {}),
    "deepspeed_zero2.yaml": ("DEEPSPEED", {"zero_stage": 2}),
    "deepspeed_zero3.yaml": ("DEEPSPEED", {"zero_stage": 3, "zero3_save_16bit_model": True}),
    "fsdp2.yaml": ("FSDP", {"fsdp_version": 2, "fsdp_state_dict_type": "FULL_STATE_DICT"}),
}


def test_every_config_is_listed():
    assert sorted(p.name for p in CONFIGS.glob("*.yaml")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_config_loads_with_accelerate(name):
    from accelerate.commands.config.config_args import load_config_from_file

    kind, settings = EXPECTED[name]
    config = load_config_from_file(str(CONFIGS / name))
    assert config.distributed_type.name == kind and config.num_processes >= 2 and config.num_machines == 1
    given = {**(config.deepspeed_config or {}), **(config.fsdp_config or {})}
    assert {k: given.get(k) for k in settings} == settings
    text = (CONFIGS / name).read_text(encoding="utf-8")
    assert f"accelerate launch --config_file train/accelerate/{name}" in text  # the command is in the file
