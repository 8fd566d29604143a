"""The MER model zoo: baseline networks on onset-apex optical flow, each as its paper published it.

Every network lives in its own module with a ``SPEC`` (paper, input channels and size,
published hyper-parameters, what had to be chosen). ``build(name, num_classes)`` makes a
network that reads ``(B, len(spec.inputs), spec.size, spec.size)`` and returns logits.
"""

from __future__ import annotations

from torch import nn

from .spec import INPUT_NAMES, OPTIMIZERS, ZooSpec, check_input
from . import dual_inception, offapexnet, rcn, sssnet, ststnet
from .dual_inception import DualInception
from .offapexnet import OffApexNet
from .rcn import RCN_A
from .sssnet import SSSNet
from .ststnet import STSTNet

ZOO: dict[str, ZooSpec] = {
    m.SPEC.name: m.SPEC for m in (ststnet, offapexnet, dual_inception, rcn, sssnet)
}


def build(name: str, num_classes: int) -> nn.Module:
    """The network ``name`` for ``num_classes`` classes, with the input channels its spec names."""
    if name not in ZOO:
        raise ValueError(f"unknown zoo model {name!r}; choose one of {', '.join(ZOO)}")
    if not isinstance(num_classes, int) or isinstance(num_classes, bool) or num_classes < 2:
        raise ValueError(f"zoo model {name!r}: num_classes must be an int >= 2, got {num_classes!r}")
    spec = ZOO[name]
    return spec.cls(num_classes=num_classes, in_channels=len(spec.inputs))


__all__ = [
    "DualInception", "INPUT_NAMES", "OPTIMIZERS", "OffApexNet", "RCN_A", "SSSNet", "STSTNet", "ZOO", "ZooSpec",
    "build", "check_input",
]
