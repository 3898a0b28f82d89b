"""``train.model.patch_embeddings_as_matmul``: the vision patch embedding run as a matrix product gives the
convolution's outputs and gradients, leaves the weights and checkpoint alone, and is what training loads."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")


def _load(path):
    from transformers import AutoModelForImageTextToText

    return AutoModelForImageTextToText.from_pretrained(path, dtype=torch.float32)


def _pixels(model, patches=24, seed=0):
    embed = model.model.visual.patch_embed
    width = embed.proj.weight[0].numel()  # channels × temporal patch × patch × patch
    return torch.randn(patches, width, generator=torch.Generator().manual_seed(seed))


def _conv_calls(model):
    calls = []
    model.model.visual.patch_embed.proj.register_forward_hook(lambda *_: calls.append(1))
    return calls


def test_the_matmul_gives_the_convolutions_outputs_and_gradients(tiny_model_dir):
    from train.model import patch_embeddings_as_matmul

    conv, matmul = _load(tiny_model_dir), _load(tiny_model_dir)
    assert patch_embeddings_as_matmul(matmul) == 1  # the tiny Qwen3-VL has one tower, one patch embedding
    x = _pixels(conv)
    outs = []
    for model in (conv, matmul):
        embed = model.model.visual.patch_embed
        out = embed(x)
        (out * torch.linspace(-1, 1, out.numel()).view_as(out)).sum().backward()  # a loss that weighs every output
        outs.append((out.detach(), embed.proj.weight.grad.clone(), embed.proj.bias.grad.clone()))
    (out_c, gw_c, gb_c), (out_m, gw_m, gb_m) = outs
    assert out_m.shape == out_c.shape == (x.shape[0], conv.model.visual.patch_embed.embed_dim)
    torch.testing.assert_close(out_m, out_c, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(gw_m, gw_c, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(gb_m, gb_c, rtol=1e-4, atol=1e-5)


def test_the_convolution_is_no_longer_run_and_the_weights_and_checkpoint_stay(tiny_model_dir, tmp_path):
    from train.model import patch_embeddings_as_matmul

    model = _load(tiny_model_dir)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    calls = _conv_calls(model)
    model.model.visual.patch_embed(_pixels(model))
    assert calls == [1]
    patch_embeddings_as_matmul(model)
    model.model.visual.patch_embed(_pixels(model))
    assert calls == [1]  # the matmul path does not call the Conv3d
    after = model.state_dict()
    assert after.keys() == before.keys()
    assert all(torch.equal(after[k], before[k]) for k in before)
    model.save_pretrained(tmp_path)
    reloaded = _load(tmp_path)
    assert isinstance(reloaded.model.visual.patch_embed.proj, torch.nn.Conv3d)  # saved as the convolution
    torch.testing.assert_close(reloaded.model.visual.patch_embed(_pixels(model, seed=1)),
                               model.model.visual.patch_embed(_pixels(model, seed=1)), rtol=1e-5, atol=1e-5)


def test_a_convolution_that_is_not_one_output_per_patch_is_left_alone():
    from train.model import patch_embeddings_as_matmul

    class Overlapping(torch.nn.Module):  # kernel 4, stride 2: neighbouring outputs share pixels
        def __init__(self):
            super().__init__()
            self.embed_dim = 8
            self.proj = torch.nn.Conv3d(3, 8, kernel_size=(2, 4, 4), stride=(2, 2, 2))

        def forward(self, x):
            return self.proj(x)

    module = torch.nn.Sequential(Overlapping())
    assert patch_embeddings_as_matmul(module) == 0
    assert "forward" not in vars(module[0])


def test_training_loads_the_model_with_the_matmul(tiny_model_dir):
    from train.model import ModelDataArguments, load_model

    model, _ = load_model(ModelDataArguments(model_name_or_path=tiny_model_dir), bf16=False)
    calls = _conv_calls(model)
    out = model.model.visual.patch_embed(_pixels(model))
    assert calls == [] and out.shape[0] == 24
