"""Approximate rank pooling (dynamic image, Bilen et al.) as METHOD.md 1.4 pins it down.

Pure numpy on arrays: no I/O, no torch.
"""

from __future__ import annotations

import numpy as np


def rank_pool_weights(frames: int = 16) -> np.ndarray:
    """``a_t = 2 (T - t + 1) - (T + 1) (H_T - H_{t-1})`` for ``t = 1 .. T`` (they sum to 0)."""
    t = np.arange(1, frames + 1)
    harmonic = np.concatenate([[0.0], np.cumsum(1.0 / t)])  # H_0 .. H_T
    return 2.0 * (frames - t + 1) - (frames + 1) * (harmonic[frames] - harmonic[t - 1])


def rank_pool(frames: np.ndarray) -> np.ndarray:
    """``d = sum_t a_t x_t`` over the T frames (T, H, W, C) in [0, 255]; float64 (H, W, C)."""
    frames = np.asarray(frames, dtype=np.float64)
    return np.tensordot(rank_pool_weights(len(frames)), frames, axes=1)


def to_uint8(d: np.ndarray) -> np.ndarray:
    """``round(255 * (d - min) / (max - min))`` with one global min and max (half rounds up);
    a constant input gives a uniform 128 image instead of dividing by zero."""
    lo, hi = float(d.min()), float(d.max())
    if hi == lo:
        return np.full(d.shape, 128, dtype=np.uint8)
    return np.floor(255.0 * (d - lo) / (hi - lo) + 0.5).astype(np.uint8)


def dynamic_image(frames: np.ndarray) -> np.ndarray:
    """The 8-bit rank image of the normalised original frames (T, H, W, C) in [0, 255]."""
    return to_uint8(rank_pool(frames))
