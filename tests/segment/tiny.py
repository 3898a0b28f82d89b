"""Tiny random SAM2 / SAM v1 models built from configs (no weights, no hub)."""

from __future__ import annotations

import numpy as np

S = 128  # model input side


def _vision():
    from transformers import Sam2HieraDetConfig

    return dict(
        backbone_config=Sam2HieraDetConfig(
            hidden_size=16, num_attention_heads=1, image_size=[S, S], blocks_per_stage=[1, 1, 2, 1],
            embed_dim_per_stage=[16, 32, 64, 128], num_attention_heads_per_stage=[1, 1, 1, 1],
            global_attention_blocks=[3], window_size_per_stage=[4, 4, 4, 4],
            window_positional_embedding_background_size=[4, 4],
        ),
        backbone_channel_list=[128, 64, 32, 16],
        backbone_feature_sizes=[[S // 4, S // 4], [S // 8, S // 8], [S // 16, S // 16]],
        fpn_hidden_size=128,
    )


def _heads():
    return dict(
        prompt_encoder_config=dict(hidden_size=128, image_size=S, mask_input_channels=4),
        mask_decoder_config=dict(hidden_size=128, num_attention_heads=2, mlp_dim=64, iou_head_hidden_dim=64),
    )


def tiny_sam2_image():
    import torch
    from transformers import Sam2Config, Sam2ImageProcessor, Sam2Model, Sam2Processor

    torch.manual_seed(0)
    model = Sam2Model(Sam2Config(vision_config=_vision(), **_heads())).eval()
    proc = Sam2Processor(image_processor=Sam2ImageProcessor(size={"height": S, "width": S}), target_size=S,
                         point_pad_value=-10)
    return model, proc


def tiny_sam2_video():
    import torch
    from transformers import (Sam2ImageProcessor, Sam2VideoConfig, Sam2VideoModel, Sam2VideoProcessor,
                              Sam2VideoVideoProcessor)

    torch.manual_seed(0)
    cfg = Sam2VideoConfig(
        vision_config=_vision(), **_heads(), image_size=S, memory_attention_hidden_size=128,
        memory_attention_num_layers=1, memory_attention_feed_forward_hidden_size=64,
        memory_attention_rope_feat_sizes=[S // 16, S // 16], memory_encoder_hidden_size=128,
        memory_encoder_output_channels=64, mask_downsampler_embed_dim=128, memory_fuser_embed_dim=128,
        memory_fuser_intermediate_dim=64, num_maskmem=3, max_object_pointers_in_encoder=4,
    )
    model = Sam2VideoModel(cfg).eval()
    proc = Sam2VideoProcessor(image_processor=Sam2ImageProcessor(size={"height": S, "width": S}),
                              video_processor=Sam2VideoVideoProcessor(size={"height": S, "width": S}),
                              target_size=S, point_pad_value=-10)
    return model, proc


def tiny_sam1(img_size: int = 256):
    """A ~1 M-parameter SAM v1 with a small input (``SamPredictor`` follows ``image_encoder.img_size``)."""
    from functools import partial

    import torch
    from segment_anything.modeling import (ImageEncoderViT, MaskDecoder, PromptEncoder, Sam,
                                           TwoWayTransformer)

    torch.manual_seed(0)
    dim, patch = 64, 16
    grid = img_size // patch
    return Sam(
        image_encoder=ImageEncoderViT(
            depth=2, embed_dim=dim, img_size=img_size, mlp_ratio=2, norm_layer=partial(torch.nn.LayerNorm, eps=1e-6),
            num_heads=2, patch_size=patch, qkv_bias=True, use_rel_pos=True, global_attn_indexes=[1],
            window_size=4, out_chans=64,
        ),
        prompt_encoder=PromptEncoder(embed_dim=64, image_embedding_size=(grid, grid),
                                     input_image_size=(img_size, img_size), mask_in_chans=8),
        mask_decoder=MaskDecoder(num_multimask_outputs=3,
                                 transformer=TwoWayTransformer(depth=1, embedding_dim=64, mlp_dim=128, num_heads=2),
                                 transformer_dim=64, iou_head_depth=2, iou_head_hidden_dim=64),
        pixel_mean=[123.675, 116.28, 103.53],
        pixel_std=[58.395, 57.12, 57.375],
    ).eval()


def clip(n: int = 6, w: int = 64, h: int = 48) -> np.ndarray:
    rng = np.random.default_rng(0)
    return rng.integers(0, 255, (n, h, w, 3), dtype=np.uint8)
