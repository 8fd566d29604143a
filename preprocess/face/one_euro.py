"""The one-euro filter (Casiez, Roussel and Vogel, CHI 2012): a low-pass filter whose cutoff
rises with the signal's speed, so a still signal is smoothed hard (no jitter) and a moving one
barely (little lag). Vectorised: one filter runs over any array shape (e.g. 68 x 2 landmarks)."""

from __future__ import annotations

import math

import numpy as np


def _alpha(cutoff, dt: float):
    """Smoothing factor of an exponential filter with ``cutoff`` Hz at time step ``dt`` s."""
    tau = 1.0 / (2 * math.pi * cutoff)
    return 1.0 / (1.0 + tau / dt)


class OneEuroFilter:
    """``min_cutoff`` (Hz): the cutoff of a still signal (lower: less jitter, more lag when it starts
    moving); ``beta`` (Hz per unit/s): how fast the cutoff rises with speed (higher: less lag);
    ``d_cutoff`` (Hz): the cutoff of the speed estimate."""

    def __init__(self, *, min_cutoff: float = 1.0, beta: float = 0.05, d_cutoff: float = 1.0):
        if min_cutoff <= 0 or beta < 0 or d_cutoff <= 0:
            raise ValueError(f"one-euro filter: min_cutoff {min_cutoff} and d_cutoff {d_cutoff} must be > 0, "
                             f"beta {beta} >= 0")
        self.min_cutoff, self.beta, self.d_cutoff = min_cutoff, beta, d_cutoff
        self.reset()

    def reset(self) -> None:
        """Forget the past: the next value passes unfiltered (after a jump, e.g. a re-detection)."""
        self._x = None
        self._dx = None

    def __call__(self, x, dt: float) -> np.ndarray:
        """The filtered value of ``x`` (any shape, float) observed ``dt`` seconds after the last one."""
        x = np.asarray(x, dtype=np.float64)
        if self._x is None:
            self._x, self._dx = x.copy(), np.zeros_like(x)
            return x.copy()
        if dt <= 0:
            raise ValueError(f"one-euro filter: time step {dt} s must be > 0")
        dx = (x - self._x) / dt
        self._dx = self._dx + _alpha(self.d_cutoff, dt) * (dx - self._dx)
        cutoff = self.min_cutoff + self.beta * np.abs(self._dx)
        self._x = self._x + _alpha(cutoff, dt) * (x - self._x)
        return self._x.copy()
