"""The canonical face crop and the plane geometry every aligner shares.

The crop is a square whose side and eye height are fixed multiples of the inter-ocular distance
(IOD), with the eye line levelled, so every face lands with its eyes at ``CANONICAL_EYES``;
region-motion descriptions place facial regions relative to those points.

Coordinates: input pixels follow OpenCV (pixel centres at integers). A face matrix maps them to
crop coordinates in units of the crop side (0 .. 1 across the crop), so one transform serves every
output size; ``unit_to_pixels(matrix, size)`` gives the pixel matrix for a size.
"""

from __future__ import annotations

import math

import numpy as np

SIDE_PER_IOD = 2.8  # crop side / inter-ocular distance: brows to chin, cheek to cheek
EYE_HEIGHT = 0.36  # eye line, as a fraction of the side from the top
CANONICAL_EYES = (
    (0.5 - 0.5 / SIDE_PER_IOD, EYE_HEIGHT),
    (0.5 + 0.5 / SIDE_PER_IOD, EYE_HEIGHT),
)  # (x, y) of the image-left and image-right eye, as fractions of the crop side


def roll_deg(left, right) -> float:
    """Roll of the eye line; positive when the image-right eye is higher (smaller y)."""
    return math.degrees(math.atan2(left[1] - right[1], right[0] - left[0]))


def align_matrix(left, right) -> np.ndarray:
    """(2, 3) input pixels -> unit-side crop with the eyes at CANONICAL_EYES."""
    (lx, ly), (rx, ry) = left, right
    dx, dy = rx - lx, ry - ly
    iod = math.hypot(dx, dy)
    k = 1.0 / (SIDE_PER_IOD * iod)
    a, b = k * dx / iod, k * dy / iod  # scaled rotation taking the eye line to +x
    linear = np.array([[a, b], [-b, a]])
    mid = np.array([(lx + rx) / 2, (ly + ry) / 2])
    shift = np.array([0.5, EYE_HEIGHT]) - linear @ mid
    return np.hstack([linear, shift[:, None]])


def transform_points(matrix: np.ndarray, points) -> np.ndarray:
    """(N, 2) float64: ``points`` mapped by a (2, 3) affine ``matrix``."""
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    return pts @ np.asarray(matrix, dtype=np.float64)[:, :2].T + np.asarray(matrix, dtype=np.float64)[:, 2]


def invert(matrix: np.ndarray) -> np.ndarray:
    """(2, 3) inverse of a (2, 3) invertible affine."""
    m = np.asarray(matrix, dtype=np.float64)
    linear = np.linalg.inv(m[:, :2])
    return np.hstack([linear, (-linear @ m[:, 2])[:, None]])


def unit_to_pixels(matrix: np.ndarray, size: int) -> np.ndarray:
    """(2, 3) float64: input pixels -> pixels of a (size, size) crop (centres at integers)."""
    m = np.asarray(matrix, dtype=np.float64) * size
    m[:, 2] -= 0.5  # unit coordinate 0 is the crop's left edge, pixel 0's centre is half a pixel in
    return m


def similarity_fit(src, dst, weights=None) -> np.ndarray:
    """(2, 3) least-squares similarity (scale, rotation, translation) taking ``src`` to ``dst``,
    both (N, 2), N >= 2 (closed form: complex-number regression, Umeyama without reflection)."""
    src = np.asarray(src, dtype=np.float64).reshape(-1, 2)
    dst = np.asarray(dst, dtype=np.float64).reshape(-1, 2)
    w = np.ones(len(src)) if weights is None else np.asarray(weights, dtype=np.float64)
    w = w / w.sum()
    zs, zd = src[:, 0] + 1j * src[:, 1], dst[:, 0] + 1j * dst[:, 1]
    ms, md = (w * zs).sum(), (w * zd).sum()
    s, d = zs - ms, zd - md
    k = (w * np.conj(s) * d).sum() / (w * np.abs(s) ** 2).sum()  # rotation-and-scale as one complex number
    t = md - k * ms
    return np.array([[k.real, -k.imag, t.real], [k.imag, k.real, t.imag]])


def matrix_roll_deg(matrix: np.ndarray) -> float:
    """The input's roll implied by a levelling matrix (input -> crop), in ``roll_deg``'s sign."""
    m = np.asarray(matrix, dtype=np.float64)
    # row 0 is the eye line's direction (dx, dy) scaled; roll is atan2(-dy, dx)
    return math.degrees(math.atan2(-m[0, 1], m[0, 0]))


def matrix_scale(matrix: np.ndarray) -> float:
    """Crop units per input pixel of a similarity matrix."""
    m = np.asarray(matrix, dtype=np.float64)
    return math.hypot(m[0, 0], m[0, 1])
