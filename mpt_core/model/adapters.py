"""Adapters and the block wrapper that injects them into a timm ViT (METHOD.md 2.3).

Adapters are added by wrapping ``vit.blocks[i]`` (the original block is kept as
``base_block``), never by editing timm. Up-projections start at zero, so a wrapped
block initially computes exactly what the bare block computes.
"""

from __future__ import annotations

from typing import Callable

import torch
from torch import nn


class Bottleneck(nn.Module):
    """Linear(D, D/r) -> GELU -> Linear(D/r, D), up-projection zero-initialised."""

    def __init__(self, dim: int, hidden: int):
        super().__init__()
        self.down = nn.Linear(dim, hidden)
        self.act = nn.GELU()
        self.up = nn.Linear(hidden, dim)
        nn.init.zeros_(self.up.weight)
        nn.init.zeros_(self.up.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.up(self.act(self.down(x)))


class GroupAdapter(nn.Module):
    """One bottleneck per token group, each added residually to its own group only.

    The sequence is ``[prefix (cls, reg) ; visual ; prompts]``; groups are slices.
    With ``num_prompts == 0`` there is no prompt branch (the two-branch ``adapter-only``);
    ``prompt_branch=False`` passes K prompt tokens through unchanged (VPT-deep, whose
    prompt outputs the next block discards).
    """

    def __init__(self, dim: int, hidden: int, *, num_prefix: int, num_prompts: int, prompt_branch: bool = True):
        super().__init__()
        self.num_prefix, self.num_prompts = num_prefix, num_prompts
        self.prefix = Bottleneck(dim, hidden)
        self.visual = Bottleneck(dim, hidden)
        self.prompt = Bottleneck(dim, hidden) if num_prompts and prompt_branch else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        P, K, L = self.num_prefix, self.num_prompts, x.shape[1]
        parts = [self.prefix(x[:, :P]), self.visual(x[:, P : L - K])]  # (B, P, D), (B, N, D)
        if K:
            prompts = x[:, L - K :]  # (B, K, D)
            parts.append(self.prompt(prompts) if self.prompt is not None else torch.zeros_like(prompts))
        return x + torch.cat(parts, dim=1)


class PrimitiveAdapter(nn.Module):
    """One Houlsby-style bottleneck shared by all tokens."""

    def __init__(self, dim: int, hidden: int):
        super().__init__()
        self.bottleneck = Bottleneck(dim, hidden)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.bottleneck(x)


class AdaptedBlock(nn.Module):
    """``prompt`` (VPT-deep slot or identity) -> timm block -> ``adapter`` after its MLP residual."""

    def __init__(self, base_block: nn.Module, adapter: nn.Module, prompt: nn.Module | None = None):
        super().__init__()
        self.base_block = base_block
        self.adapter = adapter
        self.prompt = prompt if prompt is not None else nn.Identity()

    def forward(self, x: torch.Tensor, **kwargs) -> torch.Tensor:
        x = self.prompt(x)
        x = self.base_block(x, **kwargs)  # ends with x + mlp(norm2(x))
        return self.adapter(x)


def wrap_blocks(
    blocks: nn.Sequential,
    make_adapter: Callable[[int], nn.Module],
    make_prompt: Callable[[int], nn.Module | None] = lambda i: None,
) -> int:
    """Replace every ``blocks[i]`` by ``AdaptedBlock(blocks[i], make_adapter(i), make_prompt(i))``."""
    n = len(blocks)
    for i in range(n):
        if isinstance(blocks[i], AdaptedBlock):
            raise ValueError(f"block {i} is already wrapped")
        blocks[i] = AdaptedBlock(blocks[i], make_adapter(i), make_prompt(i))
    wrapped = sum(isinstance(b, AdaptedBlock) for b in blocks)
    assert n > 0 and wrapped == n, f"wrapped {wrapped} of {n} blocks"
    return wrapped
