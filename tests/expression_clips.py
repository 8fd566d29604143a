"""Short synthetic expression clips for the spotter's tests: the astronaut photograph (``facescenes``)
smiling (both lip corners pulled up and out, ``local_bump``) on a known schedule, with a small head
sway, sensor noise and, while the smile is held, a tremor of the lip corners.

Why the tremor: a held expression is a contracted muscle, and a contracted muscle is never still. On
the real smile clip (``realmedia``: single_face.mp4) the face's motion energy (``spot_neutral``) in the
held smile was 6 to 100 times that of the neutral face; the tremor here (``TREMOR`` of the amplitude,
frame to frame) makes it about 3 to 10 times, the milder end of what the real face showed.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from facescenes import GREY, local_bump, noisy

FPS = 30.0
AMPLITUDE = 3.0  # px of lip-corner travel at the full smile, in the 640 x 480 frame (IOD 43 px)
TREMOR = 0.08  # frame-to-frame jitter of the held smile's amplitude, as a fraction of it
RAMP_S = 0.25  # onset and offset: raised-cosine ramps of this length


def smile_level(n: int, onset: int, offset: int | None, ramp: int) -> np.ndarray:
    """(n,) 0..1: 0 before ``onset``, a raised-cosine rise over ``ramp`` frames, held, and (when
    ``offset`` is given) a raised-cosine fall ending at ``offset``. ``onset`` may be negative: the
    clip starts mid-expression."""
    t = np.arange(n, dtype=np.float64)
    rise = 0.5 * (1 - np.cos(np.pi * np.clip((t - onset) / ramp, 0, 1)))
    if offset is None:
        return rise
    fall = 0.5 * (1 + np.cos(np.pi * np.clip((t - (offset - ramp)) / ramp, 0, 1)))
    return np.minimum(rise, fall)


def smile_clip(frame: np.ndarray, points: np.ndarray, seconds: float, onset_s: float,
               offset_s: float | None, seed: int) -> list[np.ndarray]:
    """RGB frames of a ``seconds`` clip smiling from ``onset_s`` (to ``offset_s``, or to the end)."""
    rng = np.random.default_rng(seed)
    n = int(round(seconds * FPS))
    ramp = int(round(RAMP_S * FPS))
    level = smile_level(n, int(round(onset_s * FPS)), None if offset_s is None else int(round(offset_s * FPS)), ramp)
    held = level > 0.999
    level = level * (1 + TREMOR * rng.standard_normal(n) * held)
    left, right = points[48], points[54]
    out = []
    for i in range(n):
        a = AMPLITUDE * level[i]
        face = local_bump(local_bump(frame, left, (-0.6 * a, -a), sigma=9.0), right, (0.6 * a, -a), sigma=9.0)
        sway = cv2.getRotationMatrix2D((280.0, 200.0), 1.5 * math.sin(2 * math.pi * i / (2.5 * FPS)), 1.0)
        sway[:, 2] += (4 * math.sin(2 * math.pi * i / (3.0 * FPS)), 0.0)
        out.append(noisy(cv2.warpAffine(face, sway, (frame.shape[1], frame.shape[0]), flags=cv2.INTER_LINEAR,
                                        borderValue=GREY), rng))
    return out
