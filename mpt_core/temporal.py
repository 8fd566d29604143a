"""Temporal normalisation of a clip to T frames (METHOD.md 1.3). Pure numpy, no I/O."""

from __future__ import annotations

import numpy as np


def sample_positions(n: int, frames: int = 16) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Native frame indices ``lo``, ``hi`` and weights ``w`` so that output ``i`` is
    ``(1 - w_i) * x[lo_i] + w_i * x[hi_i]`` at ``p_i = i * (n - 1) / (frames - 1)``.

    ``n >= frames``: the real frame ``round(p_i)`` (``lo == hi``, ``w == 0``), rounding half
    up, i.e. ``floor(p_i + 0.5)``, computed exactly in integers. ``n < frames``: linear
    interpolation between ``floor(p_i)`` and ``ceil(p_i)``.
    """
    if n < 2:
        raise ValueError(f"a clip needs at least 2 frames, got {n}")
    if frames < 2:
        raise ValueError(f"frames must be >= 2, got {frames}")
    num = np.arange(frames, dtype=np.int64) * (n - 1)  # p_i = num / den, exactly
    den = frames - 1
    if n >= frames:
        idx = (2 * num + den) // (2 * den)
        return idx, idx, np.zeros(frames)
    lo = num // den
    rem = num % den
    return lo, np.where(rem > 0, lo + 1, lo), rem / den


def needed_frames(n: int, frames: int = 16) -> np.ndarray:
    """The sorted native frame indices that ``normalise_length`` reads."""
    lo, hi, _ = sample_positions(n, frames)
    return np.unique(np.concatenate([lo, hi]))


def normalise_length(
    x: np.ndarray, frames: int = 16, *, n: int | None = None, at: np.ndarray | None = None
) -> np.ndarray:
    """Resample the clip ``x`` (N, ...) to ``frames`` frames.

    ``n >= frames`` returns copies of real frames (dtype kept); ``n < frames`` interpolates
    in float32 (float64 input stays float64). If ``x`` holds only the native frames ``at``
    of an ``n``-frame clip (as ``magnify(..., at=needed_frames(n))`` returns), pass ``n``
    and ``at``.
    """
    x = np.asarray(x)
    if at is None:
        n = len(x)
        rows = np.arange(n)
    else:
        if n is None:
            raise ValueError("pass n, the native frame count, together with at")
        rows = np.asarray(at)
        if len(rows) != len(x):
            raise ValueError(f"x has {len(x)} frames but at lists {len(rows)}")
    lo, hi, w = sample_positions(n, frames)
    lo_rows, hi_rows = np.searchsorted(rows, lo), np.searchsorted(rows, hi)
    if np.any(lo_rows >= len(rows)) or np.any(rows[np.minimum(lo_rows, len(rows) - 1)] != lo) or np.any(
        rows[np.minimum(hi_rows, len(rows) - 1)] != hi
    ):
        raise ValueError("at does not contain every frame the normalisation needs")
    if n >= frames:
        return x[lo_rows].copy()
    dtype = np.float64 if x.dtype == np.float64 else np.float32
    w = w.astype(dtype).reshape((-1,) + (1,) * (x.ndim - 1))
    return (1 - w) * x[lo_rows].astype(dtype) + w * x[hi_rows].astype(dtype)
