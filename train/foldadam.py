"""Adam over F folds' stacked weights at once: ``torch.optim.Adam``'s arithmetic, one step count per fold.

Used by fold-batched training (``foldbatch.py``, ``trainers.FoldBatch``). Its per-fold state exports to,
and imports from, the format of ``torch.optim.Adam.state_dict``, so partial checkpoints are the per-fold
loop's.
"""

from __future__ import annotations

from typing import Sequence

import torch


class FoldBatchError(ValueError):
    """Models, states or batches that cannot be trained fold-batched."""


class FoldAdam:
    """``torch.optim.Adam`` (no weight decay) over stacked tensors (F, ...), one step count per fold.

    ``step(active)`` updates only the folds marked active; the others keep weights, moments and
    step count. The arithmetic is torch's (``_multi_tensor_adam``), on all folds at once: the
    moments live in two flat (F, P) tensors.
    """

    def __init__(self, params: Sequence[torch.Tensor], *, lr: float, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8):
        self.params = list(params)
        if not self.params:
            raise FoldBatchError("FoldAdam: no parameters")
        self.folds = self.params[0].shape[0]
        if any(p.shape[0] != self.folds for p in self.params):
            raise FoldBatchError("FoldAdam: every tensor needs the same leading fold dim")
        self.lr, self.betas, self.eps = float(lr), (float(betas[0]), float(betas[1])), float(eps)
        self.sizes = [p[0].numel() for p in self.params]
        P = sum(self.sizes)
        p0 = self.params[0]
        self.exp_avg = torch.zeros(self.folds, P, device=p0.device, dtype=p0.dtype)  # (F, P)
        self.exp_avg_sq = torch.zeros(self.folds, P, device=p0.device, dtype=p0.dtype)  # (F, P)
        self.steps = [0] * self.folds  # on the host: bias corrections as torch computes them, no sync

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = None

    @torch.no_grad()
    def step(self, active: Sequence[bool]) -> None:
        active = [bool(a) for a in active]
        if len(active) != self.folds:
            raise FoldBatchError(f"FoldAdam.step: {len(active)} active flags for {self.folds} folds")
        if not any(active):
            return
        if any(p.grad is None for p in self.params):
            raise FoldBatchError("FoldAdam.step: a parameter has no gradient (call backward first)")
        Fo, (beta1, beta2) = self.folds, self.betas
        self.steps = [s + a for s, a in zip(self.steps, active)]
        # as torch.optim.Adam: python-float bias corrections from each fold's step count
        step_size = [-(self.lr / (1 - beta1 ** s)) if a else 0.0 for s, a in zip(self.steps, active)]
        bc2_sqrt = [(1 - beta2 ** s) ** 0.5 if a else 1.0 for s, a in zip(self.steps, active)]
        p0 = self.params[0]
        scal = torch.tensor([step_size, bc2_sqrt], dtype=p0.dtype).to(p0.device, non_blocking=True)  # (2, F)

        grad = torch.cat([p.grad.reshape(Fo, -1) for p in self.params], dim=1)  # (F, P)
        weight = torch.cat([p.reshape(Fo, -1) for p in self.params], dim=1)  # (F, P)
        exp_avg = torch.lerp(self.exp_avg, grad, 1 - beta1)
        exp_avg_sq = self.exp_avg_sq.mul(beta2).addcmul_(grad, grad, value=1 - beta2)
        denom = (exp_avg_sq.sqrt() / scal[1, :, None]).add_(self.eps)
        new_weight = torch.addcdiv(weight, exp_avg * scal[0, :, None], denom)
        if all(active):
            self.exp_avg, self.exp_avg_sq = exp_avg, exp_avg_sq
        else:
            on = torch.tensor(active).to(p0.device, non_blocking=True)[:, None]  # (F, 1)
            self.exp_avg = torch.where(on, exp_avg, self.exp_avg)
            self.exp_avg_sq = torch.where(on, exp_avg_sq, self.exp_avg_sq)
            new_weight = torch.where(on, new_weight, weight)
        parts = new_weight.split(self.sizes, dim=1)
        torch._foreach_copy_(self.params, [w.view(p.shape) for w, p in zip(parts, self.params)])

    # per-fold state, in torch.optim.Adam's format

    def _param_group(self) -> dict:
        template = torch.optim.Adam([torch.zeros(1, requires_grad=True)], lr=self.lr, betas=self.betas, eps=self.eps)
        group = template.state_dict()["param_groups"][0]
        group["params"] = list(range(len(self.params)))
        return group

    def fold_optimizer_state(self, f: int) -> dict:
        """Fold f's state as ``torch.optim.Adam(fold f's params).state_dict()`` would give it."""
        state = {}
        if self.steps[f]:
            m, v = self.exp_avg[f].split(self.sizes), self.exp_avg_sq[f].split(self.sizes)
            for i, p in enumerate(self.params):
                state[i] = {"step": torch.tensor(float(self.steps[f]), dtype=torch.get_default_dtype()),
                            "exp_avg": m[i].view(p.shape[1:]).clone(), "exp_avg_sq": v[i].view(p.shape[1:]).clone()}
        return {"state": state, "param_groups": [self._param_group()]}

    @torch.no_grad()
    def load_fold_optimizer_state(self, f: int, state_dict: dict) -> None:
        groups, state = state_dict.get("param_groups"), state_dict.get("state")
        if not isinstance(groups, list) or len(groups) != 1 or not isinstance(state, dict):
            raise FoldBatchError(f"fold {f}: not a one-group torch.optim.Adam state dict")
        g = groups[0]
        ours = {"lr": self.lr, "betas": self.betas, "eps": self.eps, "weight_decay": 0, "amsgrad": False,
                "maximize": False}
        theirs = {k: tuple(g.get(k)) if k == "betas" else g.get(k) for k in ours}
        if theirs != ours:
            raise FoldBatchError(f"fold {f}: optimizer state made with {theirs}, this run uses {ours}")
        if len(g["params"]) != len(self.params):
            raise FoldBatchError(f"fold {f}: optimizer state for {len(g['params'])} parameters, the model has "
                                 f"{len(self.params)}")
        if not state:
            self.steps[f] = 0
            self.exp_avg[f].zero_()
            self.exp_avg_sq[f].zero_()
            return
        steps = {float(s["step"]) for s in state.values()}
        if len(state) != len(self.params) or len(steps) != 1:
            raise FoldBatchError(f"fold {f}: optimizer state holds {len(state)} of {len(self.params)} "
                                 f"parameters, steps {sorted(steps)}; fold-batching needs one step count")
        m, v = [], []
        for i, pid in enumerate(g["params"]):
            s, shape = state[pid], self.params[i].shape[1:]
            if s["exp_avg"].shape != shape or s["exp_avg_sq"].shape != shape:
                raise FoldBatchError(f"fold {f}: optimizer state of parameter {i} has shape "
                                     f"{tuple(s['exp_avg'].shape)}, the model {tuple(shape)}")
            m.append(s["exp_avg"].reshape(-1))
            v.append(s["exp_avg_sq"].reshape(-1))
        self.exp_avg[f].copy_(torch.cat(m))
        self.exp_avg_sq[f].copy_(torch.cat(v))
        self.steps[f] = int(steps.pop())
