"""The math of one training step for a group of folds, behind one interface the loop (``loop.py``) drives.

``OneFold`` is a group of one: its model, ``torch.optim.Adam`` and ``step.train_step``, exactly the
per-fold recipe of METHOD.md. ``FoldBatch`` is a group of N > 1 folds over one shared frozen backbone
(``foldbatch.StackedFolds`` and ``foldadam.FoldAdam``). Both keep per fold: the trainable weights, the
Adam state (in ``torch.optim.Adam``'s format, so partial checkpoints are one format) and a model to
evaluate and save. The loop owns everything else: epochs, shuffles, flips, checkpoints, records.
"""

from __future__ import annotations

import os
import warnings
from typing import Sequence

import torch

from .foldadam import FoldAdam
from .foldbatch import StackedFolds, pad_stack, train_step_folds
from .step import train_step

BYTES_PER_FLOAT = 4


def build_fold_model(model_settings, weights, seed: int, device: torch.device):
    """The fold's fresh model: its trainable parts drawn from ``seed``, the frozen backbone shared."""
    from mpt_core.model import build_model

    torch.manual_seed(seed)
    with warnings.catch_warnings():  # run_loso says once that the backbone is random
        warnings.filterwarnings("ignore", message="no weights file given")
        return build_model(model_settings, weights=weights).to(device)


def load_trainable(model: torch.nn.Module, state: dict, where) -> None:
    from mpt_core.model.checkpoint import trained_buffers

    missing, unexpected = model.load_state_dict(state, strict=False)
    trainable = {n for n, p in model.named_parameters() if p.requires_grad} | trained_buffers(model)
    if unexpected or trainable & set(missing):
        raise ValueError(f"{where}: does not match the model (unexpected {unexpected[:5]}, "
                         f"missing trainable {sorted(trainable & set(missing))[:5]})")


def make_optimizer(params, lr: float, optimizer: str = "adam", weight_decay: float = 0.0):
    """Adam (METHOD.md; the default) or SGD with momentum 0.9 (some baselines' published recipe)."""
    if optimizer == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=0.9, weight_decay=weight_decay)
    return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay)


class OneFold:
    """One fold: a model, its optimiser (Adam unless the settings say otherwise) on its trainable
    parameters, ``train_step``."""

    def __init__(self, model_settings, weights, seeds: Sequence[int], device: torch.device, lr: float,
                 optimizer: str = "adam", weight_decay: float = 0.0):
        from mpt_core.model import parameter_counts

        (seed,) = seeds
        self.net = build_fold_model(model_settings, weights, seed, device)
        self.optimizer = make_optimizer([p for p in self.net.parameters() if p.requires_grad], lr, optimizer,
                                        weight_decay)
        self.counts = parameter_counts(self.net)

    def step(self, images, motions, labels, rows, precision: str, pos_weights=None) -> list[float]:
        pos_weight = pos_weights[0] if pos_weights is not None else None
        return [train_step(self.net, self.optimizer, images[0], motions[0], labels[0], precision,
                           pos_weight).item()]

    def load(self, i: int, checkpoint: dict, where) -> None:
        load_trainable(self.net, checkpoint["trainable"], where)
        self.optimizer.load_state_dict(checkpoint["optimizer"])

    def state(self, i: int) -> dict:
        from mpt_core.model import trainable_state_dict

        return {"trainable": trainable_state_dict(self.net), "optimizer": self.optimizer.state_dict()}

    def model(self, i: int) -> torch.nn.Module:
        return self.net


class FoldBatch:
    """N folds over one pass of the shared frozen backbone; each fold its own weights, Adam and steps."""

    def __init__(self, model_settings, weights, seeds: Sequence[int], device: torch.device, lr: float,
                 optimizer: str = "adam", weight_decay: float = 0.0):
        from mpt_core.model import parameter_counts

        if optimizer != "adam" or weight_decay:
            raise ValueError("--fold-batch trains with Adam without weight decay only; use --fold-batch 1")
        self.stacked = StackedFolds.build(model_settings, seeds=seeds, weights=weights, device=device)
        self.optimizer = FoldAdam(self.stacked.parameters(), lr=lr)
        self.counts = parameter_counts(self.stacked.base)

    def step(self, images, motions, labels, rows, precision: str, pos_weights=None) -> list[float]:
        B = max(rows)
        dtype = torch.bfloat16 if precision == "bf16" else None
        pos_weight = torch.stack(pos_weights) if pos_weights is not None else None  # (F, A)
        return train_step_folds(self.stacked, self.optimizer, pad_stack(images, B), pad_stack(motions, B),
                                pad_stack(labels, B), rows, autocast_dtype=dtype, pos_weight=pos_weight).tolist()

    def load(self, i: int, checkpoint: dict, where) -> None:
        self.stacked.load_fold_state(i, checkpoint["trainable"])
        self.optimizer.load_fold_optimizer_state(i, checkpoint["optimizer"])

    def state(self, i: int) -> dict:
        return {"trainable": self.stacked.fold_state_dict(i), "optimizer": self.optimizer.fold_optimizer_state(i)}

    def model(self, i: int) -> torch.nn.Module:
        return self.stacked.fold_model(i)  # valid until the next call


def auto_fold_batch(model_settings, batch_size: int, n_todo: int, device: torch.device) -> int:
    """How many folds fit together: training activations per clip (a ViT block saves about 20 floats
    per token and width, plus its attention maps) times the batch, against a memory budget (60 % of
    the free GPU memory; on the CPU a quarter of the available RAM, at most 8 GB)."""
    from mpt_core.model.mpt import create_backbone

    with torch.device("meta"):  # the backbone's real geometry, without memory or weights
        vit = create_backbone(model_settings)
    width, depth, heads = vit.embed_dim, len(vit.blocks), vit.blocks[0].attn.num_heads
    tokens = vit.num_prefix_tokens + vit.patch_embed.num_patches + model_settings.prompts
    per_clip = BYTES_PER_FLOAT * (depth * tokens * (20 * width + heads * tokens)
                                  + model_settings.frames * 3 * model_settings.img_size ** 2 * 3)
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        budget = 0.6 * free
    else:
        avail = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 8e9
        budget = min(8e9, avail / 4)
    return max(1, min(n_todo, int(budget // (per_clip * batch_size))))
