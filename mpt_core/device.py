"""The one parser of ``--device`` values: auto, cpu, cuda or cuda:N."""

from __future__ import annotations


def resolve_device(name: str):
    """A ``torch.device``; ValueError (one line) for a malformed name or CUDA that is not there."""
    import torch

    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if not (name in ("cpu", "cuda") or (name.startswith("cuda:") and name[5:].isdigit())):
        raise ValueError(f"device {name!r}: choose auto, cpu, cuda or cuda:N")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"device {name!r} requested but CUDA is not available; use --device cpu")
    return torch.device(name)
