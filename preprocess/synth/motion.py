"""AU-like motion: smooth local displacement fields, their time course, and the nuisances.

Each action unit is a few Gaussian-windowed displacement blobs anchored to face landmarks;
a clip's field is the sum of its AUs, each scaled to a peak of ``AU_PEAK_PX`` (pixels at
224 px) and capped at ``MAX_PX``. The field is switched on by a raised-cosine envelope that
is 0 at the onset, 1 at the apex and 0 again at the offset. Class information lives only
in *where* the face moves; nothing about the label changes a neutral frame.
"""

from __future__ import annotations

from statistics import NormalDist

import numpy as np

CLASSES = ("happiness", "surprise", "disgust", "repression", "others")
CASME2_COUNTS = (32, 25, 63, 27, 99)  # CASME II 2014 coding file, 5-class subset (246 clips)

# AU -> blobs (landmark stem, content displacement (dx, dy) with dx pointing *outwards* from
# the face midline, window sigma (sx, sy) as a fraction of the image side). "_l/_r" stems are
# mirrored to both sides.
AUS = {
    "1": [("brow_in", (0.0, -1.0), (0.035, 0.03)), ("glabella", (0.0, -0.5), (0.025, 0.025))],
    "2": [("brow_out", (0.0, -1.0), (0.035, 0.03)), ("brow_mid", (0.0, -0.6), (0.03, 0.03))],
    "4": [("brow_in", (-0.7, 0.7), (0.035, 0.03)), ("brow_mid", (-0.3, 0.6), (0.03, 0.03)),
          ("glabella", (0.0, 0.4), (0.02, 0.025))],
    "5": [("eye_top", (0.0, -1.0), (0.03, 0.015))],
    "6": [("cheek", (0.0, -1.0), (0.045, 0.04)), ("eye_bot", (0.0, -0.5), (0.03, 0.015))],
    "7": [("eye_bot", (0.0, -1.0), (0.03, 0.015)), ("eye_top", (0.0, 0.3), (0.03, 0.012))],
    "9": [("nose_side", (0.0, -1.0), (0.025, 0.035)), ("nose_wing", (0.0, -0.7), (0.025, 0.025))],
    "10": [("lip_top", (0.0, -1.0), (0.06, 0.02)), ("nose_wing", (0.2, -0.4), (0.025, 0.025))],
    "12": [("mouth", (0.6, -0.8), (0.035, 0.03))],
    "14": [("mouth", (-1.0, 0.0), (0.03, 0.025))],
    "15": [("mouth", (0.0, 1.0), (0.03, 0.035))],
    "17": [("chin", (0.0, -1.0), (0.06, 0.035)), ("lip_bot", (0.0, -0.6), (0.05, 0.02))],
    "24": [("lip_top", (0.0, 0.6), (0.06, 0.015)), ("lip_bot", (0.0, -0.6), (0.06, 0.015))],
    "45": [("eye_top", (0.0, 1.0), (0.03, 0.018))],
}
# class -> (AU string, weight) choices; the AU regions differ between classes.
CLASS_AUS = {
    "happiness": [("6+12", 3), ("12", 1)],
    "surprise": [("1+2", 3), ("1", 1), ("2", 1)],
    "disgust": [("4+9", 2), ("4+10", 2), ("9+10", 1), ("4+9+10", 1), ("4", 1)],
    "repression": [("14", 1), ("15", 1), ("17", 1), ("14+17", 2), ("15+17", 2)],
    "others": [("7", 2), ("45", 2), ("5", 1), ("24", 1), ("7+24", 1)],
}
AU_PEAK_PX = (1.0, 1.5)  # per-AU peak displacement, pixels at 224 px
BLOB_SCALE = 1.3  # widens every window in AUS
MAX_PX = 1.5  # cap on the summed displacement, pixels at 224 px


def sample_aus(rng: np.random.Generator, label: str, class_aus: dict = CLASS_AUS) -> str:
    choices, weights = zip(*class_aus[label])
    p = np.asarray(weights, np.float64)
    return choices[rng.choice(len(choices), p=p / p.sum())]


def draw_amplitude(rng: np.random.Generator, amp_px=("uniform", *AU_PEAK_PX), sigma: float | None = None,
                   quantile: float | None = None) -> float:
    """One AU's peak displacement, pixels at 224: ("uniform", lo, hi), or ("lognormal", median, sigma,
    floor, cap) (the real spread: a log-normal, its faint tail cut at ``floor``; ``sigma`` overrides its).
    ``quantile`` (in (0, 1)) picks the draw instead of ``rng``: a corpus's stratified amplitudes."""
    if amp_px[0] == "uniform":
        if quantile is not None:
            return float(amp_px[1] + quantile * (amp_px[2] - amp_px[1]))
        return float(rng.uniform(amp_px[1], amp_px[2]))
    _, median, own, floor, cap = amp_px
    sigma = own if sigma is None else sigma
    z = rng.standard_normal() if quantile is None else NormalDist().inv_cdf(min(max(quantile, 1e-9), 1 - 1e-9))
    return float(np.clip(median * np.exp(sigma * z), floor, cap))


def au_field(aus: str, points: dict, size: int, rng: np.random.Generator, *, amp_px=("uniform", *AU_PEAK_PX),
             max_px: float = MAX_PX, shapes: dict | None = None, amp_scale: dict | None = None,
             amp_sigma: dict | None = None, quantiles: dict | None = None) -> np.ndarray:
    """Content displacement at the apex, (2, H, W) float32 in output pixels (x, then y). ``quantiles``:
    AU -> the quantile of its amplitude (a stratified corpus, ``writer.stratify``); others draw from ``rng``."""
    ys, xs = np.mgrid[0:size, 0:size].astype(np.float32)
    mid = (points["eye_l"][0] + points["eye_r"][0]) / 2
    field = np.zeros((2, size, size), np.float32)
    for au in aus.split("+"):
        amp = draw_amplitude(rng, amp_px, (amp_sigma or {}).get(au), (quantiles or {}).get(au))
        amp *= (amp_scale or {}).get(au, 1.0) * size / 224
        for stem, (dx, dy), (sx, sy) in (shapes or AUS)[au]:
            names = [stem] if stem in points else [f"{stem}_l", f"{stem}_r"]
            for name in names:
                px, py = points[name]
                outward = 1.0 if px >= mid else -1.0
                w = np.exp(-(((xs - px) / (sx * size * BLOB_SCALE)) ** 2 + ((ys - py) / (sy * size * BLOB_SCALE)) ** 2) / 2)
                field[0] += amp * dx * outward * w
                field[1] += amp * dy * w
    cap = max_px * size / 224
    norm = np.sqrt(field[0] ** 2 + field[1] ** 2)
    field *= np.minimum(1.0, cap / np.maximum(norm, 1e-6))
    return field


def envelope(frames: np.ndarray, onset: int, apex: int, offset: int) -> np.ndarray:
    """Raised-cosine intensity: 0 up to the onset, 1 at the apex, back to 0 at the offset."""
    f = np.asarray(frames, np.float64)
    rise = 0.5 * (1 - np.cos(np.pi * np.clip((f - onset) / max(apex - onset, 1), 0, 1)))
    fall = 0.5 * (1 + np.cos(np.pi * np.clip((f - apex) / max(offset - apex, 1), 0, 1)))
    return np.where(f <= apex, rise, fall).astype(np.float32)


def head_drift(rng: np.random.Generator, n: int, size: int) -> np.ndarray:
    """Global translation per frame, (n, 2) px: a mean-reverting random walk (std ~0.15 px at 224)."""
    step = 0.03 * size / 224
    steps = rng.normal(0, step, (n, 2))
    out = np.zeros((n, 2))
    out[0] = rng.normal(0, step / np.sqrt(1 - 0.98**2), 2)  # start in the walk's stationary state
    for t in range(1, n):
        out[t] = 0.98 * out[t - 1] + steps[t]
    return out.astype(np.float32)
