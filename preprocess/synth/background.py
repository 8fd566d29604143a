"""What a real face does besides its expression: the background motion of the calibrated preset.

Measured on real CASME II clips (``shared/datasets/REALISM.md``), every region of a face moves 0.2-0.8 px
between the onset and the apex where nothing is annotated, after the head's similarity motion is removed.
Three sources make that here, each a displacement field (2, H, W) in output pixels with its own time course:

- ``skin_field``: smooth non-rigid skin motion, a sum of random Gaussian-smoothed noise fields;
- ``relief_field``: a small out-of-plane rotation (pitch and yaw) of a face that is not flat: points
  nearer the camera (the nose, the face's centre) move more than its rim, which a similarity fit cannot
  remove (and which moves the eyelids and brows together, like a nod);
- ``other_aus``: faint activity of muscles that are not annotated (a few tenths of a pixel).

The head also translates at a steady speed (``head_velocity``) on top of the old random-walk drift.
"""

from __future__ import annotations

import cv2
import numpy as np

from .motion import AUS, envelope

SKIN_S, SKIN_EVERY_S = (0.3, 1.5), 1.0  # skin motion in long recordings: burst length, mean time between bursts


def skin_field(rng: np.random.Generator, size: int, peak_px: float, sigma: float) -> np.ndarray:
    """Smooth random displacement (2, size, size) whose median magnitude is about ``peak_px`` at 224
    (times a per-clip log-normal factor, so some faces move more than others)."""
    if peak_px <= 0:
        return np.zeros((2, size, size), np.float32)
    s = max(1.0, sigma * size)
    field = np.stack([cv2.GaussianBlur(rng.standard_normal((size, size)).astype(np.float32), (0, 0), s)
                      for _ in range(2)])
    field /= max(float(np.median(np.hypot(field[0], field[1]))), 1e-6)
    return field * np.float32(peak_px * size / 224 * np.exp(0.4 * rng.standard_normal()))


def relief_field(points: dict, size: int, pitch_deg: float, yaw_deg: float) -> np.ndarray:
    """Displacement (2, size, size) of rotating a face with relief by ``pitch_deg`` (positive: the face
    moves down) and ``yaw_deg`` (positive: toward the image's right): an ellipsoid plus the nose, whose
    depth scales each point's motion; the similarity part is left for the head-motion fit to remove."""
    ys, xs = np.mgrid[0:size, 0:size].astype(np.float32)
    (lx, ly), (rx, ry) = points["eye_l"], points["eye_r"]
    d = float(np.hypot(rx - lx, ry - ly))
    cx, cy = (lx + rx) / 2, (ly + ry) / 2 + 0.6 * d
    r2 = ((xs - cx) / (1.25 * d)) ** 2 + ((ys - cy) / (1.6 * d)) ** 2
    depth = np.sqrt(np.clip(1 - r2, 0, None)) * 0.9 * d  # px toward the camera
    nx, ny = points["nose_tip"]
    depth += 0.35 * d * np.exp(-(((xs - nx) / (0.22 * d)) ** 2 + ((ys - (ny - 0.3 * d)) / (0.45 * d)) ** 2) / 2)
    return np.stack([depth * np.float32(np.radians(yaw_deg)), depth * np.float32(np.radians(pitch_deg))])


def other_aus(rng: np.random.Generator, aus: str, rate: float) -> list[str]:
    """A Poisson(``rate``) number of AUs of ``motion.AUS`` that share no region family with ``aus``
    (faint, unannotated activity of other muscles)."""
    taken = set(aus.split("+"))
    # AUs of one family move alike; a faint member of an annotated family would blur its figure
    families = [{"1", "2"}, {"5", "7", "45"}, {"9", "10"}]
    for fam in families:
        if fam & taken:
            taken |= fam
    pool = [a for a in AUS if a not in taken]
    k = min(int(rng.poisson(rate)), len(pool))
    return [str(a) for a in rng.choice(pool, k, replace=False)] if k else []


def head_velocity(rng: np.random.Generator, median_px: float, size: int) -> np.ndarray:
    """A steady head translation per frame (2,), px: a random direction, a log-normal speed."""
    if median_px <= 0:
        return np.zeros(2, np.float32)
    angle = rng.uniform(0, 2 * np.pi)
    speed = median_px * size / 224 * np.exp(0.6 * rng.standard_normal())
    return np.float32(speed) * np.array([np.cos(angle), np.sin(angle)], np.float32)


def skin_bursts(rng: np.random.Generator, n: int, fps: float, size: int, preset) -> list:
    """(intensity (n,), field) pairs of the preset's skin motion over a recording of frames 1..``n``: bursts
    of ``SKIN_S`` seconds (a raised cosine up and down) at random times, one per ``SKIN_EVERY_S`` on
    average, each with its own ``skin_field``. Empty for a preset without skin motion."""
    if preset.skin_px <= 0:
        return []
    frames = np.arange(1, n + 1)
    out = []
    for _ in range(int(rng.poisson(n / fps / SKIN_EVERY_S))):
        length = max(3, int(round(rng.uniform(*SKIN_S) * fps)))
        onset = int(rng.integers(1 - length // 2, n))
        env = envelope(frames, onset, onset + length // 2, onset + length - 1)
        out.append((env, skin_field(rng, size, preset.skin_px, preset.skin_sigma)))
    return out
