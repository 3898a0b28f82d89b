"""train.data.vision.encode: the engine's preprocessing, true timestamps, per-block limits, assistant masks."""

from __future__ import annotations

import pytest
import torch

from onethinker.engine import Request, prepare
from onethinker.media.sampling import VideoSampling
from train.data import DataError, MediaLimits, encode, training_template
from train.data.vision import apply_template, load_media


def _engine_inputs(processor, tiny_model_dir, request):
    from onethinker.engine import TransformersBackend

    return TransformersBackend(tiny_model_dir).encode(prepare(request), processor)[0]


@pytest.mark.parametrize("medium", ["image", "video"])
def test_a_prompt_encodes_exactly_as_the_engine_sends_it(processor, tiny_model_dir, media_dir, medium):
    path = str(media_dir / ("photo.png" if medium == "image" else "clip.mp4"))
    request = Request("What is shown?", "open-ended", **{medium: path})
    prep = prepare(request, load_media=False)
    ours = encode(processor, [{"role": "user", "content": [{"type": medium, medium: path},
                                                            {"type": "text", "text": prep.prompt}]}],
                  add_generation_prompt=True)
    theirs = _engine_inputs(processor, tiny_model_dir, request)
    assert sorted(ours) == sorted(theirs)
    for key in theirs:
        assert torch.equal(ours[key], theirs[key]), key


def test_video_tokens_carry_the_true_times_of_the_sampled_frames(processor, media_dir):
    out = encode(processor, [{"role": "user", "content": [{"type": "video", "video": str(media_dir / "clip.mp4")},
                                                          {"type": "text", "text": "Q"}]}],
                 add_generation_prompt=True)
    text = processor.tokenizer.decode(out["input_ids"][0])
    # 3 s at 30 fps, 2 fps → 6 frames at indices 0, 18, 36, 53, 71, 89: pairs centred at 0.3, 1.5, 2.7 s
    assert [t for t in ("<0.3 seconds>", "<1.5 seconds>", "<2.7 seconds>") if t in text] == \
        ["<0.3 seconds>", "<1.5 seconds>", "<2.7 seconds>"]
    assert out["video_grid_thw"].tolist() == [[3, *(s // 16 for s in VideoSampling().resized_size(48, 64, 6))]]


def test_limits_come_from_the_block_then_the_caller_then_the_official_setting(processor, media_dir):
    clip = str(media_dir / "clip.mp4")

    def grid(block, limits=MediaLimits()):
        conv = [{"role": "user", "content": [block, {"type": "text", "text": "Q"}]}]
        return encode(processor, conv, add_generation_prompt=True, limits=limits)["video_grid_thw"].tolist()[0]

    official = grid({"type": "video", "video": clip})
    caller = MediaLimits(video_max_pixels=64 * 32 * 32, video_min_pixels=32 * 32 * 32)
    capped = grid({"type": "video", "video": clip}, caller)
    own = grid({"type": "video", "video": clip, "max_pixels": 32 * 32 * 4, "min_pixels": 32 * 32, "fps": 1.0}, caller)
    assert official[1] * official[2] > capped[1] * capped[2] > own[1] * own[2]
    assert capped[1] * capped[2] <= 64 * 4 and own[1] * own[2] <= 4 * 4  # 16-px patches: 4 per 32-px token
    assert own[0] < official[0]  # 1 fps: fewer frames


def test_assistant_mask_covers_the_answer_and_end_of_turn_only(processor, media_dir):
    conv = [{"role": "user", "content": [{"type": "image", "image": str(media_dir / "photo.png")},
                                         {"type": "text", "text": "Q"}]},
            {"role": "assistant", "content": [{"type": "text", "text": "<think>a</think><answer>B</answer>"}]}]
    out = encode(processor, [conv, conv[:1] + [{"role": "assistant", "content": "x"}]], add_generation_prompt=False,
                 assistant_mask=True, chat_template=training_template(processor))
    masked = [processor.tokenizer.decode(ids[m.bool()]) for ids, m in zip(out["input_ids"], out["assistant_masks"])]
    assert masked == ["<think>a</think><answer>B</answer><|im_end|>\n", "x<|im_end|>\n"]
    assert out["pixel_values"].shape[0] == 2 * out["image_grid_thw"][0].prod()  # one image per conversation


def test_a_masked_batch_is_the_processors_own_tensors(processor, media_dir):
    """A batch that asks for the assistant mask is encoded as numpy and converted (the mask's offset walk is slow
    over tensors): every tensor, the mask included, must equal the processor's own tensor route, value and dtype."""
    answer = {"role": "assistant", "content": "<think>a</think><answer>B</answer>"}
    convs = [[{"role": "user", "content": [{"type": "image", "image": str(media_dir / "photo.png")},
                                           {"type": "text", "text": "Q"}]}, answer],
             [{"role": "user", "content": [{"type": "video", "video": str(media_dir / "clip.mp4")},
                                           {"type": "text", "text": "When?"}]}, answer]]
    template = training_template(processor)
    masked = encode(processor, convs, add_generation_prompt=False, assistant_mask=True, chat_template=template)
    direct = apply_template(processor, load_media(convs), add_generation_prompt=False, assistant_mask=True,
                            chat_template=template, return_tensors="pt")
    assert set(masked) == set(direct) >= {"assistant_masks", "pixel_values", "pixel_values_videos", "input_ids"}
    for key, value in masked.items():
        assert isinstance(value, torch.Tensor) and value.dtype == direct[key].dtype, key
        assert torch.equal(value, direct[key]), key
    assert masked["assistant_masks"].sum() > 0


def test_a_broken_file_is_a_data_error_naming_it(processor, tmp_path):
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(b"not a video at all")
    with pytest.raises(DataError, match="broken.mp4"):
        encode(processor, [{"role": "user", "content": [{"type": "video", "video": str(bad)}]}],
               add_generation_prompt=True)


def test_a_media_block_without_its_file_is_named(processor):
    with pytest.raises(DataError, match="a video block has no video"):
        encode(processor, [{"role": "user", "content": [{"type": "video"}, {"type": "text", "text": "Q"}]}],
               add_generation_prompt=True)
