"""Checkpoints: only trainable weights + settings; a fresh model reproduces the logits exactly."""

import warnings

import pytest
import torch
import torch.nn.functional as F
from safetensors.torch import save_file

from mpt_core.compat import import_timm
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
    path = save_checkpoint(tmp_path / "fold0.pt", model, fold=0, subject="sub01", metrics={"acc": 0.5})
    loaded, extra = load_checkpoint(path)
    assert extra == {"fold": 0, "subject": "sub01", "metrics": {"acc": 0.5}}
    assert loaded.settings == model.settings
    assert torch.equal(logits(loaded), logits(model))

    state = torch.load(path, weights_only=True)
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert set(state["state_dict"]) == trainable
    if variant != "full-ft":
        assert not any(".base_block." in k or k.startswith("vit.pos_embed") for k in state["state_dict"])


def test_checkpoint_is_small_and_holds_only_trainable_weights(tmp_path):
    model = trained("mpt")
    sd = trainable_state_dict(model)
    n_trainable = sum(v.numel() for v in sd.values())
    n_all = sum(p.numel() for p in model.parameters())
    assert n_trainable == sum(p.numel() for p in model.parameters() if p.requires_grad) < n_all / 3
    path = save_checkpoint(tmp_path / "c.pt", model)
    assert path.stat().st_size < 4 * n_trainable + 200_000  # float32 weights + pickling overhead


def test_round_trip_with_a_weights_file(tmp_path):
    timm = import_timm()
    torch.manual_seed(7)
    src = timm.create_model("vit_tiny_patch16_224", pretrained=False, num_classes=0, img_size=32, depth=2)
    weights = tmp_path / "vit.safetensors"
    save_file(dict(src.state_dict()), str(weights))
    model = trained("mpt", weights=weights)
    path = save_checkpoint(tmp_path / "c.pt", model)
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
    path = save_checkpoint(tmp_path / "c.pt", model)
    state = torch.load(path, weights_only=True)

    extra_key = dict(state, state_dict={**state["state_dict"], "vit.norm.weight": model.vit.norm.weight.detach()})
    torch.save(extra_key, tmp_path / "frozen_present.pt")
    with pytest.raises(CheckpointError, match="frozen keys present.*vit.norm.weight"):
        load_checkpoint(tmp_path / "frozen_present.pt")

    missing = dict(state, state_dict={k: v for k, v in state["state_dict"].items() if k != "head.bias"})
    torch.save(missing, tmp_path / "missing.pt")
    with pytest.raises(CheckpointError, match="trainable keys missing.*head.bias"):
        load_checkpoint(tmp_path / "missing.pt")

    bad_settings = dict(state, settings={**state["settings"], "dropout": 0.1})
    torch.save(bad_settings, tmp_path / "settings.pt")
    with pytest.raises(CheckpointError, match="bad settings.*unknown model setting.*dropout"):
        load_checkpoint(tmp_path / "settings.pt")

    with pytest.raises(CheckpointError, match="checkpoint not found"):
        load_checkpoint(tmp_path / "none.pt")
    torch.save({"model": {}}, tmp_path / "foreign.pt")
    with pytest.raises(CheckpointError, match="not an mpt checkpoint"):
        load_checkpoint(tmp_path / "foreign.pt")
