"""Model size and forward cost: trainable / frozen parameters and GMACs per clip."""

from __future__ import annotations

import warnings
from contextlib import contextmanager

import torch
from torch import nn

from .mpt import build_model
from .settings import ModelSettings


def parameter_counts(model: nn.Module) -> dict[str, int]:
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    total = sum(p.numel() for p in model.parameters())
    return {"trainable": trainable, "frozen": total - trainable, "total": total}


def print_trainable_parameters(model: nn.Module) -> None:
    c = parameter_counts(model)
    print(f"trainable params: {c['trainable']:,} || all params: {c['total']:,} || trainable%: {100 * c['trainable'] / c['total']:.4f}")


@contextmanager
def unfused_attention(model: nn.Module):
    """Switch timm's fused attention off so the flop counter sees the attention matmuls."""
    mods = [m for m in model.modules() if hasattr(m, "fused_attn")]
    saved = [m.fused_attn for m in mods]
    for m in mods:
        m.fused_attn = False
    try:
        yield
    finally:
        for m, s in zip(mods, saved):
            m.fused_attn = s


def forward_gmacs(model: nn.Module, frames: int, img_size: int, device: str | torch.device = "meta") -> float:
    """Forward multiply-accumulates (1e9) for one clip: one image + ``frames`` motion frames."""
    from torch.utils.flop_counter import FlopCounterMode

    image = torch.zeros(1, 3, img_size, img_size, device=device)
    motion = torch.zeros(1, frames, 3, img_size, img_size, device=device)
    # no torch.no_grad(): the counter's module tracker rejects grad-requiring views made without a graph
    with unfused_attention(model), FlopCounterMode(display=False) as counter:
        model(image, motion)
    return counter.get_total_flops() / 2 / 1e9  # a multiply-accumulate is 2 flops


def model_info(settings: ModelSettings) -> dict:
    """Parameter counts and GMACs per clip, computed on the meta device (no memory, no weights)."""
    with warnings.catch_warnings(), torch.device("meta"):
        warnings.filterwarnings("ignore", message="no weights file given")
        model = build_model(settings).eval()
    counts = parameter_counts(model)
    return {
        "variant": settings.variant,
        "backbone": settings.backbone,
        "classes": settings.num_classes,
        **counts,
        "gmacs": round(forward_gmacs(model, settings.frames, settings.img_size), 3),
    }
