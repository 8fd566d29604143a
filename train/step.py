"""The training step and the evaluation pass, as plain functions.

Everything a step touches comes in as an argument (the model holding one fold's trainable
weights, its optimiser, one batch); nothing is read from module or process globals. A later
batched trainer can therefore stack the trainable weights of many folds and map this step over
them (``torch.func.functional_call`` / ``vmap``) without untangling hidden state.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def train_step(model: torch.nn.Module, optimizer: torch.optim.Optimizer, image: torch.Tensor,
               motion: torch.Tensor, label: torch.Tensor) -> torch.Tensor:
    """One optimisation step on one batch; returns the (detached) mean cross-entropy.

    A non-finite loss is returned *before* the update, so the weights are never poisoned;
    the caller decides how to fail (it knows the fold and the step).
    """
    model.train()  # the MPT model keeps its frozen backbone in eval mode
    logits = model(image, motion)  # (B, C)
    loss = F.cross_entropy(logits.float(), label)
    if not torch.isfinite(loss):
        return loss.detach()
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    return loss.detach()


@torch.no_grad()
def predict(model: torch.nn.Module, image: torch.Tensor, motion: torch.Tensor) -> torch.Tensor:
    """Class probabilities (B, C) in float32."""
    model.eval()
    return torch.softmax(model(image, motion).float(), dim=-1)
