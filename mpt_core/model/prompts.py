"""VPT prompts (Jia et al. 2022): random learnable tokens, for the prompt-type ablation."""

from __future__ import annotations

import math

import torch
from torch import nn


def _vpt_init(tokens: torch.Tensor, patch_area: int) -> None:
    # VPT's initialisation: uniform, Xavier-style bound over the patch fan-in and width
    bound = math.sqrt(6.0 / (3 * patch_area + tokens.shape[-1]))
    nn.init.uniform_(tokens, -bound, bound)


class VPTPrompts(nn.Module):
    """K learnable tokens appended to the input sequence (VPT-shallow, and layer 0 of VPT-deep)."""

    uses_motion = False

    def __init__(self, *, dim: int, num_tokens: int, patch_area: int = 256):
        super().__init__()
        self.num_tokens = num_tokens
        self.tokens = nn.Parameter(torch.empty(1, num_tokens, dim))
        _vpt_init(self.tokens.data, patch_area)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: any tensor whose first dim is the batch -> (B, K, D)."""
        return self.tokens.expand(x.shape[0], -1, -1)


class DeepPromptSlot(VPTPrompts):
    """VPT-deep: before a block, replace the last K tokens by this block's own learnable tokens."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, L, _ = x.shape
        return torch.cat([x[:, : L - self.num_tokens], self.tokens.expand(B, -1, -1).to(x.dtype)], dim=1)
