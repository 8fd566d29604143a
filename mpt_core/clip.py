"""One clip, in memory, to the arrays MPT reads (METHOD.md section 1): ``clip_arrays``.

``clip_arrays(frames, fps, settings)`` takes the clip's frames already in memory (uint8 RGB, any
size) and returns the rank image and the motion frames: resize to ``settings.size``, magnify at the
native rate (1.2), normalise to T frames (1.3), rank-pool the normalised originals (1.4). It touches
no disk, so the dataset pipeline (frames from an annotated dataset) and ``mpt predict`` (frames from
a user's video, face-aligned) compute identical arrays for identical frames.

``PreprocessSettings`` is the frozen dataclass of every preprocessing setting, serialised into
every cache and run.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import cv2
import numpy as np

from mpt_core.magnify import magnify
from mpt_core.names import MOTION_OUTPUTS
from mpt_core.rank_pool import dynamic_image
from mpt_core.settings import SettingsMixin
from mpt_core.temporal import needed_frames, normalise_length



@dataclass(frozen=True)
class PreprocessSettings(SettingsMixin):
    _kind = "preprocessing setting"

    alpha: float = 20.0  # magnification factor on every band level
    levels: int = 4  # Laplacian band levels (plus a low-pass residual)
    f_lo: float = 0.4  # band-pass cut-offs in Hz, at the clip's native rate
    f_hi: float = 4.0
    order: int = 1  # Butterworth order
    frames: int = 16  # T, frames after temporal normalisation
    motion_output: str = "magnified"  # "magnified" (uint8 M_t) or "band" (float16 collapse(alpha * B))
    size: int = 224  # frames are resized to size x size

    def __post_init__(self):
        self.check_types()
        if self.motion_output not in MOTION_OUTPUTS:
            raise ValueError(f"motion_output must be one of {MOTION_OUTPUTS}, got {self.motion_output!r}")
        if not 0 < self.f_lo < self.f_hi:
            raise ValueError(f"need 0 < f_lo < f_hi, got f_lo={self.f_lo}, f_hi={self.f_hi}")
        if self.alpha < 0:
            raise ValueError(f"alpha must be >= 0, got {self.alpha}")
        for name, low in (("levels", 1), ("order", 1), ("frames", 2)):
            if getattr(self, name) < low:
                raise ValueError(f"{name} must be >= {low}, got {getattr(self, name)}")
        if self.size < 2**self.levels:
            raise ValueError(f"size {self.size} is too small for {self.levels} pyramid levels")


def resize_frames(frames: np.ndarray, size: int) -> np.ndarray:
    """(N, size, size, 3) uint8: INTER_AREA when no side grows, INTER_LINEAR otherwise (METHOD 1.1).
    Frames already at ``size`` are returned as they are."""
    if frames.shape[1:3] == (size, size):
        return frames
    h, w = frames.shape[1:3]
    interpolation = cv2.INTER_AREA if h >= size and w >= size else cv2.INTER_LINEAR
    return np.stack([cv2.resize(f, (size, size), interpolation=interpolation) for f in frames])


def clip_arrays(frames: np.ndarray, fps: float, settings: PreprocessSettings,
                timings: dict | None = None) -> dict:
    """frames (N, H, W, 3) uint8 RGB, onset..offset -> ``rank`` (S, S, 3) uint8 and ``motion``
    (T, S, S, 3) uint8 (float16 for ``motion_output="band"``), plus ``n_frames``.

    ``timings`` (if given) accumulates seconds per stage. Raises ValueError for fewer than 2 frames.
    """
    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
        raise ValueError(f"frames must be (N, H, W, 3) uint8 RGB, got {frames.shape} {frames.dtype}")
    if len(frames) < 2:
        raise ValueError(f"{len(frames)} frame(s); at least 2 are needed (METHOD 1.3)")
    t = {} if timings is None else timings
    t0 = time.perf_counter()
    frames = resize_frames(frames, settings.size)  # (N, S, S, 3) uint8
    n, T = len(frames), settings.frames
    t1 = time.perf_counter()
    at = needed_frames(n, T)
    magnified = magnify(
        frames,  # uint8: read as RGB in [0, 1]
        fps,
        alpha=settings.alpha,
        levels=settings.levels,
        f_lo=settings.f_lo,
        f_hi=settings.f_hi,
        order=settings.order,
        output=settings.motion_output,
        at=at,
    )  # (len(at), S, S, 3) float32
    t2 = time.perf_counter()
    motion = normalise_length(magnified, T, n=n, at=at)  # (T, S, S, 3)
    originals = normalise_length(frames, T)  # same positions, for rank pooling
    if settings.motion_output == "magnified":  # round(255 * M), half up, in place on the fresh copy
        motion *= 255.0
        motion += 0.5
        motion = np.floor(motion, out=motion).astype(np.uint8)
    else:
        motion = motion.astype(np.float16)
    t3 = time.perf_counter()
    rank = dynamic_image(originals)
    t4 = time.perf_counter()
    for stage, dt in (("resize", t1 - t0), ("pyramid+filter", t2 - t1), ("normalise", t3 - t2), ("rank pool", t4 - t3)):
        t[stage] = t.get(stage, 0.0) + dt
    return {"rank": rank, "motion": motion, "n_frames": n}
