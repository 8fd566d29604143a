"""LBP-TOP: uniform local binary patterns on three orthogonal planes (Zhao & Pietikainen 2007), the
hand-crafted baseline of the CASME II paper (Yan et al. 2014: 5 x 5 blocks, a linear SVM).

A clip is a (T, H, W) grey volume. Each pixel of its interior gets three 8-bit codes, one per plane
(XY: space; XT and YT: space-time), each comparing 8 neighbours on an ellipse of radii (R_x, R_y,
R_t) with the centre. Codes map to 59 bins (58 uniform patterns, at most two 0/1 transitions round
the circle, and one bin for all others). The face is cut into a grid of blocks; the feature is the
concatenation of each block's three normalised histograms: grid_y * grid_x * 3 * 59 numbers.
"""

from __future__ import annotations

import numpy as np

P = 8  # neighbours per plane
BINS = 59  # uniform patterns of 8 bits (58) + one for the rest
GRID = (5, 5)  # blocks (Yan et al. 2014)
RADII = (1, 1, 2)  # R_x, R_y, R_t: space radius 1; time radius 2 on the cache's 10 interpolated frames


def uniform_table() -> np.ndarray:
    """(256,) int: the bin of each 8-bit code; uniform codes in increasing order, the rest in bin 58."""
    table = np.full(256, BINS - 1, dtype=np.int64)
    uniform = [c for c in range(256) if bin(c ^ ((c >> 1) | ((c & 1) << 7))).count("1") <= 2]
    assert len(uniform) == BINS - 1
    table[uniform] = np.arange(BINS - 1)
    return table


TABLE = uniform_table()


def plane_codes(volume: np.ndarray, axes: tuple[int, int], radii: tuple[int, int], pad: tuple[int, int, int]) -> np.ndarray:
    """8-bit LBP codes of the interior (T - 2 pad_t, H - 2 pad_y, W - 2 pad_x) of ``volume``, neighbours on
    the plane of ``axes`` (two of 0=t, 1=y, 2=x) with ``radii`` along them (rounded to whole pixels)."""
    T, H, W = volume.shape
    pt, py, px = pad
    centre = volume[pt:T - pt, py:H - py, px:W - px]
    codes = np.zeros(centre.shape, dtype=np.int64)
    for k in range(P):
        angle = 2 * np.pi * k / P
        offset = [0, 0, 0]
        offset[axes[0]] = int(round(-radii[0] * np.sin(angle)))
        offset[axes[1]] = int(round(radii[1] * np.cos(angle)))
        dt, dy, dx = offset
        neighbour = volume[pt + dt:T - pt + dt, py + dy:H - py + dy, px + dx:W - px + dx]
        codes |= (neighbour >= centre).astype(np.int64) << k
    return codes


def lbp_top(volume: np.ndarray, grid: tuple[int, int] = GRID, radii: tuple[int, int, int] = RADII) -> np.ndarray:
    """The LBP-TOP feature (grid_y * grid_x * 3 * 59,) float32 of a (T, H, W) grey volume."""
    volume = np.asarray(volume, dtype=np.int16)
    rx, ry, rt = radii
    T, H, W = volume.shape
    if T <= 2 * rt or H <= 2 * ry + grid[0] or W <= 2 * rx + grid[1]:
        raise ValueError(f"volume {volume.shape} too small for radii {radii} and a {grid} grid")
    pad = (rt, ry, rx)
    planes = (plane_codes(volume, (1, 2), (ry, rx), pad),  # XY
              plane_codes(volume, (0, 2), (rt, rx), pad),  # XT
              plane_codes(volume, (0, 1), (rt, ry), pad))  # YT
    h, w = planes[0].shape[1:]
    ys = np.linspace(0, h, grid[0] + 1).astype(int)
    xs = np.linspace(0, w, grid[1] + 1).astype(int)
    out = []
    for i in range(grid[0]):
        for j in range(grid[1]):
            for codes in planes:
                bins = TABLE[codes[:, ys[i]:ys[i + 1], xs[j]:xs[j + 1]]].ravel()
                hist = np.bincount(bins, minlength=BINS).astype(np.float32)
                out.append(hist / max(1.0, hist.sum()))
    return np.concatenate(out)
