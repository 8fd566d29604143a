"""The baselines behind MPT's model interface: what a model reads, and a zoo network as a model.

``ModelSettings.model`` names the model: "mpt" (the method, its ``variant`` an ablation), a network of
the zoo (``mpt_core/model/zoo``: STSTNet, OffApexNet, ...) or a hand-crafted method
(``mpt_core/features``: LBP-TOP, the flow grid). ``model_input`` says which cache a model reads; the
trainer opens that and never asks which network it trains.

``FlowNet`` wraps a zoo network: ``forward(image, motion)`` takes the flow cache's maps (B, 5, S, S) as
``image`` (``motion`` is empty), keeps the channels the network's spec names, standardises them with
per-channel statistics of the fold's *training* clips (``fit_inputs``, called by the trainer before the
first step: the test subject never enters them) and returns the network's logits. The statistics and
the network's batch-norm buffers are trained state (``trained_buffers``): checkpoints keep them.
"""

from __future__ import annotations

import torch
from torch import nn

from mpt_core.apex_flow import CHANNELS
from mpt_core.names import HANDCRAFTED
from mpt_core.settings import SettingsError


# helpers

def zoo():
    """The zoo's registry (imported late: the networks are only needed when a baseline is asked for)."""
    from . import zoo as z

    return z


def baseline_names() -> tuple[str, ...]:
    return tuple(zoo().ZOO) + HANDCRAFTED


def check_model_name(name: str) -> None:
    if name != "mpt" and name not in baseline_names():
        raise SettingsError(f"ModelSettings.model: unknown model {name!r}; choose mpt or one of "
                            f"{', '.join(baseline_names())}")


def is_handcrafted(settings) -> bool:
    return settings.model in HANDCRAFTED


def model_input(settings) -> tuple[str, int | None]:
    """("clip", None) for MPT; ("flow", side) for a zoo network (the flow maps at its input side);
    ("flow", None) for a hand-crafted method (it reads the flow cache's arrays itself)."""
    if settings.model == "mpt":
        return "clip", None
    if settings.model in HANDCRAFTED:
        return "flow", None
    return "flow", zoo().ZOO[settings.model].size


def zoo_spec(settings):
    """The ``ZooSpec`` of a zoo network (None for MPT and the hand-crafted methods)."""
    return zoo().ZOO.get(settings.model) if settings.model not in ("mpt",) + HANDCRAFTED else None


# classes

class FlowNet(nn.Module):
    """A zoo network behind MPT's interface; see the module docstring."""

    def __init__(self, settings, spec, net: nn.Module):
        super().__init__()
        self.settings, self.spec, self.net = settings, spec, net
        self.register_buffer("channels", torch.tensor([CHANNELS.index(c) for c in spec.inputs]), persistent=False)
        self.register_buffer("mean", torch.zeros(len(spec.inputs)))
        self.register_buffer("std", torch.ones(len(spec.inputs)))
        self.weights_file = None  # no backbone weights: every parameter trains

    def trained_buffers(self) -> list[str]:
        return [name for name, _ in self.named_buffers() if name != "channels"]

    def select(self, image: torch.Tensor) -> torch.Tensor:
        return image.float().index_select(1, self.channels)  # (B, C, S, S)

    @torch.no_grad()
    def fit_inputs(self, image: torch.Tensor) -> None:
        """Per-channel mean and std of the fold's training maps (B, 5, S, S)."""
        x = self.select(image)
        self.mean.copy_(x.mean((0, 2, 3)))
        self.std.copy_(x.std((0, 2, 3)).clamp(min=1e-6))

    def forward(self, image: torch.Tensor, motion: torch.Tensor | None = None) -> torch.Tensor:
        x = (self.select(image) - self.mean[:, None, None]) / self.std[:, None, None]  # (B, C, S, S)
        return self.net(x)  # (B, num_classes)


def build_baseline(settings, weights=None) -> nn.Module:
    """The zoo network of ``settings.model`` as a ``FlowNet``; hand-crafted methods have no network."""
    if weights is not None:
        raise ValueError(f"model {settings.model} trains from scratch: do not pass backbone weights ({weights})")
    if is_handcrafted(settings):
        raise ValueError(f"model {settings.model} is hand-crafted (features + a linear classifier): it has no "
                         "network to build")
    spec = zoo().ZOO[settings.model]
    return FlowNet(settings, spec, zoo().build(settings.model, settings.num_classes))


def baseline_info(settings) -> dict:
    """Parameters and forward GMACs per clip of a zoo network (as ``cost.model_info`` for MPT)."""
    from torch.utils.flop_counter import FlopCounterMode

    model = build_baseline(settings).eval()
    spec = zoo_spec(settings)
    x = torch.zeros(1, len(CHANNELS), spec.size, spec.size)
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(x)
    n = sum(p.numel() for p in model.parameters())
    return {"model": settings.model, "input": f"{'+'.join(spec.inputs)} {spec.size}x{spec.size}",
            "params": {"trainable": n, "frozen": 0, "total": n},
            "gmacs_per_clip": counter.get_total_flops() / 2 / 1e9, "citation": spec.citation}


MPT_RECIPE = {"epochs": 20, "batch_size": 16, "lr": 3e-4, "optimizer": "adam", "weight_decay": 0.0}


def recipe(model: str) -> dict:
    """The training recipe a model trains with unless told otherwise: METHOD.md's for MPT, the paper's
    for a zoo network (its ``ZooSpec``); the hand-crafted methods fit in one pass (epochs 1)."""
    if model == "mpt":
        return dict(MPT_RECIPE)
    if model in HANDCRAFTED:
        return {**MPT_RECIPE, "epochs": 1}
    spec = zoo().ZOO[model]
    return {"epochs": spec.epochs, "batch_size": spec.batch_size, "lr": spec.lr, "optimizer": spec.optimizer,
            "weight_decay": spec.weight_decay}


def model_label(model: dict) -> tuple[str, str]:
    """(name, what it runs on) of a run's model settings (config.json's ``model``): (variant, backbone)
    for MPT, (model, its input) for a baseline. Plain text for reports and tables."""
    name = model.get("model", "mpt")
    if name == "mpt":
        return model["variant"], model["backbone"]
    if name in HANDCRAFTED:
        from mpt_core.features import METHODS

        return name, METHODS[name].input
    spec = zoo().ZOO.get(name)
    return name, f"{'+'.join(spec.inputs)} {spec.size}x{spec.size}" if spec else "onset-apex flow"
