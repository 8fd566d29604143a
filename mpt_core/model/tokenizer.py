"""GaussianTokenizer: temporal Gaussian motion-prompt generation (METHOD.md 2.1)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class GaussianTokenizer(nn.Module):
    """T normalised frames -> K motion tokens.

    Each frame is embedded by a patchifying conv and global average pooling (f_t);
    K Gaussians over time, whose means and widths are predicted from the clip
    summary g = mean_t f_t, pool the frame embeddings into K vectors that a
    linear map lifts to the ViT width.
    """

    uses_motion = True

    def __init__(self, *, dim: int, num_tokens: int = 5, channels: int = 128, patch_size: int = 16):
        super().__init__()
        self.num_tokens = num_tokens
        self.embed = nn.Conv2d(3, channels, kernel_size=patch_size, stride=patch_size)  # eq. 8
        self.mu = nn.Linear(channels, num_tokens)     # eq. 9
        self.sigma = nn.Linear(channels, num_tokens)  # eq. 10
        self.proj = nn.Linear(channels, dim)          # eq. 12

    def embed_frames(self, frames: torch.Tensor) -> torch.Tensor:
        """frames (B, T, 3, H, W) -> f_t (B, T, C): the patchifying conv, then the mean over patches.

        The conv has stride = kernel, so it is one linear map applied to every patch, and the mean of a
        linear map over patches is the map of the mean patch: the mean patch is taken first (no weight
        involved), then one (3 p p) -> C product per frame. Equal to ``embed(x).mean((2, 3))`` up to float
        summation order, at 1 / (h w) of the cost; and when folds are trained together (each with its own
        weights, ``train/foldbatch.py``) it is a batched matmul, not a grouped conv whose backward
        costs 4x.
        """
        p = self.embed.kernel_size[0]
        h, w = frames.shape[-2] // p, frames.shape[-1] // p  # a stride-p conv drops the remainder
        patches = frames[..., : h * p, : w * p].unflatten(-2, (h, p)).unflatten(-1, (w, p))  # (B, T, 3, h, p, w, p)
        mean_patch = patches.mean(dim=(3, 5)).flatten(2)  # (B, T, 3 p p)
        return F.linear(mean_patch, self.embed.weight.flatten(1), self.embed.bias)  # (B, T, C)

    def gaussian_weights(self, f: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Weights (B, K, T) summing to 1 over t, means (B, K) in [0, T-1], widths (B, K)."""
        T = f.shape[1]
        g = f.mean(dim=1)  # (B, C)
        mu = (T - 1) * torch.sigmoid(self.mu(g))  # (B, K)
        sigma = F.softplus(self.sigma(g)) + 0.5  # (B, K)
        t = torch.arange(T, device=f.device, dtype=mu.dtype)
        logits = -((t - mu[..., None]) ** 2) / (2 * sigma[..., None] ** 2)  # (B, K, T)
        # softmax over t == exp(.) normalised to sum 1 (eq. 11), without underflow for narrow Gaussians
        return logits.float().softmax(dim=-1), mu, sigma

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        """frames (B, T, 3, H, W), normalised -> tokens (B, K, D)."""
        f = self.embed_frames(frames)  # (B, T, C)
        w, _, _ = self.gaussian_weights(f)
        pooled = torch.einsum("bkt,btc->bkc", w.to(f.dtype), f)  # (B, K, C)
        return self.proj(pooled)  # (B, K, D)
