"""Training F leave-one-subject-out folds together over one shared frozen backbone.

Why: the backbone is frozen and identical in every fold (same weights file or the same fixed
seed); only the motion prompts, adapters and head differ. The per-fold loop pays for the
backbone F times, on batches too small to fill an accelerator. Here the F folds' batches go
through the frozen parts as ONE batch of F * B rows, and only the small trainable modules run per
fold: ``torch.vmap`` over their stacked weights (F, ...) with ``torch.func.functional_call``.
The composition stays the model's own (``MPTModel.forward``): during a forward, each trainable
module is swapped for a wrapper that splits the rows back into folds.

The frozen parts are never vmapped, so fused attention (``F.scaled_dot_product_attention``, which
has no batching rule on the CPU) and autocast behave exactly as in one model.

Each fold computes what the per-fold loop computes (``train/step.py``): mean cross-entropy over
its own rows only (batches are ragged: padded to a common B), and Adam as ``torch.optim.Adam``
with a step count per fold; a fold without a batch at a step takes no step at all (a zero
gradient would still move Adam). Per-fold weights and Adam state export to, and import from, the
formats of ``trainable_state_dict`` and ``torch.optim.Adam.state_dict``, so partial checkpoints
and fold files are those of the per-fold loop.
"""

from __future__ import annotations

import warnings
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Sequence

import torch
from torch import nn
from torch.func import functional_call, vmap

from .foldadam import FoldAdam, FoldBatchError  # noqa: F401  (FoldAdam: re-exported)
from .step import row_loss


# helpers

def fold_batch_refusal(model_settings) -> str | None:
    """Why the folds of ``model_settings`` cannot be trained together, or None when they can."""
    if model_settings.model != "mpt":
        return f"model {model_settings.model} has no frozen backbone to share"
    if not supports_fold_batch(model_settings.variant):
        return f"variant {model_settings.variant} trains the backbone: folds cannot share it"
    return None


def supports_fold_batch(variant: str) -> bool:
    """False for the variants that train the backbone (``full-ft``, ``no-pretrain``): nothing to share."""
    from mpt_core.model import VARIANT_SPECS

    return not VARIANT_SPECS[variant].train_backbone


def fold_module_names(model: nn.Module) -> list[str]:
    """The largest submodules whose parameters are all trainable (prompts, adapters, slots, head).

    Raises if a module holds trainable and frozen parameters directly (it could not be split).
    """
    names: list[str] = []

    def visit(prefix: str, module: nn.Module) -> None:
        params = list(module.parameters())
        if params and all(p.requires_grad for p in params):
            names.append(prefix)
            return
        if any(p.requires_grad for p in module.parameters(recurse=False)):
            raise FoldBatchError(f"{prefix or 'model'}: holds trainable parameters next to frozen ones; "
                                 "cannot share it between folds")
        for name, child in module.named_children():
            visit(f"{prefix}.{name}" if prefix else name, child)

    visit("", model)
    if "" in names:
        raise FoldBatchError("every parameter is trainable: there is no frozen backbone to share")
    return names


def pad_stack(parts: Sequence[torch.Tensor | None], rows: int) -> torch.Tensor:
    """Per-fold tensors (b_f, ...) -> (F, rows, ...), zero-padded; None is a fold with no rows."""
    like = next((p for p in parts if p is not None), None)
    if like is None:
        raise FoldBatchError("pad_stack: every fold is empty; nothing to stack")
    out = like.new_zeros((len(parts), rows, *like.shape[1:]))  # (F, rows, ...)
    for f, p in enumerate(parts):
        if p is not None:
            if len(p) > rows:
                raise FoldBatchError(f"pad_stack: fold {f} has {len(p)} rows, more than the batch of {rows}")
            out[f, : len(p)] = p
    return out


def _autocast(device: torch.device, dtype: torch.dtype | None):
    return torch.autocast(device_type=device.type, dtype=dtype) if dtype is not None else nullcontext()


# classes

class _FoldMapped(nn.Module):
    """Runs ``module`` on rows (F * B, ...) as F calls, fold f's rows with fold f's weights."""

    def __init__(self, module: nn.Module, params: dict[str, torch.Tensor], folds: int):
        super().__init__()
        self.inner = module
        self.stacked = params  # local name -> (F, ...)
        self.folds = folds

    def __getattr__(self, name: str):
        try:
            return super().__getattr__(name)
        except AttributeError:  # plain attributes the model reads (uses_motion, num_tokens)
            return getattr(self._modules["inner"], name)

    def forward(self, *args: torch.Tensor) -> torch.Tensor:
        def one(params, *xs):
            return functional_call(self.inner, params, xs)

        xs = [x.unflatten(0, (self.folds, -1)) for x in args]  # (F, B, ...)
        return vmap(one)(self.stacked, *xs).flatten(0, 1)  # (F * B, ...)


class StackedFolds:
    """F folds' trainable weights stacked on a leading fold dim, around one shared frozen model.

    ``base`` is a model as the per-fold loop builds it; it lends its frozen parts and its structure.
    ``fold_states[f]`` is fold f's trainable state dict (``trainable_state_dict`` of the model fold f
    would train). ``params[name]`` is a leaf tensor (F, ...) with ``requires_grad``, named as in
    ``base.named_parameters()``.
    """

    def __init__(self, base: nn.Module, fold_states: Sequence[dict[str, torch.Tensor]]):
        variant = getattr(getattr(base, "settings", None), "variant", None)
        if variant is not None and not supports_fold_batch(variant):
            raise FoldBatchError(f"variant {variant!r} trains the backbone; folds cannot share it "
                                 "(train them one by one)")
        if not fold_states:
            raise FoldBatchError("StackedFolds needs at least one fold")
        self.base, self.folds = base, len(fold_states)
        self.names = [n for n, p in base.named_parameters() if p.requires_grad]
        self.module_names = fold_module_names(base)
        covered = {f"{m}.{n}" for m in self.module_names for n, _ in base.get_submodule(m).named_parameters()}
        assert covered == set(self.names), f"trainable parameters outside the fold modules: {set(self.names) ^ covered}"
        device = next(base.parameters()).device
        self.params: dict[str, torch.Tensor] = {
            n: torch.stack([base.get_parameter(n).detach()] * self.folds).to(device).requires_grad_(True)
            for n in self.names
        }
        for f, state in enumerate(fold_states):
            self.load_fold_state(f, state)

    @classmethod
    def from_models(cls, models: Sequence[nn.Module]) -> "StackedFolds":
        """Stack per-fold models; their frozen weights must be equal (models[0]'s are kept)."""
        from mpt_core.model import trainable_state_dict

        for m in models[1:]:
            _check_same_frozen(models[0], m)
        return cls(models[0], [trainable_state_dict(m) for m in models])

    @classmethod
    def build(cls, settings, *, seeds: Sequence[int], weights: str | Path | None = None,
              device: torch.device | str = "cpu") -> "StackedFolds":
        """Fold f as the per-fold loop builds it: ``torch.manual_seed(seeds[f])``, ``build_model``.

        The models are built on the CPU one at a time; only the first one's backbone is kept and
        moved to ``device``, the others give their trainable weights. Like the per-fold loop, this
        reseeds the global torch RNG.
        """
        from mpt_core.model import build_model, trainable_state_dict

        if not supports_fold_batch(settings.variant):
            raise FoldBatchError(f"variant {settings.variant!r} trains the backbone; folds cannot share it "
                                 "(train them one by one)")
        base, states = None, []
        for seed in seeds:
            torch.manual_seed(seed)
            with warnings.catch_warnings():  # the caller says once that the backbone is random
                warnings.filterwarnings("ignore", message="no weights file given")
                model = build_model(settings, weights=weights)
            if base is None:
                base = model
            else:
                _check_same_frozen(base, model)
            states.append(trainable_state_dict(model))
        if base is None:
            raise FoldBatchError("StackedFolds.build: no seeds given")
        return cls(base.to(device), states)

    # the forward

    @property
    def device(self) -> torch.device:
        return next(iter(self.params.values())).device

    def parameters(self) -> list[torch.Tensor]:
        """The stacked trainable tensors, in ``model.parameters()`` order (the optimiser's order)."""
        return [self.params[n] for n in self.names]

    def train(self, mode: bool = True) -> "StackedFolds":
        self.base.train(mode)
        return self

    def eval(self) -> "StackedFolds":
        return self.train(False)

    @contextmanager
    def _fold_mapped(self):
        swapped = []
        try:
            for name in self.module_names:
                parent_name, _, child = name.rpartition(".")
                parent = self.base.get_submodule(parent_name)
                module = getattr(parent, child)
                local = {n: self.params[f"{name}.{n}"] for n, _ in module.named_parameters()}
                setattr(parent, child, _FoldMapped(module, local, self.folds))
                swapped.append((parent, child, module))
            yield
        finally:
            for parent, child, module in reversed(swapped):
                setattr(parent, child, module)

    def __call__(self, image: torch.Tensor, motion: torch.Tensor | None) -> torch.Tensor:
        return self.forward(image, motion)

    def forward(self, image: torch.Tensor, motion: torch.Tensor | None) -> torch.Tensor:
        """image (F, B, 3, H, W), motion (F, B, T, 3, H, W) or None -> logits (F, B, C)."""
        Fo, B = image.shape[:2]
        if Fo != self.folds or (motion is not None and tuple(motion.shape[:2]) != (Fo, B)):
            got = None if motion is None else tuple(motion.shape[:2])
            raise FoldBatchError(f"expected inputs (folds={self.folds}, B, ...), got image {tuple(image.shape[:2])}, "
                                 f"motion {got}")
        flat_motion = None if motion is None else motion.flatten(0, 1)  # (F * B, T, 3, H, W)
        with self._fold_mapped():
            logits = self.base(image.flatten(0, 1), flat_motion)  # (F * B, C)
        return logits.unflatten(0, (Fo, B))

    # per-fold state, in the per-fold loop's formats

    def fold_state_dict(self, f: int) -> dict[str, torch.Tensor]:
        """Fold f's trainable weights: the keys and values ``trainable_state_dict`` gives for its model."""
        return {n: self.params[n][f].detach().clone() for n in self.names}  # clone: a view would save all folds

    @torch.no_grad()
    def load_fold_state(self, f: int, state: dict[str, torch.Tensor]) -> None:
        missing, unexpected = set(self.names) - set(state), set(state) - set(self.names)
        if missing or unexpected:
            raise FoldBatchError(f"fold {f}: state does not match the model (missing {sorted(missing)[:5]}, "
                                 f"unexpected {sorted(unexpected)[:5]})")
        for n in self.names:
            if state[n].shape != self.params[n].shape[1:]:
                raise FoldBatchError(f"fold {f}: {n} has shape {tuple(state[n].shape)}, the model "
                                     f"{tuple(self.params[n].shape[1:])}")
            self.params[n][f].copy_(state[n])

    @torch.no_grad()
    def fold_model(self, f: int) -> nn.Module:
        """The shared base model loaded with fold f's weights (for ``save_checkpoint``); valid until the next call."""
        for n in self.names:
            self.base.get_parameter(n).copy_(self.params[n][f])
        return self.base


def _check_same_frozen(a: nn.Module, b: nn.Module) -> None:
    fa = {n: p for n, p in a.named_parameters() if not p.requires_grad}
    fb = {n: p for n, p in b.named_parameters() if not p.requires_grad}
    if fa.keys() != fb.keys() or any(not torch.equal(fa[n], fb[n]) for n in fa):
        raise FoldBatchError("the folds' frozen backbones differ; fold-batching needs one shared backbone "
                             "(same weights file or the same random seed)")


# the step and the evaluation

def train_step_folds(stacked: StackedFolds, opt: FoldAdam, image: torch.Tensor, motion: torch.Tensor | None,
                     labels: torch.Tensor, counts: Sequence[int], *,
                     autocast_dtype: torch.dtype | None = None, pos_weight: torch.Tensor | None = None) -> torch.Tensor:
    """One step of every fold with rows; returns the per-fold mean loss (F,) (``step.row_loss``), detached.

    image (F, B, 3, H, W), motion (F, B, T, 3, H, W), labels (F, B) (AU targets: (F, B, A), with
    ``pos_weight`` (F, A)); fold f's first ``counts[f]``
    rows are real, the rest padding. A fold with no rows takes no step (its loss reads 0). If an
    active fold's loss is not finite, no fold is updated and the losses are returned, as
    ``train_step`` does: the caller knows which fold and step to name.
    """
    Fo, B = labels.shape[:2]
    counts = [int(c) for c in counts]
    if len(counts) != Fo or any(not 0 <= c <= B for c in counts):
        raise FoldBatchError(f"counts {counts} do not fit {Fo} folds of batch {B}")
    stacked.train()
    with _autocast(image.device, autocast_dtype):
        logits = stacked(image, motion)  # (F, B, C)
    if pos_weight is not None:  # (F, A): each fold's own AU weights, for each of its rows
        pos_weight = pos_weight[:, None].expand(Fo, B, pos_weight.shape[-1]).flatten(0, 1)  # (F * B, A)
    ce = row_loss(logits.float().flatten(0, 1), labels.flatten(0, 1), pos_weight).view(Fo, B)  # (F, B)
    n = torch.tensor(counts).to(labels.device, non_blocking=True)  # (F,)
    real = torch.arange(B, device=labels.device)[None] < n[:, None]  # (F, B)
    loss = torch.where(real, ce, 0.0).sum(1) / n.clamp(min=1)  # (F,): each fold's mean over its own rows
    if not bool(torch.isfinite(loss).all()):
        return loss.detach()
    opt.zero_grad()
    loss.sum().backward()  # fold f's weights only see fold f's loss
    opt.step([c > 0 for c in counts])
    return loss.detach()


@torch.no_grad()
def predict_folds(stacked: StackedFolds, image: torch.Tensor, motion: torch.Tensor | None, *,
                  autocast_dtype: torch.dtype | None = None, multilabel: bool = False) -> torch.Tensor:
    """Class probabilities (F, B, C) in float32 (padding rows too: the caller drops them); sigmoids
    with ``multilabel``."""
    stacked.eval()
    with _autocast(image.device, autocast_dtype):
        logits = stacked(image, motion)  # (F, B, C)
    return torch.sigmoid(logits.float()) if multilabel else torch.softmax(logits.float(), dim=-1)
