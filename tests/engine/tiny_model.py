"""Build a tiny random Qwen3-VL checkpoint on disk (test double for OneThink/OneThinker-8B).

Everything is local: a byte-level BPE tokenizer trained here on a few sentences, the Qwen special
tokens, a Qwen3-VL chat template, image and video processors and a ~0.3 M-parameter model, all
written with ``save_pretrained`` so that callers load it through ``from_pretrained`` like a real one.
"""

from __future__ import annotations

from pathlib import Path

SPECIAL_TOKENS = [
    "<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|vision_start|>", "<|vision_end|>",
    "<|image_pad|>", "<|video_pad|>",
]

_CORPUS = [
    "Answer from what you see in the image. Reason step by step inside <think> and </think>, then give "
    "only the final answer inside <answer> and </answer>.",
    "What is shown in the video? Options: A. a cat B. a dog C. a car D. a tree",
    '{"boxes": [120, 340, 560, 910]} {"time": [4.2, 11.8]} <answer>B</answer> 0 1 2 3 4 5 6 7 8 9 seconds',
    "The quick brown fox jumps over the lazy dog. A cyclist rides past a red shop front at dusk.",
    "user assistant system You are a helpful assistant.",
]


def _train_tokenizer(vocab_size: int = 420):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import Qwen2Tokenizer

    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False
    )
    bpe.train_from_iterator(_CORPUS * 4, trainer)
    state = bpe.model.__getstate__()
    import json

    model_json = json.loads(state) if isinstance(state, (str, bytes)) else json.loads(bpe.to_str())["model"]
    vocab = model_json["vocab"]
    merges = [tuple(m.split(" ")) if isinstance(m, str) else tuple(m) for m in model_json["merges"]]
    tok = Qwen2Tokenizer(vocab=vocab, merges=merges, unk_token=None, bos_token=None,
                         eos_token="<|im_end|>", pad_token="<|endoftext|>")
    tok.add_special_tokens({"additional_special_tokens": [t for t in SPECIAL_TOKENS if t not in ("<|im_end|>",
                                                                                                  "<|endoftext|>")]})
    return tok


def build_tiny_qwen3vl(out_dir: str | Path, seed: int = 0) -> Path:
    """Write a complete tiny Qwen3-VL checkpoint (model, tokenizer, processors, template) to ``out_dir``."""
    import torch
    from transformers import (
        Qwen2VLImageProcessor,
        Qwen3VLConfig,
        Qwen3VLForConditionalGeneration,
        Qwen3VLProcessor,
        Qwen3VLVideoProcessor,
    )
    from trl.chat_template_utils import qwen3_vl_chat_template

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    tok = _train_tokenizer()
    ids = {t: tok.convert_tokens_to_ids(t) for t in SPECIAL_TOKENS}
    assert len(set(ids.values())) == len(SPECIAL_TOKENS), ids
    vocab_size = len(tok)

    head_dim = 16
    config = Qwen3VLConfig(
        text_config=dict(
            vocab_size=vocab_size, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
            num_attention_heads=4, num_key_value_heads=2, head_dim=head_dim, max_position_embeddings=32768,
            rope_parameters={"rope_type": "default", "rope_theta": 10000.0, "mrope_section": [2, 3, 3],
                             "mrope_interleaved": True},
            pad_token_id=ids["<|endoftext|>"],
        ),
        vision_config=dict(
            depth=2, hidden_size=32, intermediate_size=64, num_heads=2, patch_size=16, spatial_merge_size=2,
            temporal_patch_size=2, out_hidden_size=64, num_position_embeddings=256, deepstack_visual_indexes=[0],
        ),
        image_token_id=ids["<|image_pad|>"],
        video_token_id=ids["<|video_pad|>"],
        vision_start_token_id=ids["<|vision_start|>"],
        vision_end_token_id=ids["<|vision_end|>"],
        tie_word_embeddings=False,
    )
    torch.manual_seed(seed)
    model = Qwen3VLForConditionalGeneration(config).eval()
    model.generation_config.eos_token_id = ids["<|im_end|>"]
    model.generation_config.pad_token_id = ids["<|endoftext|>"]
    model.generation_config.do_sample = False

    processor = Qwen3VLProcessor(
        image_processor=Qwen2VLImageProcessor(patch_size=16, merge_size=2, temporal_patch_size=2),
        video_processor=Qwen3VLVideoProcessor(patch_size=16, merge_size=2, temporal_patch_size=2),
        tokenizer=tok,
        chat_template=qwen3_vl_chat_template,
    )
    model.save_pretrained(out)
    processor.save_pretrained(out)
    return out


if __name__ == "__main__":  # python -m tests.engine.tiny_model /tmp/tiny
    import sys

    print(build_tiny_qwen3vl(sys.argv[1] if len(sys.argv) > 1 else "/tmp/tiny-qwen3vl"))


def build_tiny_qwen25vl(out_dir: str | Path, seed: int = 0) -> Path:
    """A tiny random Qwen2.5-VL (14-pixel patches: 28-pixel tokens, absolute-pixel coordinates)."""
    import torch
    from transformers import (
        Qwen2_5_VLConfig,
        Qwen2_5_VLForConditionalGeneration,
        Qwen2_5_VLProcessor,
        Qwen2VLImageProcessor,
    )
    from transformers.models.qwen2_vl.video_processing_qwen2_vl import Qwen2VLVideoProcessor
    from trl.chat_template_utils import qwen3_vl_chat_template

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    tok = _train_tokenizer()
    ids = {t: tok.convert_tokens_to_ids(t) for t in SPECIAL_TOKENS}
    config = Qwen2_5_VLConfig(
        text_config=dict(vocab_size=len(tok), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=32768,
                         bos_token_id=ids["<|endoftext|>"], eos_token_id=ids["<|im_end|>"],
                         rope_parameters={"rope_type": "default", "rope_theta": 10000.0, "mrope_section": [2, 3, 3]}),
        vision_config=dict(depth=2, hidden_size=32, intermediate_size=64, num_heads=2, patch_size=14,
                           spatial_merge_size=2, temporal_patch_size=2, out_hidden_size=64, window_size=56,
                           fullatt_block_indexes=[1]),
        image_token_id=ids["<|image_pad|>"], video_token_id=ids["<|video_pad|>"],
        vision_start_token_id=ids["<|vision_start|>"], vision_end_token_id=ids["<|vision_end|>"],
    )
    torch.manual_seed(seed)
    model = Qwen2_5_VLForConditionalGeneration(config).eval()
    model.generation_config.eos_token_id = ids["<|im_end|>"]
    model.generation_config.pad_token_id = ids["<|endoftext|>"]
    processor = Qwen2_5_VLProcessor(
        image_processor=Qwen2VLImageProcessor(patch_size=14, merge_size=2, temporal_patch_size=2),
        video_processor=Qwen2VLVideoProcessor(patch_size=14, merge_size=2, temporal_patch_size=2),
        tokenizer=tok, chat_template=qwen3_vl_chat_template,
    )
    model.save_pretrained(out)
    processor.save_pretrained(out)
    return out
