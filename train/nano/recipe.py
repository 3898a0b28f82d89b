"""Every number of the OneThinker-nano run in one place: data sizes, model size, media budgets, steps, rates.

``RECIPE`` is the documented run (``python -m train.nano``), sized for a 2-core CPU in ≤ 90 minutes;
``QUICK`` is the same pipeline on a tiny model and a handful of samples, for tests and smoke runs.  A stage's
key hashes the part of the recipe it reads, so changing a number reruns exactly the stages it reaches.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace

from train.nano.build import NanoConfig


NANO_MIX = {"mc-image": 3.0, "mc-video": 0.75, "count-image": 0.75, "count-video": 0.3, "spatial": 4.0,
            "temporal": 1.5, "spatio-temporal": 0.4, "tracking": 0.4, "seg-image": 0.6, "seg-video": 0.3,
            "caption": 0.3}


@dataclass(frozen=True)
class Media:
    """The nano model's inputs (written to its ``onethinker.json``; training, evaluation and the app use them).

    Video: 2 fps (one temporal token group per second, frames go in pairs), at most 16 frames, each frame at
    most 16·32·32 px (a 160×128 clip becomes 128×96: 12 tokens a second).  Images: at most 64·32·32 px
    (a 256×256 picture is 64 tokens), at least 4·32·32.
    """

    video_fps: float = 2.0
    video_max_frames: int = 16
    video_min_pixels: int = 4 * 32 * 32
    video_max_pixels: int = 16 * 32 * 32
    image_min_pixels: int = 4 * 32 * 32
    image_max_pixels: int = 64 * 32 * 32

    def video(self) -> dict:
        return {"fps": self.video_fps, "max_frames": self.video_max_frames, "min_pixels": self.video_min_pixels,
                "max_pixels": self.video_max_pixels}

    def image(self) -> dict:
        return {"min_pixels": self.image_min_pixels, "max_pixels": self.image_max_pixels}


@dataclass(frozen=True)
class Vision:
    """The vision warm-up before SFT (:mod:`train.nano.vision_warmup`): the tower learns each 32×32 cell's
    shape, colour and box from dense labels.  Cost on 2 cores: about 0.5 s a step of 32 pictures."""

    steps: int = 800
    batch_size: int = 32  # pictures per step
    learning_rate: float = 1e-3
    max_minutes: float | None = 8.0


@dataclass(frozen=True)
class Language:
    """The language warm-up between the vision warm-up and SFT: text-only multiple-choice drills
    (:mod:`train.synthetic.drills`, the scene in words) teach the language model to read a question's options
    before it must also learn to see.  Cost on 2 cores: about 0.9 s a step of 32 drills."""

    drills: int = 16000
    held_out: int = 150  # drills of another seed, answered greedily after the stage (letter accuracy per kind)
    steps: int = 500
    batch_size: int = 32
    learning_rate: float = 1e-3
    max_minutes: float | None = 8.0

    @property
    def micro_batch_size(self) -> int:  # text-only drills are short: one forward pass a step
        return self.batch_size


@dataclass(frozen=True)
class SFT:
    """Cost on 2 cores: a step of 8 samples (two length-sorted micro-batches of 4) took 0.76 s on this mix in the
    fourth full run (4,408 steps in 56 min); 4,000 steps are planned for about 50 minutes, the rest of the
    90 minutes after the other stages (the language warm-up took 7 of SFT's 56), and ``max_minutes`` caps a
    slower machine."""

    steps: int = 4000
    batch_size: int = 8  # samples per optimiser step, a random mixture of tasks
    micro_batch_size: int = 4  # forward passes of 4 length-sorted samples (gradient accumulation): less padding
    # stop early on a slow machine, so the whole run stays within 90 minutes (57.5 since the evaluations decode
    # in batches: they took about 10 of the sixth run's 88 minutes less when measured on its models)
    max_minutes: float | None = 57.5
    learning_rate: float = 1e-3
    warmup: float = 0.03  # fraction of the steps
    weight_decay: float = 0.01
    max_length: int = 1024
    # the warmed-up vision tower and projector learn at this multiple of learning_rate: 700 mixed steps with 0.2
    # against 1.0 read whole scenes right 29 % of the time against 17 %, and spatial IoU 0.13 against 0.07
    vision_lr_scale: float = 0.2
    answer_loss_weight: float = 1.0  # loss weight of the answer's tokens (train.sft's answer_loss_weight)


@dataclass(frozen=True)
class GRPO:
    """Both RL runs (EMA-GRPO and plain GRPO) use these, from the same SFT checkpoint and seed."""

    steps: int = 30
    prompts_per_step: int = 4
    num_generations: int = 4
    # a 5 M model trained at 1e-3: 1e-5 barely moves it in 30 steps, and 5e-5 lowered held-out accuracy after both
    # RL runs in each of the first four full runs (the rewards of 30 steps × 16 rollouts are mostly noise)
    learning_rate: float = 2e-5
    temperature: float = 1.0
    max_completion_length: int = 256
    seed: int = 1
    max_minutes: float | None = 8.0  # EMA-GRPO's limit; plain GRPO then takes as many steps as EMA-GRPO did


@dataclass(frozen=True)
class Loop:
    """Feedback → retrain evidence: corrections of the model's own validation failures, a short SFT on them."""

    max_cases: int = 40
    fail_below: float = 0.5  # a case is a failure when its accuracy is below this, or its format is wrong
    steps: int = 30
    batch_size: int = 8
    learning_rate: float = 3e-4


@dataclass(frozen=True)
class Recipe:
    seed: int = 0
    train_size: int = 16000
    validation_size: int = 120
    test_size: int = 300
    # every task, weighted towards the goals (multiple choice, spatial and temporal grounding: a 600-step run on
    # two image tasks was still at chance, so the goal tasks get most of the samples) and away from the long
    # answers (tracking, spatio-temporal, video segmentation cost 2–3× a short answer per sample)
    mix: dict | None = field(default_factory=lambda: dict(NANO_MIX))
    model: NanoConfig = NanoConfig()
    media: Media = Media()
    vision: Vision = Vision()
    language: Language = Language()
    sft: SFT = SFT()
    grpo: GRPO = GRPO()
    loop: Loop = Loop()
    eval_max_new_tokens: int = 288  # the longest answer (8 tracking boxes and reasoning) is about 240 tokens
    # requests the evaluation decodes together (the engine's generate_many): on 2 cores, 24 test rows took 3.8 s
    # in batches of 16 against 9.8 s one by one, with the same answers; the time saved goes to SFT
    eval_generation_batch: int = 16
    segmenter: str = "colour-region"  # what turns segmentation answers into masks (see train.nano.segmenter)
    extra: dict = field(default_factory=dict)

    def part(self, name: str) -> dict:
        """The recipe fields a stage reads, as plain data (for its key)."""
        return asdict(self)[name] if name in self.__dataclass_fields__ else {}

    def to_dict(self) -> dict:
        return asdict(self)


RECIPE = Recipe()

QUICK = Recipe(
    train_size=22, validation_size=11, test_size=11, mix=None,
    model=NanoConfig(vocab_size=512, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                     num_attention_heads=2, num_key_value_heads=1, head_dim=32, vision_depth=2,
                     vision_hidden_size=32, vision_intermediate_size=64, vision_heads=2),
    vision=Vision(steps=2, batch_size=2),
    language=Language(drills=8, held_out=3, steps=2, batch_size=4),
    sft=SFT(steps=3, batch_size=4, micro_batch_size=2),
    grpo=GRPO(steps=1, prompts_per_step=2, num_generations=2, max_completion_length=16),
    loop=Loop(max_cases=4, fail_below=1.01, steps=1, batch_size=2),
    eval_max_new_tokens=16,
)

RECIPES = {"default": RECIPE, "quick": QUICK}


def with_overrides(recipe: Recipe, **changes) -> Recipe:
    return replace(recipe, **changes)
