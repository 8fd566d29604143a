"""Checkpoints hold only the trainable weights, the ModelSettings and caller extras, as safetensors.

The frozen backbone is never saved: loading rebuilds it (from the recorded weights
file, or from the fixed seed when it was random) and checks that exactly the frozen
keys are absent from the checkpoint.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import torch
from torch import nn

from mpt_core.fileio import atomic_write

from .mpt import MPTModel, build_model
from .settings import ModelSettings
from mpt_core.fileio import file_sha256

FORMAT = "mpt-checkpoint-v2"  # v2: safetensors (v1 was a pickled torch.save dict)


class CheckpointError(ValueError):
    """A checkpoint file is missing, malformed, or does not fit the model it describes."""


def trained_buffers(model: nn.Module) -> set[str]:
    """The buffers that training sets (a baseline's batch-norm statistics and per-fold input statistics:
    ``model.trained_buffers()``); saved with the trainable weights. MPT has none."""
    names = getattr(model, "trained_buffers", None)
    return set(names()) if names is not None else set()


def trainable_state_dict(model: nn.Module) -> dict[str, torch.Tensor]:
    """The parameters with ``requires_grad`` and the trained buffers, detached; raises if there are none."""
    sd = {name: p.detach() for name, p in model.named_parameters() if p.requires_grad}
    if not sd:
        raise ValueError("the model has no trainable parameters")
    keep = trained_buffers(model)
    sd.update({name: b.detach() for name, b in model.named_buffers() if name in keep})
    return sd


def write_checkpoint_file(path: str | Path, tensors: dict[str, torch.Tensor], header: dict) -> Path:
    """A safetensors file (atomically): ``tensors`` plus ``header`` as JSON strings in its metadata."""
    from safetensors.torch import save_file

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tensors = {k: v.detach().cpu().contiguous().clone() for k, v in tensors.items()}
    metadata = {k: json.dumps(v) for k, v in header.items()}
    atomic_write(path, lambda tmp: save_file(tensors, str(tmp), metadata=metadata))
    return path


def read_checkpoint_file(path: str | Path) -> tuple[dict[str, torch.Tensor], dict]:
    """(tensors, header) of a file written by ``write_checkpoint_file``."""
    from safetensors import safe_open

    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: checkpoint not found")
    try:
        with safe_open(str(path), framework="pt") as f:
            metadata = f.metadata() or {}
            tensors = {k: f.get_tensor(k) for k in f.keys()}
        header = {k: json.loads(v) for k, v in metadata.items()}
    except Exception as err:  # safetensors raises its own error types for a malformed header
        raise CheckpointError(f"{path}: cannot read checkpoint (not a safetensors file?): {err}") from None
    return tensors, header


def save_checkpoint(path: str | Path, model: MPTModel, **extra: Any) -> Path:
    """Write the trainable weights + settings (+ ``extra``: fold, subject, epochs ...) to ``path``
    (``.safetensors``; the settings, backbone weights file and extras are JSON in its metadata)."""
    header = {"format": FORMAT, "settings": model.settings.to_dict(), "backbone_weights": model.weights_file,
              "extra": extra}
    return write_checkpoint_file(path, trainable_state_dict(model), header)


def load_checkpoint(
    path: str | Path, map_location: str | torch.device = "cpu", weights: str | Path | None = None
) -> tuple[MPTModel, dict[str, Any]]:
    """Rebuild the model saved in ``path``; returns ``(model, extra)``.

    ``weights`` overrides the backbone weights file recorded in the checkpoint (its
    content hash must match the recorded one).
    """
    path = Path(path)
    sd, state = read_checkpoint_file(path)
    if state.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not an mpt checkpoint (format {FORMAT!r} expected)")
    try:
        settings = ModelSettings.from_dict(state["settings"])
    except (ValueError, KeyError) as err:
        raise CheckpointError(f"{path}: bad settings: {err}") from err

    weights_path = _backbone_weights(path, state.get("backbone_weights"), weights, settings)
    with warnings.catch_warnings():
        # a random backbone is rebuilt bit-identically from its fixed seed
        warnings.filterwarnings("ignore", message="no weights file given")
        model = build_model(settings, weights_path)

    trainable = {n for n, p in model.named_parameters() if p.requires_grad} | trained_buffers(model)
    frozen = set(model.state_dict()) - trainable
    missing = set(model.state_dict()) - set(sd)
    unexpected = set(sd) - set(model.state_dict())
    if missing != frozen or unexpected:
        raise CheckpointError(
            f"{path}: keys do not match a {settings.variant} model: unexpected {sorted(unexpected)[:5]}, "
            f"trainable keys missing {sorted(missing - frozen)[:5]}, frozen keys present {sorted(frozen - missing)[:5]}"
        )
    try:
        result = model.load_state_dict(sd, strict=False)
    except RuntimeError as err:
        raise CheckpointError(f"{path}: {err}") from err
    assert set(result.missing_keys) == frozen and not result.unexpected_keys
    return model.to(map_location), state.get("extra", {})


def _backbone_weights(path: Path, recorded: dict | None, weights: str | Path | None, settings: ModelSettings):
    from .mpt import VARIANT_SPECS

    if VARIANT_SPECS[settings.variant].train_backbone:
        return None  # the checkpoint holds the whole backbone
    if recorded is None:
        if weights is not None:
            raise CheckpointError(f"{path}: trained on a random backbone; do not pass weights ({weights})")
        return None
    w = Path(weights) if weights is not None else Path(recorded["path"])
    if not w.is_file():
        raise CheckpointError(
            f"{path}: needs the backbone weights {recorded['path']} (sha256 {recorded['sha256']}), not found at {w}; pass weights="
        )
    if file_sha256(w) != recorded["sha256"]:
        raise CheckpointError(f"{path}: backbone weights {w} differ from the ones trained with (sha256 {recorded['sha256']})")
    return w
