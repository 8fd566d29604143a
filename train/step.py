"""The training step and the evaluation pass, as plain functions.

Everything a step touches comes in as an argument (the model holding one fold's trainable
weights, its optimiser, one batch); nothing is read from module or process globals. A later
batched trainer can therefore stack the trainable weights of many folds and map this step over
them (``torch.func.functional_call`` / ``vmap``) without untangling hidden state.
"""

from __future__ import annotations

import contextlib

import torch
import torch.nn.functional as F


def autocast(device: torch.device, precision: str):
    """bf16 autocast of the forward pass (matmuls and convolutions in bf16; the parameters, the
    loss, the softmax and Adam stay fp32), or nothing for fp32."""
    if precision == "bf16":
        return torch.autocast(device_type=device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


def native_bf16(device: torch.device) -> bool:
    """Whether ``device`` computes bf16 natively: CUDA with bf16 support, or a CPU with AVX512-BF16
    or AMX (elsewhere bf16 autocast is emulated and slower than fp32)."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    cpu = getattr(torch, "cpu", None)
    for probe in ("_is_avx512_bf16_supported", "_is_amx_tile_supported"):
        fn = getattr(cpu, probe, None)
        try:
            if fn is not None and fn():
                return True
        except Exception:
            pass
    try:
        flags = open("/proc/cpuinfo").read()
    except OSError:
        return False
    return " avx512_bf16" in flags or " amx_bf16" in flags


def resolve_precision(precision: str, device: torch.device) -> str:
    if precision == "auto":
        return "bf16" if native_bf16(device) else "fp32"
    return precision


def row_loss(logits: torch.Tensor, label: torch.Tensor, pos_weight: torch.Tensor | None = None) -> torch.Tensor:
    """Each row's loss (B,): cross-entropy for class labels (B,); for multi-label AU targets (B, A) of
    1, 0 or -1 (uncertain), binary cross-entropy averaged over the row's known targets (-1 masked), each
    AU's positive term weighted by ``pos_weight`` ((A,) or (B, A); ``train.au.positive_weights``)."""
    if label.dim() == 1:
        return F.cross_entropy(logits, label, reduction="none")
    known = (label >= 0).to(logits.dtype)  # (B, A)
    bce = F.binary_cross_entropy_with_logits(logits, label.clamp(min=0).to(logits.dtype), reduction="none",
                                             pos_weight=pos_weight)
    return (bce * known).sum(1) / known.sum(1).clamp(min=1)


def train_step(model: torch.nn.Module, optimizer: torch.optim.Optimizer, image: torch.Tensor,
               motion: torch.Tensor, label: torch.Tensor, precision: str = "fp32",
               pos_weight: torch.Tensor | None = None) -> torch.Tensor:
    """One optimisation step on one batch; returns the (detached) mean loss (``row_loss``: cross-entropy,
    or masked binary cross-entropy for AU targets).

    A non-finite loss is returned *before* the update, so the weights are never poisoned;
    the caller decides how to fail (it knows the fold and the step).
    """
    model.train()  # the MPT model keeps its frozen backbone in eval mode
    with autocast(image.device, precision):
        logits = model(image, motion)  # (B, C)
    loss = row_loss(logits.float(), label, pos_weight).mean()
    if not torch.isfinite(loss):
        return loss.detach()
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    return loss.detach()


@torch.no_grad()
def predict(model: torch.nn.Module, image: torch.Tensor, motion: torch.Tensor, precision: str = "fp32",
            multilabel: bool = False) -> torch.Tensor:
    """Class probabilities (B, C) in float32 (the forward in ``precision``, as in training); with
    ``multilabel`` (AU detection) each output's own probability (sigmoid) instead of a softmax."""
    model.eval()
    with autocast(image.device, precision):
        logits = model(image, motion)
    return torch.sigmoid(logits.float()) if multilabel else torch.softmax(logits.float(), dim=-1)
