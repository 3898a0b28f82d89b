"""Build the untrained OneThinker-nano checkpoint: a few-million-parameter Qwen3-VL and its tokenizer.

The architecture is Qwen3-VL's (patch 16, merge 2, interleaved M-RoPE, DeepStack), only small, so the
engine loads it through the same ``from_pretrained`` path as OneThinker-8B.  The tokenizer is a
byte-level BPE trained on the synthetic corpus; digits are always single tokens (Qwen's own
pre-tokenisation splits every digit), which keeps coordinates and times easy to learn.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Iterable

SPECIAL_TOKENS = ("<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|vision_start|>", "<|vision_end|>",
                  "<|image_pad|>", "<|video_pad|>")
# Always in the vocabulary, whatever the corpus: the output contract's punctuation and digits.
ALWAYS = ['{"boxes": [', '{"time": [', '"positive_points": [[', '"negative_points": [[', "<think>", "</think>",
          "<answer>", "</answer>", "0 1 2 3 4 5 6 7 8 9 . , : [ ] { } -"]


@dataclass(frozen=True)
class NanoConfig:
    """Sizes of the nano model (defaults: about 5 M parameters, 20 MB in float32)."""

    vocab_size: int = 1024
    hidden_size: int = 256
    intermediate_size: int = 768
    num_hidden_layers: int = 4
    num_attention_heads: int = 8
    num_key_value_heads: int = 4
    head_dim: int = 32
    mrope_section: tuple[int, int, int] = (4, 6, 6)  # sums to head_dim / 2
    rope_theta: float = 10000.0
    vision_depth: int = 4
    vision_hidden_size: int = 128
    vision_intermediate_size: int = 384
    vision_heads: int = 4
    deepstack_visual_indexes: tuple[int, ...] = (1,)
    image_min_pixels: int = 4 * 32 * 32
    image_max_pixels: int = 64 * 32 * 32  # 256×256 at most: 64 image tokens
    # "sincos": the vision tower's position table starts as 2-D sine/cosine waves (the values MAE keeps fixed; here
    # they go on training), so every patch knows where it is from the first step; "random": the library's default
    # (std 0.02 noise)
    vision_position_init: str = "sincos"
    extra: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if sum(self.mrope_section) * 2 != self.head_dim:
            raise ValueError(f"mrope_section {self.mrope_section} must sum to head_dim / 2 = {self.head_dim // 2}")
        if any(i >= self.vision_depth for i in self.deepstack_visual_indexes):
            raise ValueError("deepstack_visual_indexes must be below the vision depth")
        if self.vision_position_init not in ("sincos", "random"):
            raise ValueError(f"vision_position_init must be 'sincos' or 'random', not {self.vision_position_init!r}")


def sincos_grid(side: int, dim: int, longest_period: float = 64.0):
    """A side×side grid of 2-D sine/cosine position codes, (side·side, dim), row-major like the vision tower's
    position table: the first half of each code encodes the row, the second half the column, each as
    sin/cos pairs at geometrically spaced frequencies from one cycle per 2π cells down to one per
    2π·``longest_period`` cells (a grid of 16 needs no slower waves)."""
    import torch

    if dim % 4:
        raise ValueError(f"the position code size must be a multiple of 4, not {dim}")
    quarter = dim // 4
    freq = longest_period ** (-torch.arange(quarter, dtype=torch.float64) / quarter)
    pos = torch.arange(side, dtype=torch.float64)
    angles = pos[:, None] * freq[None, :]  # side × quarter
    wave = torch.cat([angles.sin(), angles.cos()], dim=1)  # side × dim/2
    rows = wave[:, None, :].expand(side, side, dim // 2)
    cols = wave[None, :, :].expand(side, side, dim // 2)
    return torch.cat([rows, cols], dim=2).reshape(side * side, dim).float()


def train_tokenizer(texts: Iterable[str], vocab_size: int = 1024):
    """A Qwen2-style byte-level BPE tokenizer trained on ``texts`` (plus :data:`ALWAYS`)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import Qwen2Tokenizer

    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Digits(individual_digits=True),
                                                 pre_tokenizers.ByteLevel(add_prefix_space=False)])
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size - len(SPECIAL_TOKENS), show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    bpe.train_from_iterator(list(texts) + ALWAYS * 20, trainer)
    model = json.loads(bpe.to_str())["model"]
    merges = [tuple(m.split(" ")) if isinstance(m, str) else tuple(m) for m in model["merges"]]
    tok = Qwen2Tokenizer(vocab=model["vocab"], merges=merges, unk_token=None, bos_token=None,
                         eos_token="<|im_end|>", pad_token="<|endoftext|>")
    tok.add_special_tokens({"additional_special_tokens": [t for t in SPECIAL_TOKENS
                                                          if t not in ("<|im_end|>", "<|endoftext|>")]})
    return tok


def build_nano(out_dir: str | Path, corpus: Iterable[str], config: NanoConfig = NanoConfig(), seed: int = 0) -> Path:
    """Write an untrained nano checkpoint (model, tokenizer, processors, chat template) to ``out_dir``."""
    import torch
    from transformers import (
        Qwen2VLImageProcessor, Qwen3VLConfig, Qwen3VLForConditionalGeneration, Qwen3VLProcessor, Qwen3VLVideoProcessor,
    )
    from trl.chat_template_utils import qwen3_vl_chat_template

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    tok = train_tokenizer(corpus, config.vocab_size)
    ids = {t: tok.convert_tokens_to_ids(t) for t in SPECIAL_TOKENS}
    hf_config = Qwen3VLConfig(
        text_config=dict(
            vocab_size=len(tok), hidden_size=config.hidden_size, intermediate_size=config.intermediate_size,
            num_hidden_layers=config.num_hidden_layers, num_attention_heads=config.num_attention_heads,
            num_key_value_heads=config.num_key_value_heads, head_dim=config.head_dim,
            max_position_embeddings=8192, pad_token_id=ids["<|endoftext|>"],
            rope_parameters={"rope_type": "default", "rope_theta": config.rope_theta,
                             "mrope_section": list(config.mrope_section), "mrope_interleaved": True},
        ),
        vision_config=dict(
            depth=config.vision_depth, hidden_size=config.vision_hidden_size,
            intermediate_size=config.vision_intermediate_size, num_heads=config.vision_heads, patch_size=16,
            spatial_merge_size=2, temporal_patch_size=2, out_hidden_size=config.hidden_size,
            num_position_embeddings=256, deepstack_visual_indexes=list(config.deepstack_visual_indexes),
        ),
        image_token_id=ids["<|image_pad|>"], video_token_id=ids["<|video_pad|>"],
        vision_start_token_id=ids["<|vision_start|>"], vision_end_token_id=ids["<|vision_end|>"],
        tie_word_embeddings=True,
    )
    torch.manual_seed(seed)
    model = Qwen3VLForConditionalGeneration(hf_config).eval()
    if config.vision_position_init == "sincos":
        table = model.model.visual.pos_embed.weight
        side = int(round(table.shape[0] ** 0.5))
        with torch.no_grad():
            table.copy_(sincos_grid(side, table.shape[1]))
    model.generation_config.eos_token_id = ids["<|im_end|>"]
    model.generation_config.pad_token_id = ids["<|endoftext|>"]
    model.generation_config.do_sample = False
    size = {"shortest_edge": config.image_min_pixels, "longest_edge": config.image_max_pixels}
    processor = Qwen3VLProcessor(
        image_processor=Qwen2VLImageProcessor(patch_size=16, merge_size=2, temporal_patch_size=2, size=size),
        video_processor=Qwen3VLVideoProcessor(patch_size=16, merge_size=2, temporal_patch_size=2),
        tokenizer=tok, chat_template=qwen3_vl_chat_template,
    )
    model.save_pretrained(out)
    processor.save_pretrained(out)
    (out / "nano_config.json").write_text(json.dumps(asdict(config), indent=2) + "\n", encoding="utf-8")
    return out


def parameter_count(model) -> int:
    return sum(p.numel() for p in model.parameters())
