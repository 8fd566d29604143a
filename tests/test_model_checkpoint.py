"""Checkpoints: only trainable weights + settings; a fresh model reproduces the logits exactly."""

import warnings

import pytest
import torch
import torch.nn.functional as F
from safetensors.torch import save_file

from mpt_core.compat import import_timm
from mpt_core.model.checkpoint import read_checkpoint_file, write_checkpoint_file
from mpt_core.model import (CheckpointError, ModelSettings, build_model, load_checkpoint, save_checkpoint,
                            trainable_state_dict)


def tiny(variant="mpt"):
    return ModelSettings(variant=variant, backbone="vit_tiny_patch16_224", num_classes=3, prompts=2, frames=4,
                         embed_channels=8, img_size=32, depth=2)


def trained(variant="mpt", weights=None, seed=0):
    """A model after two optimiser steps, so the zero-init adapters are no longer zero."""
    torch.manual_seed(seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = build_model(tiny(variant), weights)
    opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=1e-2)
    image, motion = inputs()
    for _ in range(2):
        opt.zero_grad()
        F.cross_entropy(model(image, motion), torch.tensor([0, 2])).backward()
        opt.step()
    return model.eval()


def inputs():
    g = torch.Generator().manual_seed(5)
    return torch.rand(2, 3, 32, 32, generator=g), torch.rand(2, 4, 3, 32, 32, generator=g)


def logits(model):
    with torch.no_grad():
        return model.eval()(*inputs())


@pytest.mark.parametrize("variant", ["mpt", "vpt-deep", "full-ft"])
def test_round_trip_reproduces_logits(tmp_path, variant):
    model = trained(variant)
    path = save_checkpoint(tmp_path / "fold0.safetensors", model, fold=0, subject="sub01", metrics={"acc": 0.5})
    loaded, extra = load_checkpoint(path)
    assert extra == {"fold": 0, "subject": "sub01", "metrics": {"acc": 0.5}}
    assert loaded.settings == model.settings
    assert torch.equal(logits(loaded), logits(model))

    tensors, header = read_checkpoint_file(path)
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert set(tensors) == trainable
    assert header["settings"] == model.settings.to_dict() and header["extra"]["subject"] == "sub01"
    if variant != "full-ft":
        assert not any(".base_block." in k or k.startswith("vit.pos_embed") for k in tensors)


def test_checkpoint_is_small_and_holds_only_trainable_weights(tmp_path):
    model = trained("mpt")
    sd = trainable_state_dict(model)
    n_trainable = sum(v.numel() for v in sd.values())
    n_all = sum(p.numel() for p in model.parameters())
    assert n_trainable == sum(p.numel() for p in model.parameters() if p.requires_grad) < n_all / 3
    path = save_checkpoint(tmp_path / "c.safetensors", model)
    assert path.stat().st_size < 4 * n_trainable + 200_000  # float32 weights + the JSON header


def test_round_trip_with_a_weights_file(tmp_path):
    timm = import_timm()
    torch.manual_seed(7)
    src = timm.create_model("vit_tiny_patch16_224", pretrained=False, num_classes=0, img_size=32, depth=2)
    weights = tmp_path / "vit.safetensors"
    save_file(dict(src.state_dict()), str(weights))
    model = trained("mpt", weights=weights)
    path = save_checkpoint(tmp_path / "c.safetensors", model)
    loaded, _ = load_checkpoint(path)  # finds the recorded weights file
    assert torch.equal(logits(loaded), logits(model))

    other = tmp_path / "other.safetensors"
    save_file({k: v + 1 for k, v in src.state_dict().items()}, str(other))
    with pytest.raises(CheckpointError, match="differ from the ones trained with"):
        load_checkpoint(path, weights=other)
    weights.unlink()
    with pytest.raises(CheckpointError, match=f"{path}: needs the backbone weights"):
        load_checkpoint(path)


def test_keys_must_be_exactly_the_trainable_ones(tmp_path):
    model = trained("mpt")
    path = save_checkpoint(tmp_path / "c.safetensors", model)
    sd, state = read_checkpoint_file(path)

    def write(name, tensors, header):
        return write_checkpoint_file(tmp_path / name, tensors, header)

    write("frozen_present.safetensors", {**sd, "vit.norm.weight": model.vit.norm.weight.detach()}, state)
    with pytest.raises(CheckpointError, match="frozen keys present.*vit.norm.weight"):
        load_checkpoint(tmp_path / "frozen_present.safetensors")

    write("missing.safetensors", {k: v for k, v in sd.items() if k != "head.bias"}, state)
    with pytest.raises(CheckpointError, match="trainable keys missing.*head.bias"):
        load_checkpoint(tmp_path / "missing.safetensors")

    write("settings.safetensors", sd, dict(state, settings={**state["settings"], "dropout": 0.1}))
    with pytest.raises(CheckpointError, match="bad settings.*unknown model setting.*dropout"):
        load_checkpoint(tmp_path / "settings.safetensors")

    with pytest.raises(CheckpointError, match="checkpoint not found"):
        load_checkpoint(tmp_path / "none.safetensors")
    write("foreign.safetensors", {"w": torch.zeros(2)}, {"model": {}})
    with pytest.raises(CheckpointError, match="not an mpt checkpoint"):
        load_checkpoint(tmp_path / "foreign.safetensors")
    torch.save({"model": {}}, tmp_path / "pickle.pt")  # a pickle is refused, never unpickled
    with pytest.raises(CheckpointError, match="cannot read checkpoint"):
        load_checkpoint(tmp_path / "pickle.pt")
