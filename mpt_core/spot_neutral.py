"""The neutral face a region's deviation is measured from: the calmest stretch of the video.

A running median over 8 s (the spotter's first reference) is the neutral face only where the face is
neutral most of the time. In a clip that is mostly expression, or shorter than the window, the median
IS the expression, and the score comes out upside down: on a real 2.4 s clip (neutral 0.57 s, then a
broad smile to the end) it flagged the neutral part and nothing where the smile starts.

Here the reference is where the face is calmest. The motion energy of frame t is the sum over all 18
regions of the squared frame-to-frame displacement (crop px^2); its mean over ``calm_s`` (0.15 s) is
a window's energy. A neutral face is still; a held expression trembles (a contracted muscle is never
still): on the real smile clip the neutral windows' energy was 0.08 px^2, the calmest window inside
the held smile's 0.48 (6 x), and most of the smile's 1-10. Within each reference window (``baseline_s``
centred on a frame; the whole video when it is shorter), the windows within ``calm_tie`` (1.5) times
the calmest are the candidates, and a run of them is a calm stretch; each region's neutral position
is its median over the chosen stretch. Which stretch, when several are about as calm (a still
expression, a synthetic one or a real one held very still, is as calm as the neutral face):
- a video no longer than the window: the EARLIEST, since a recording starts neutral more often than
  not; a video whose calm stretch comes later and whose first frames are already away from it is
  reported by the spotter as starting mid-expression (``Spotted.starts_before``);
- a longer video gets one stretch per block of ``baseline_s / 8`` (the reference follows the face's
  slow changes, as the median did): the stretch nearest the window's median position, which is the
  neutral face there, since expressions (at most 4 s) fill less than half of the 8 s window. (The
  earliest would be wrong where the window starts inside a held expression.)
A lost frame makes every window over it ineligible.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Neutral:
    reference: np.ndarray  # (N, R, 2) each frame's neutral positions
    stretches: tuple[tuple[int, int], ...]  # the calm stretches used (first, last frame, inclusive), in order
    mask: np.ndarray  # (N,) bool: frames inside a used stretch


def motion_energy(positions: np.ndarray) -> np.ndarray:
    """(N,) summed squared frame-to-frame displacement of all regions; frame 0 takes frame 1's;
    NaN where the frame or its predecessor is lost."""
    n = len(positions)
    if n < 2:
        return np.zeros(n)
    step = np.diff(positions, axis=0)
    e = (step**2).sum(axis=(1, 2))  # NaN propagates from a lost frame
    return np.concatenate([e[:1], e])


def window_energy(energy: np.ndarray, width: int) -> np.ndarray:
    """(N,) mean energy over frames [t, t + width); +inf where the window passes the end or a lost frame."""
    n = len(energy)
    out = np.full(n, np.inf)
    if n < width:
        return out
    bad = ~np.isfinite(energy)
    e = np.where(bad, 0.0, energy)
    s = np.concatenate([[0.0], np.cumsum(e)])
    b = np.concatenate([[0], np.cumsum(bad)])
    starts = np.arange(n - width + 1)
    mean = (s[starts + width] - s[starts]) / width
    ok = (b[starts + width] - b[starts]) == 0
    out[starts] = np.where(ok, mean, np.inf)
    return out


def calm_stretches(energy_w: np.ndarray, lo: int, hi: int, width: int, tie: float) -> list[tuple[int, int]]:
    """The calm stretches among windows starting in [lo, hi - width]: the runs of windows within
    ``tie`` times the calmest, as (first, last) frames, in time order; [] when no window is valid."""
    last_start = hi - width
    if last_start < lo:
        return []
    w = energy_w[lo : last_start + 1]
    if not np.isfinite(w).any():
        return []
    best = float(np.min(w))
    candidates = w <= max(best * tie, best + 1e-12)
    runs, start = [], None
    for i, c in enumerate(candidates):
        if c and start is None:
            start = i
        if start is not None and (not c or i == len(w) - 1):
            end = i if c else i - 1
            runs.append((lo + start, lo + end + width - 1))
            start = None
    return runs


def neutral_reference(positions: np.ndarray, width: int, baseline: int, tie: float) -> Neutral:
    """Each frame's neutral region positions (see the module docstring). ``width``: the calm
    window in frames; ``baseline``: the reference window in frames."""
    n = len(positions)
    reference = np.full(positions.shape, np.nan)
    mask = np.zeros(n, bool)
    if n == 0:
        return Neutral(reference, (), mask)
    width = max(2, min(width, n))
    ew = window_energy(motion_energy(positions), width)
    if n <= baseline:
        blocks = [(0, n, 0, n)]  # (block start, block end, window lo, window hi)
    else:
        stride = max(1, baseline // 8)
        half = baseline // 2
        blocks = [(s, min(n, s + stride), max(0, s + stride // 2 - half), min(n, s + stride // 2 + half + 1))
                  for s in range(0, n, stride)]
    medians: dict[tuple[int, int], np.ndarray] = {}
    used: list[tuple[int, int]] = []

    def median(stretch):
        if stretch not in medians:
            medians[stretch] = np.nanmedian(positions[stretch[0] : stretch[1] + 1], axis=0)
        return medians[stretch]

    for start, end, lo, hi in blocks:
        stretches = calm_stretches(ew, lo, hi, width, tie)
        if not stretches:
            continue
        if len(blocks) == 1 or len(stretches) == 1:
            stretch = stretches[0]  # the earliest (see the module docstring)
        else:
            with np.errstate(all="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                typical = np.nanmedian(positions[lo:hi], axis=0)
            stretch = min(stretches, key=lambda st: float(np.nansum((median(st) - typical) ** 2)))
        if stretch not in used:
            used.append(stretch)
            mask[stretch[0] : stretch[1] + 1] = True
        reference[start:end] = median(stretch)
    return Neutral(reference, tuple(sorted(used)), mask)
