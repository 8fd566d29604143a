"""What the commands that read a user's raw clip share (predict, describe, magnify): one face
alignment per clip, and the seconds per stage they report."""

from __future__ import annotations

import sys
import time

import numpy as np


def add_time(timings: dict | None, stage: str, t0: float) -> float:
    """Add the seconds since ``t0`` to ``timings[stage]`` (if timings are kept); returns now."""
    now = time.perf_counter()
    if timings is not None:
        timings[stage] = timings.get(stage, 0.0) + now - t0
    return now


def align_face(frames: np.ndarray, *, size: int, where: str):
    """Find the face on the first (onset) frame and apply that one transform to every frame (the MER
    convention: the crop does not jitter). Warnings go to stderr. Returns the (N, size, size, 3) crops,
    the ``FaceTransform`` and the JSON face entry ``{"box": [x, y, w, h], "angle_deg": a}``."""
    from preprocess.face import find_face

    transform = find_face(frames[0], where=where)
    for warning in transform.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    box = {"box": [int(v) for v in transform.box], "angle_deg": float(transform.angle_deg)}
    return transform.apply(frames, size), transform, box
