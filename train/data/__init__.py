"""Training data: loaders for SFT (LLaMA-Factory sharegpt), RL (OneThinker JSON, both shapes) and DPO (our
preference export), and the one path from messages with images / videos to model inputs (:mod:`.vision`).

Every loader returns a ``datasets.Dataset`` of conversational rows whose media are typed content blocks holding
absolute paths; pixels are loaded only when a batch is encoded, with the engine's official preprocessing.
"""

from train.data.common import DataError
from train.data.dpo import load_dpo
from train.data.rl import load_rl, task_key
from train.data.sft import load_sft
from train.data.vision import MediaLimits, encode, load_media, training_template
from onethinker.tasks import DEFAULT_TEMPLATES

__all__ = ["DataError", "load_rl", "load_sft", "load_dpo", "task_key", "encode", "load_media", "MediaLimits", "training_template",
           "DEFAULT_TEMPLATES"]
