"""Load pretrained backbone weights from a local file; nothing is ever fetched.

Formats: ``.safetensors``; ``.pth`` / ``.pt`` / ``.bin`` (a torch state dict, possibly
nested under ``model`` / ``state_dict``); timm / big_vision JAX ``.npz``. State dicts go
through timm's ``checkpoint_filter_fn`` (the same conversion timm applies to its own
pretrained files: OpenAI-CLIP / DINOv2 layouts, position-embedding resampling); the
classification head (``head.*``) is ignored. Every failure raises ``WeightsError``
naming the file.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from mpt_core.fileio import file_sha256  # noqa: F401 (re-exported)

TORCH_SUFFIXES = (".pth", ".pt", ".bin")
SUFFIXES = (".safetensors", ".npz") + TORCH_SUFFIXES
_NESTED = ("model", "state_dict", "model_state", "module")


class WeightsError(ValueError):
    """A weights file is missing, unreadable, or does not fit the backbone."""


def read_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """The tensors of a ``.safetensors`` / ``.pth`` / ``.bin`` file, unnested."""
    path = Path(path)
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            sd = load_file(str(path), device="cpu")
        else:
            sd = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # corrupt file, pickled objects that are not tensors, ...
        raise WeightsError(f"{path}: cannot read weights: {err}") from err
    while isinstance(sd, dict) and not any(isinstance(v, torch.Tensor) for v in sd.values()):
        nested = [k for k in _NESTED if isinstance(sd.get(k), dict)]
        if not nested:
            break
        sd = sd[nested[0]]
    if not isinstance(sd, dict) or not sd:
        raise WeightsError(f"{path}: no state dict found (expected a dict of tensors)")
    bad = [k for k, v in sd.items() if not isinstance(v, torch.Tensor)]
    if bad:
        raise WeightsError(f"{path}: entries that are not tensors: {bad[:5]}")
    if all(k.startswith("module.") for k in sd):  # saved from DataParallel / DDP
        sd = {k[len("module.") :]: v for k, v in sd.items()}
    return sd


def load_backbone_weights(vit: nn.Module, path: str | Path) -> None:
    """Load ``path`` into a bare timm ViT (built with ``num_classes=0``), in place."""
    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"{path}: weights file not found")
    if path.suffix not in SUFFIXES:
        raise WeightsError(f"{path}: unsupported weights format {path.suffix!r}; use one of {', '.join(SUFFIXES)}")
    if path.suffix == ".npz":
        _load_npz(vit, path)
    else:
        _load_state_dict(vit, read_state_dict(path), path)


def _load_state_dict(vit: nn.Module, sd: dict[str, torch.Tensor], path: Path) -> None:
    from mpt_core.compat import import_timm

    import_timm()
    from timm.models.vision_transformer import checkpoint_filter_fn

    try:
        sd = checkpoint_filter_fn(sd, vit)
    except Exception as err:
        raise WeightsError(f"{path}: cannot convert to the backbone's layout: {err}") from err
    sd = {k: v for k, v in sd.items() if not k.startswith("head.")}
    target = vit.state_dict()
    missing = sorted(set(target) - set(sd))
    unexpected = sorted(set(sd) - set(target))
    if missing or unexpected:
        raise WeightsError(
            f"{path}: key layout does not match the backbone ({len(missing)} missing, "
            f"{len(unexpected)} unexpected); missing e.g. {missing[:5]}, unexpected e.g. {unexpected[:5]}"
        )
    wrong = [f"{k}: file {tuple(sd[k].shape)} vs model {tuple(v.shape)}" for k, v in target.items() if sd[k].shape != v.shape]
    if wrong:
        raise WeightsError(f"{path}: shape mismatch in {len(wrong)} tensors, e.g. {wrong[:3]}")
    vit.load_state_dict(sd, strict=True)


def _load_npz(vit: nn.Module, path: Path) -> None:
    from mpt_core.compat import import_timm

    import_timm()
    from timm.models.vision_transformer import _load_weights

    try:
        _load_weights(vit, str(path))
    except KeyError as err:
        raise WeightsError(f"{path}: .npz key layout does not match the backbone: missing {err}") from err
    except Exception as err:  # shape mismatch in copy_, unreadable archive, ...
        raise WeightsError(f"{path}: cannot load .npz weights into the backbone: {err}") from err
