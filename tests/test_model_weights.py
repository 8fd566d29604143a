"""Backbone weights from local files: every format round-trips, every bad case names the file."""

import warnings

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from mpt_core.compat import import_timm
from mpt_core.model import ModelSettings, WeightsError, build_model, create_backbone, load_backbone_weights

SETTINGS = ModelSettings(backbone="vit_tiny_patch16_224", num_classes=3, prompts=2, frames=4, embed_channels=8,
                         img_size=32, depth=2)


@pytest.fixture(scope="module")
def source():
    """A backbone with weights different from the fixed-seed random one."""
    timm = import_timm()
    torch.manual_seed(7)
    return timm.create_model("vit_tiny_patch16_224", pretrained=False, num_classes=0, img_size=32, depth=2)


def to_npz_layout(vit) -> dict[str, np.ndarray]:
    """timm -> the Google JAX ViT .npz layout that timm's _load_weights reads."""
    sd = {k: v.detach().numpy() for k, v in vit.state_dict().items()}
    D, H = vit.embed_dim, vit.blocks[0].attn.num_heads
    out = {
        "embedding/kernel": sd["patch_embed.proj.weight"].transpose(2, 3, 1, 0),
        "embedding/bias": sd["patch_embed.proj.bias"],
        "cls": sd["cls_token"],
        "Transformer/posembed_input/pos_embedding": sd["pos_embed"],
        "Transformer/encoder_norm/scale": sd["norm.weight"],
        "Transformer/encoder_norm/bias": sd["norm.bias"],
    }
    for i in range(len(vit.blocks)):
        b, p = f"blocks.{i}.", f"Transformer/encoderblock_{i}/"
        out[p + "LayerNorm_0/scale"], out[p + "LayerNorm_0/bias"] = sd[b + "norm1.weight"], sd[b + "norm1.bias"]
        out[p + "LayerNorm_2/scale"], out[p + "LayerNorm_2/bias"] = sd[b + "norm2.weight"], sd[b + "norm2.bias"]
        qkv_w, qkv_b = sd[b + "attn.qkv.weight"], sd[b + "attn.qkv.bias"]
        for j, name in enumerate(("query", "key", "value")):
            out[p + f"MultiHeadDotProductAttention_1/{name}/kernel"] = qkv_w[j * D:(j + 1) * D].T.reshape(D, H, D // H)
            out[p + f"MultiHeadDotProductAttention_1/{name}/bias"] = qkv_b[j * D:(j + 1) * D].reshape(H, D // H)
        out[p + "MultiHeadDotProductAttention_1/out/kernel"] = sd[b + "attn.proj.weight"].reshape(D, H, D // H).transpose(1, 2, 0)
        out[p + "MultiHeadDotProductAttention_1/out/bias"] = sd[b + "attn.proj.bias"]
        for r in range(2):
            out[p + f"MlpBlock_3/Dense_{r}/kernel"] = sd[b + f"mlp.fc{r + 1}.weight"].T
            out[p + f"MlpBlock_3/Dense_{r}/bias"] = sd[b + f"mlp.fc{r + 1}.bias"]
    return out


def write(fmt, sd, path):
    if fmt == ".safetensors":
        save_file({k: v.contiguous() for k, v in sd.items()}, str(path))
    elif fmt == ".pth":
        torch.save({"model": sd, "epoch": 3}, path)  # nested, as training scripts save it
    else:
        torch.save(sd, path)


def assert_same(vit, source):
    ref = source.state_dict()
    got = vit.state_dict()
    assert set(got) == set(ref)
    for k in ref:
        assert torch.equal(got[k], ref[k]), k


@pytest.mark.parametrize("fmt", [".safetensors", ".pth", ".bin"])
def test_state_dict_formats_round_trip(tmp_path, source, fmt):
    sd = dict(source.state_dict())
    sd["head.weight"], sd["head.bias"] = torch.randn(1000, 192), torch.randn(1000)  # a classifier is ignored
    path = tmp_path / f"w{fmt}"
    write(fmt, sd, path)
    vit = create_backbone(SETTINGS)
    assert not torch.equal(vit.pos_embed, source.pos_embed)
    load_backbone_weights(vit, path)
    assert_same(vit, source)


def test_npz_round_trip(tmp_path, source):
    path = tmp_path / "w.npz"
    np.savez(path, **to_npz_layout(source))
    vit = create_backbone(SETTINGS)
    load_backbone_weights(vit, path)
    assert_same(vit, source)


def test_build_model_with_weights_freezes_them_and_records_the_file(tmp_path, source):
    path = tmp_path / "w.safetensors"
    save_file(dict(source.state_dict()), str(path))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "random backbone" warning
        model = build_model(SETTINGS, weights=path)
    blk = model.vit.blocks[1].base_block
    assert torch.equal(blk.mlp.fc2.weight, source.blocks[1].mlp.fc2.weight) and not blk.mlp.fc2.weight.requires_grad
    assert model.weights_file["path"] == str(path.resolve()) and (
        model.weights_file["sha256"] == __import__("hashlib").sha256(path.read_bytes()).hexdigest())  # full sha256
    with pytest.raises(ValueError, match="random backbone"):
        build_model(ModelSettings(**{**SETTINGS.to_dict(), "variant": "no-pretrain"}), weights=path)


def test_missing_file(tmp_path):
    path = tmp_path / "nope.safetensors"
    with pytest.raises(WeightsError, match=f"{path}: weights file not found"):
        load_backbone_weights(create_backbone(SETTINGS), path)


def test_unsupported_suffix(tmp_path):
    path = tmp_path / "w.ckpt"
    path.write_bytes(b"x")
    with pytest.raises(WeightsError, match=f"{path}: unsupported weights format"):
        load_backbone_weights(create_backbone(SETTINGS), path)


@pytest.mark.parametrize("fmt", [".safetensors", ".pth", ".bin"])
def test_unknown_key_layout(tmp_path, source, fmt):
    sd = {"encoder." + k.replace("blocks", "layers"): v for k, v in source.state_dict().items()}
    path = tmp_path / f"w{fmt}"
    write(fmt, sd, path)
    with pytest.raises(WeightsError, match=f"{path}: key layout does not match") as info:
        load_backbone_weights(create_backbone(SETTINGS), path)
    assert "encoder.layers.0" in str(info.value) and "blocks.0" in str(info.value)


def test_shape_mismatch(tmp_path, source):
    sd = dict(source.state_dict())
    sd["blocks.1.mlp.fc1.bias"] = torch.zeros(100)
    path = tmp_path / "w.safetensors"
    save_file(sd, str(path))
    with pytest.raises(WeightsError, match=rf"{path}: shape mismatch.*blocks\.1\.mlp\.fc1\.bias"):
        load_backbone_weights(create_backbone(SETTINGS), path)


def test_bad_npz(tmp_path, source):
    layout = to_npz_layout(source)
    del layout["Transformer/encoderblock_1/LayerNorm_2/scale"]
    path = tmp_path / "w.npz"
    np.savez(path, **layout)
    with pytest.raises(WeightsError, match=f"{path}: .npz key layout.*LayerNorm_2"):
        load_backbone_weights(create_backbone(SETTINGS), path)
    layout = to_npz_layout(source)
    layout["Transformer/encoderblock_0/MlpBlock_3/Dense_0/bias"] = np.zeros(5, np.float32)
    np.savez(path, **layout)
    with pytest.raises(WeightsError, match=f"{path}: cannot load .npz"):
        load_backbone_weights(create_backbone(SETTINGS), path)


def test_not_a_state_dict(tmp_path):
    path = tmp_path / "w.pth"
    torch.save([1, 2, 3], path)
    with pytest.raises(WeightsError, match=f"{path}: no state dict"):
        load_backbone_weights(create_backbone(SETTINGS), path)
    path.write_bytes(b"garbage")
    with pytest.raises(WeightsError, match=f"{path}: cannot read weights"):
        load_backbone_weights(create_backbone(SETTINGS), path)
