"""Where ``mpt describe`` measures motion: 18 facial regions, placed from 68 landmarks (the usual
regions of interest of the MER literature) or, without landmarks, from the two eyes.

From landmarks (dlib's 68-point scheme; "left" and "right" are the image's): each region is a box
centred on a weighted mean of landmarks (``LANDMARK_REGIONS``), of a size in inter-ocular distances
``d``. The image-right member of a pair uses the mirrored points (``mirror_68``).

- brow_inner: points 20-21 (22-23); brow_outer: 17-18 (25-26); glabella: 21 and 22, 0.08 d lower;
- upper_eyelid: 37-38 (43-44); lower_eyelid: 40-41 (46-47), 0.04 d lower;
- cheek: the mean of the lower lid (40-41), the jaw at 2 and the nose wing 31 (46-47, 14, 35);
- nose_side: 60 % of the way from the inner eye corner 39 to the nose wing 31 (42 to 35);
- upper_lip: 50-52 and 61-63; lower_lip: 56-58 and 65-67; lip_corner: 48 (54);
- chin: 45 % the jaw's chin points 6-10, 55 % the lower lip's bottom 57.

From the eyes (``REGIONS``; for dataset crops without landmarks): boxes placed in units of ``d``
from the eye midpoint, across along the eye line and down perpendicular to it, with human
proportions: brows 0.3 d above the eyes, the nose sides 0.45 d below, the mouth corners 1.0 d below
and 0.45 d to the side.

Each region's motion is reported with a direction in words (``words``): up, down, inward (toward
the face's vertical midline), outward, and combinations; regions on the midline say left/right.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .flow import SIZE


class DescribeError(ValueError):
    """Input that cannot be described (wrong shape, eyes outside the frame, bad indices)."""


# name: (across, down, width, height) in inter-ocular distances; across > 0 is away from the
# midline on the region's side (the _right box mirrors the _left one about the eye midpoint).
REGIONS = {
    "brow_inner": (0.22, -0.30, 0.26, 0.22),
    "brow_outer": (0.62, -0.30, 0.30, 0.22),
    "glabella": (0.0, -0.22, 0.16, 0.20),
    "upper_eyelid": (0.5, -0.10, 0.32, 0.10),
    "lower_eyelid": (0.5, 0.12, 0.32, 0.10),
    "cheek": (0.55, 0.40, 0.30, 0.26),
    "nose_side": (0.20, 0.45, 0.20, 0.36),
    "upper_lip": (0.0, 0.88, 0.40, 0.14),
    "lip_corner": (0.45, 0.98, 0.22, 0.22),
    "lower_lip": (0.0, 1.08, 0.40, 0.14),
    "chin": (0.0, 1.30, 0.50, 0.24),
}
# name: ({landmark: weight} of the image-left member or the midline region, (width, height) in d,
# extra shift down in d)
LANDMARK_REGIONS = {
    "brow_inner": ({20: 0.5, 21: 0.5}, (0.26, 0.22), 0.0),
    "brow_outer": ({17: 0.5, 18: 0.5}, (0.30, 0.22), 0.0),
    "glabella": ({21: 0.5, 22: 0.5}, (0.16, 0.20), 0.08),
    "upper_eyelid": ({37: 0.5, 38: 0.5}, (0.32, 0.10), 0.0),
    "lower_eyelid": ({40: 0.5, 41: 0.5}, (0.32, 0.10), 0.04),
    "cheek": ({40: 0.25, 41: 0.25, 2: 0.25, 31: 0.25}, (0.30, 0.26), 0.0),
    "nose_side": ({31: 0.6, 39: 0.4}, (0.20, 0.36), 0.0),
    "upper_lip": ({50: 1 / 6, 51: 1 / 6, 52: 1 / 6, 61: 1 / 6, 62: 1 / 6, 63: 1 / 6}, (0.40, 0.14), 0.0),
    "lip_corner": ({48: 1.0}, (0.22, 0.22), 0.0),
    "lower_lip": ({56: 1 / 6, 57: 1 / 6, 58: 1 / 6, 65: 1 / 6, 66: 1 / 6, 67: 1 / 6}, (0.40, 0.14), 0.0),
    "chin": ({6: 0.09, 7: 0.09, 8: 0.09, 9: 0.09, 10: 0.09, 57: 0.55}, (0.50, 0.24), 0.0),
}
PAIRED = ("brow_inner", "brow_outer", "upper_eyelid", "lower_eyelid", "cheek", "nose_side", "lip_corner")
REGION_ORDER = (
    "brow_inner_left", "brow_inner_right", "brow_outer_left", "brow_outer_right", "glabella",
    "upper_eyelid_left", "upper_eyelid_right", "lower_eyelid_left", "lower_eyelid_right",
    "cheek_left", "cheek_right", "nose_side_left", "nose_side_right", "upper_lip",
    "lip_corner_left", "lip_corner_right", "lower_lip", "chin",
)


@dataclass(frozen=True)
class Region:
    name: str
    dx: float  # mean displacement relative to the head, pixels at 224, image x (right)
    dy: float  # ... image y (down)
    magnitude: float
    direction: str  # "up", "down and inward", ... or "still"


# helpers


def mirror_68(i: int) -> int:
    """The landmark mirrored about the face's midline in dlib's 68-point scheme."""
    for lo, hi in ((0, 16), (17, 26), (31, 35), (48, 54), (60, 64)):
        if lo <= i <= hi:
            return lo + hi - i
    pairs = {36: 45, 37: 44, 38: 43, 39: 42, 40: 47, 41: 46, 55: 59, 56: 58, 65: 67}
    pairs.update({v: k for k, v in pairs.items()})
    return pairs.get(i, i)  # the nose bridge 27-30, 51, 57, 62, 66 lie on the midline


def eye_frame(eyes):
    """Eye midpoint, unit vector along the eye line (left to right), unit 'down', distance."""
    (lx, ly), (rx, ry) = sorted((tuple(map(float, e)) for e in eyes))
    d = math.hypot(rx - lx, ry - ly)
    if not d > 0:
        raise DescribeError(f"eyes {eyes}: both eyes at the same point; pass ((left x, left y), (right x, right y))")
    u = np.array([rx - lx, ry - ly]) / d
    return np.array([(lx + rx) / 2, (ly + ry) / 2]), u, np.array([-u[1], u[0]]), d


def landmark_eyes(landmarks) -> tuple[tuple[float, float], tuple[float, float]]:
    """Image-left and image-right eye centres (means of points 36-41 and 42-47) of 68 landmarks."""
    pts = np.asarray(landmarks, dtype=np.float64)
    (lx, ly), (rx, ry) = pts[36:42].mean(axis=0), pts[42:48].mean(axis=0)
    return (float(lx), float(ly)), (float(rx), float(ry))


def _box(cx, cy, w, h, size, name, where):
    x0, x1 = np.clip(np.rint([cx - w / 2, cx + w / 2]), 0, size).astype(int)
    y0, y1 = np.clip(np.rint([cy - h / 2, cy + h / 2]), 0, size).astype(int)
    if x1 - x0 < 1 or y1 - y0 < 1:
        raise DescribeError(f"{where}: region {name} falls outside the {size} px frame; are the points in this "
                            f"frame's pixels?")
    return int(x0), int(y0), int(x1), int(y1)


def region_boxes(eyes, size: int = SIZE) -> dict[str, tuple[int, int, int, int]]:
    """{region name: (x0, y0, x1, y1)} in pixels of a ``size`` frame (x1, y1 exclusive), placed
    from ``REGIONS`` relative to ``eyes`` = ((x, y), (x, y)) and clipped to the frame."""
    mid, u, v, d = eye_frame(eyes)
    boxes = {}
    for stem, (across, down, w, h) in REGIONS.items():
        for side, suffix in ((-1, "_left"), (1, "_right")) if stem in PAIRED else ((0, ""),):
            cx, cy = mid + (side * across) * d * u + down * d * v
            boxes[stem + suffix] = _box(cx, cy, w * d, h * d, size, stem + suffix, f"eyes {eyes}")
    return {name: boxes[name] for name in REGION_ORDER}


def landmark_boxes(landmarks, size: int = SIZE) -> dict[str, tuple[int, int, int, int]]:
    """{region name: (x0, y0, x1, y1)} in pixels of a ``size`` frame, placed from 68 landmarks in
    that frame's pixels by ``LANDMARK_REGIONS`` (see the module docstring)."""
    pts = np.asarray(landmarks, dtype=np.float64)
    if pts.shape != (68, 2) or not np.isfinite(pts).all():
        raise DescribeError(f"landmarks {pts.shape}: expected 68 finite (x, y) points (dlib's scheme); the 5-point "
                            f"model places no regions")
    _, _, v, d = eye_frame(landmark_eyes(pts))
    boxes = {}
    for stem, (weights, (w, h), down) in LANDMARK_REGIONS.items():
        for suffix, index in (("_left", lambda i: i), ("_right", mirror_68)) if stem in PAIRED else (("", None),):
            if index is None:
                centre = sum(wt * pts[i] for i, wt in weights.items())
            else:
                centre = sum(wt * pts[index(i)] for i, wt in weights.items())
            cx, cy = centre + down * d * v
            boxes[stem + suffix] = _box(cx, cy, w * d, h * d, size, stem + suffix, "landmarks")
    return {name: boxes[name] for name in REGION_ORDER}


def words(across: float, down: float, side: int) -> str:
    """Eight 45-degree sectors: a component counts when it is at least tan(22.5 deg) of the other."""
    k = math.tan(math.radians(22.5))
    vert = ("down" if down > 0 else "up") if abs(down) >= k * abs(across) else ""
    if abs(across) < k * abs(down):
        horiz = ""
    elif side == 0:
        horiz = "right" if across > 0 else "left"
    else:
        horiz = "outward" if across * side > 0 else "inward"
    return " and ".join(w for w in (vert, horiz) if w)
