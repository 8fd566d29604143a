"""Onset-apex flow on a grid: the mean u, v and optical strain over each cell of a G x G grid of the
face (the flow cache's ``flow_<S>`` maps), G * G * 3 numbers; with a balanced logistic regression it is
the "flow + linear" baseline (issue 27 measured it at 59 % accuracy on real CASME II, 5 classes, LOSO).
"""

from __future__ import annotations

import numpy as np

GRID = 16
SIDE = 112  # the flow cache side it reads (the largest default side)


def flow_grid(maps: np.ndarray, grid: int = GRID) -> np.ndarray:
    """(grid * grid * 3,) float32: cell means of u, v and strain of one clip's (5, S, S) maps."""
    maps = np.asarray(maps, dtype=np.float32)[:3]  # u, v, strain
    S = maps.shape[-1]
    if S < grid:
        raise ValueError(f"flow maps of side {S} are smaller than a {grid} x {grid} grid")
    edges = np.linspace(0, S, grid + 1).astype(int)
    cells = [maps[:, edges[i]:edges[i + 1], edges[j]:edges[j + 1]].mean((1, 2))
             for i in range(grid) for j in range(grid)]
    return np.stack(cells, 1).ravel()  # channel-major: (3, grid * grid)
