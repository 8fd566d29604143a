"""Eulerian motion magnification (Wu et al. 2012) as METHOD.md 1.2 pins it down.

Per frame a Laplacian pyramid (``levels`` band levels + a low-pass residual), a causal
Butterworth band-pass along time on every band level and pixel, ``alpha`` on every band
level, the residual left out, then ``M_t = clip(x_t + collapse(alpha * B(t), 0), 0, 1)``.

Pure numpy/scipy/cv2 on arrays: no I/O, no torch.
"""

from __future__ import annotations

import cv2
import numpy as np
from scipy import signal

OUTPUTS = ("magnified", "band")


# helpers


def laplacian_pyramid(image: np.ndarray, levels: int) -> list[np.ndarray]:
    """``levels`` band images (finest first) plus the low-pass residual, float32.

    224 -> bands at 224, 112, 56, 28 and a 14 x 14 residual for ``levels = 4``.
    Odd sizes work: every ``pyrUp`` gets the finer level's size as ``dstsize``.
    """
    g = np.asarray(image, dtype=np.float32)
    pyramid = []
    for _ in range(levels):
        down = cv2.pyrDown(g)
        pyramid.append(g - cv2.pyrUp(down, dstsize=(g.shape[1], g.shape[0])))
        g = down
    pyramid.append(g)
    return pyramid


def collapse(pyramid: list[np.ndarray]) -> np.ndarray:
    """Laplacian reconstruction: the inverse of ``laplacian_pyramid`` (up to float rounding)."""
    out = pyramid[-1]
    for band in reversed(pyramid[:-1]):
        out = cv2.pyrUp(out, dstsize=(band.shape[1], band.shape[0])) + band
    return out


def without_residual(image: np.ndarray, levels: int) -> np.ndarray:
    """``collapse`` of ``image``'s Laplacian pyramid with the residual set to 0.

    The band levels telescope: their sum is ``image`` minus the residual brought back up
    to full size, so this is ``image - pyrUp^L(pyrDown^L(image))``: half the pyrUps of
    building and collapsing the pyramid, same numbers up to float rounding.
    """
    g, sizes = np.asarray(image, dtype=np.float32), []
    for _ in range(levels):
        sizes.append((g.shape[1], g.shape[0]))
        g = cv2.pyrDown(g)
    for size in reversed(sizes):
        g = cv2.pyrUp(g, dstsize=size)
    return image - g


def bandpass_sos(fps: float, *, f_lo: float = 0.4, f_hi: float = 4.0, order: int = 1) -> np.ndarray:
    """The Butterworth band-pass of METHOD 1.2 in second-order sections, designed at ``fps``."""
    if not 0 < f_lo < f_hi < fps / 2:
        raise ValueError(f"band-pass needs 0 < f_lo < f_hi < fps/2, got f_lo={f_lo}, f_hi={f_hi}, fps={fps}")
    return signal.butter(order, [f_lo, f_hi], btype="band", fs=fps, output="sos")


def filter_matrix(sos: np.ndarray, n: int, at: np.ndarray) -> np.ndarray:
    """Rows ``y[at] = F @ x`` of the causal filter ``sosfilt(sos, x)`` with zero initial state.

    The filter is linear and time-invariant, so its output at frame ``s`` is the impulse
    response ``h`` (computed with ``sosfilt`` itself) convolved with the input: ``F[s, k] =
    h[at[s] - k]`` for ``k <= at[s]``. Evaluating it as one matrix product gives the same
    numbers as running ``sosfilt`` along time, but only at the frames that are kept after
    temporal normalisation, and as a BLAS product instead of a per-pixel recursion.
    """
    impulse = np.zeros(n)
    impulse[0] = 1.0
    h = signal.sosfilt(sos, impulse)
    lag = np.asarray(at)[:, None] - np.arange(n)[None, :]
    return np.where(lag >= 0, h[np.clip(lag, 0, n - 1)], 0.0)


# the kernel


def magnify(
    frames: np.ndarray,
    fps: float,
    *,
    alpha: float = 20.0,
    levels: int = 4,
    f_lo: float = 0.4,
    f_hi: float = 4.0,
    order: int = 1,
    output: str = "magnified",
    at: np.ndarray | None = None,
) -> np.ndarray:
    """Magnify the native-rate clip ``frames`` (N, H, W, C) (or (N, H, W)): RGB in [0, 1],
    or uint8 in 0..255, which is read as ``frames / 255`` without a float copy of the clip.

    Returns float32 (len(at), H, W, C): ``M_t`` for ``output="magnified"`` or
    ``collapse(alpha * B(t), 0)`` for ``output="band"``, at native frame indices ``at``
    (default: every frame). The filter always runs over the whole clip from frame 0.

    Order of operations: METHOD filters every band level of every frame's pyramid in time,
    then collapses. The temporal filter (times alpha) acts on the time axis and
    pyrDown/pyrUp on the image axes, all linearly, so they commute: the band-passed
    Laplacian level ``l`` of the frames *is* Laplacian level ``l`` of the band-passed
    frames. We therefore band-pass the full-resolution frames once, and build and collapse
    (with the residual set to 0, ``without_residual``) the pyramid only for the ``len(at)``
    frames that are kept, instead of for all N. Same numbers up to float rounding (checked
    against the literal per-level float64 form in tests/test_kernels_magnify.py: < 1e-4),
    several times less work.

    Steady-state start: METHOD says ``sosfilt`` with ``zi = sosfilt_zi(sos) * x_1``. A
    band-pass has zero gain at DC, so that equals filtering ``x_t - x_1`` from a zero
    state (identical in exact arithmetic). Subtracting first makes a static clip give a
    band of exactly 0.0 in floating point too (the literal form leaves ~1e-15), and keeps
    float32 accurate.
    """
    if output not in OUTPUTS:
        raise ValueError(f"output must be one of {OUTPUTS}, got {output!r}")
    frames = np.asarray(frames)
    scale = np.float32(255.0 if frames.dtype == np.uint8 else 1.0)
    if scale == 1.0:
        frames = frames.astype(np.float32, copy=False)
    if frames.ndim not in (3, 4) or (frames.ndim == 4 and frames.shape[-1] == 1):
        # cv2 drops a trailing channel axis of size 1, which would broadcast wrongly
        raise ValueError(f"frames must be (N, H, W) or (N, H, W, C>1), got shape {frames.shape}")
    n = len(frames)
    if n < 2:
        raise ValueError(f"magnification needs at least 2 frames, got {n}")
    at = np.arange(n) if at is None else np.asarray(at, dtype=np.int64)
    if at.size and (at.min() < 0 or at.max() >= n):
        raise ValueError(f"frame indices {at.tolist()} outside 0..{n - 1}")

    weights = alpha / scale * filter_matrix(bandpass_sos(fps, f_lo=f_lo, f_hi=f_hi, order=order), n, at)
    change = np.subtract(frames, frames[0], dtype=np.float32).reshape(n, -1)  # x_t - x_1 (x scale), (N, H*W*C)
    filtered = (weights.astype(np.float32) @ change).reshape((len(at),) + frames.shape[1:])  # alpha * band-pass
    out = np.empty_like(filtered)
    for j, t in enumerate(at):
        band = without_residual(filtered[j], levels)  # collapse(alpha * B_0(t) .. B_{L-1}(t), 0)
        out[j] = band if output == "band" else np.clip(frames[t] / scale + band, 0.0, 1.0)
    return out
