"""ZooSpec: what a baseline network is, what it reads and how its paper trained it.

One frozen record per network, kept beside the network's class so that the paper,
the input and the hyper-parameters travel together. Nothing here does I/O.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

# The channels a flow cache can hold, in the order a network may ask for them.
INPUT_NAMES: tuple[str, ...] = ("u", "v", "strain", "gray_onset", "gray_apex")
OPTIMIZERS: tuple[str, ...] = ("adam", "sgd")


@dataclass(frozen=True)
class ZooSpec:
    """A baseline network, its input and its published training recipe.

    ``notes`` says where the paper is silent and a value was chosen (and by whom).
    ``published_params`` is the count the paper states (its own setting: 3 classes,
    ``size`` x ``size`` input), or None when it states none.
    """

    name: str
    cls: type
    citation: str
    inputs: tuple[str, ...]
    size: int
    epochs: int
    optimizer: str
    lr: float
    batch_size: int
    weight_decay: float
    published_params: int | None
    notes: str

    def __post_init__(self) -> None:
        where = f"ZooSpec {self.name!r}"
        if not self.name or self.name != self.name.lower():
            raise ValueError(f"{where}: the name must be non-empty lower case")
        if not (isinstance(self.cls, type) and issubclass(self.cls, nn.Module)):
            raise ValueError(f"{where}: cls must be an nn.Module subclass, got {self.cls!r}")
        unknown = [c for c in self.inputs if c not in INPUT_NAMES]
        if not self.inputs or unknown or len(set(self.inputs)) != len(self.inputs):
            raise ValueError(f"{where}: inputs {self.inputs!r} must be distinct names from {INPUT_NAMES}")
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"{where}: optimizer {self.optimizer!r} is not one of {OPTIMIZERS}")
        for field in ("size", "epochs", "batch_size"):
            value = getattr(self, field)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{where}: {field} must be a positive int, got {value!r}")
        if not self.lr > 0 or not self.weight_decay >= 0:
            raise ValueError(f"{where}: lr must be > 0 and weight_decay >= 0 (got {self.lr}, {self.weight_decay})")
        if self.published_params is not None and self.published_params < 1:
            raise ValueError(f"{where}: published_params must be positive or None")
        if not self.citation or not self.notes:
            raise ValueError(f"{where}: citation and notes are required")


def check_input(x: torch.Tensor, *, channels: int, size: int, name: str) -> None:
    """A wrong input shape is an error that names the network and the shape it reads.

    Without it a wrong size surfaces as a matmul mismatch deep in the classifier.
    """
    if x.ndim != 4 or x.shape[1] != channels or x.shape[2] != size or x.shape[3] != size:
        raise ValueError(f"{name} reads (B, {channels}, {size}, {size}) inputs, got {tuple(x.shape)}")
