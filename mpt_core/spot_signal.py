"""The spotting signal: where each facial region is, frame by frame, relative to the stabilised head.

Input: grey crops of the stabilised face (every frame warped to the same canonical crop, eyes at
``CANONICAL_EYES``; a frame whose face is lost is None). For each crop, dense optical flow from a
reference crop (OpenCV's DIS at the MEDIUM preset, finest scale 0, as in ``describe``) minus the
similarity transform fitted robustly to the whole face (``fit_similarity``, as ``describe.remove_head_motion``: what
the stabilisation left of the head's motion), averaged in each of ``describe.REGIONS``' 18 boxes, is
that region's position (x, y) in crop pixels. Measuring every frame against one reference, not
against its neighbour, keeps positions free of the drift that summing small flows accumulates and
shows a held expression as held. The reference is renewed every ``refresh`` frames (the new
reference's position carried over, so positions stay continuous) and after a lost stretch.

Landmark displacements are the alternative (the tracker gives 68 points): at the 0.5-1 px of a
micro-expression at this scale they move less than their own frame-to-frame jitter, whereas the
region means of the flow average hundreds of pixels (``bench/spot_signal.py``: a micro-expression's
peak over the quiet 95th percentile, median 4.1 with the flow, 1.1 with the landmarks).
"""

from __future__ import annotations

import cv2
import numpy as np

from .describe import REGION_ORDER, dis_flow, region_boxes

EYE_REGIONS = tuple(i for i, name in enumerate(REGION_ORDER) if "eyelid" in name)  # blinks move these
FACE_REGIONS = tuple(i for i in range(len(REGION_ORDER)) if i not in EYE_REGIONS)
BROW_REGIONS = tuple(i for i, name in enumerate(REGION_ORDER) if "brow" in name or name == "glabella")  # lids drag them
LOWER_REGIONS = tuple(i for i in FACE_REGIONS if i not in BROW_REGIONS)


def face_box(eyes, size: int) -> tuple[slice, slice]:
    """Rows and columns of the face area the residual head motion is fitted on."""
    (lx, ly), (rx, ry) = eyes
    d = float(np.hypot(rx - lx, ry - ly))
    mx, my = (lx + rx) / 2, (ly + ry) / 2
    x0, x1 = (int(np.clip(round(v), 0, size)) for v in (mx - 1.1 * d, mx + 1.1 * d))
    y0, y1 = (int(np.clip(round(v), 0, size)) for v in (my - 0.6 * d, my + 1.5 * d))
    return slice(y0, y1), slice(x0, x1)


def fit_similarity(flow: np.ndarray, box: tuple[slice, slice], step: int = 4, iterations: int = 4) -> np.ndarray:
    """(a, b, tx, ty) of the similarity field ``d_x = a x - b y + tx``, ``d_y = b x + a y + ty`` (x, y
    in pixels) fitted to ``flow`` inside ``box`` by Tukey-weighted least squares, as
    ``describe.remove_head_motion`` does; sampled every ``step`` pixels (the fit has 4 unknowns)."""
    ys, xs = np.mgrid[box[0].start : box[0].stop : step, box[1].start : box[1].stop : step]
    x, y = xs.ravel().astype(np.float64), ys.ravel().astype(np.float64)
    cx, cy = x.mean(), y.mean()
    x, y = x - cx, y - cy  # centred for conditioning
    f = flow[box[0].start : box[0].stop : step, box[1].start : box[1].stop : step].reshape(-1, 2).astype(np.float64)
    one, zero = np.ones_like(x), np.zeros_like(x)
    a = np.concatenate([np.stack([x, -y, one, zero], 1), np.stack([y, x, zero, one], 1)])  # (2P, 4)
    target = np.concatenate([f[:, 0], f[:, 1]])
    weight = np.ones(len(x))
    for _ in range(iterations):
        w2 = np.concatenate([weight, weight])
        p = np.linalg.solve((a * w2[:, None]).T @ a + 1e-9 * np.eye(4), (a * w2[:, None]).T @ target)
        r = np.hypot(*(target - a @ p).reshape(2, -1))
        scale = max(1.4826 * float(np.median(r)), 0.01)
        weight = np.clip(1 - (r / (4.685 * scale)) ** 2, 0, None) ** 2
    a_, b_, tx, ty = p
    return np.array([a_, b_, tx - a_ * cx + b_ * cy, ty - b_ * cx - a_ * cy])  # back to pixel coordinates


def region_means(flow: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """(R, 2) mean flow in each box (R, 4) of x0, y0, x1, y1 (exclusive), via summed-area tables."""
    sums = cv2.integral(np.ascontiguousarray(flow, np.float32), sdepth=cv2.CV_64F)  # (H + 1, W + 1, 2)
    x0, y0, x1, y1 = boxes.T
    total = sums[y1, x1] - sums[y0, x1] - sums[y1, x0] + sums[y0, x0]  # (R, 2)
    return total / ((x1 - x0) * (y1 - y0))[:, None]


class RegionPositions:
    """Feed stabilised grey crops one by one (``push``); each gives the (R, 2) region positions.

    ``eyes``: the canonical eye points in crop pixels; ``refresh``: frames between references.
    """

    def __init__(self, size: int, eyes, refresh: int = 60):
        self.size, self.refresh = int(size), max(1, int(refresh))
        boxes = region_boxes(eyes, self.size)
        self.boxes = np.array([boxes[name] for name in REGION_ORDER], np.int64)
        self.face = face_box(eyes, self.size)
        self.dis = dis_flow(full_resolution=True)
        self.reference: np.ndarray | None = None
        self.offset = np.zeros((len(REGION_ORDER), 2))
        self.age = 0

    def _measure(self, crop: np.ndarray) -> np.ndarray:
        flow = self.dis.calc(self.reference, crop, None)  # (S, S, 2): content motion, reference -> crop
        a, b, tx, ty = fit_similarity(flow, self.face)
        # the similarity field is affine, so its mean over a box is its value at the box's centre
        cx, cy = (self.boxes[:, 0] + self.boxes[:, 2] - 1) / 2, (self.boxes[:, 1] + self.boxes[:, 3] - 1) / 2
        head = np.stack([a * cx - b * cy + tx, b * cx + a * cy + ty], 1)  # (R, 2)
        return region_means(flow, self.boxes) - head

    def rebase(self, crop: np.ndarray, position: np.ndarray) -> None:
        """Make ``crop`` (the same frame as the last pushed one, warped by a new face transform) the
        reference, with the position that frame was measured at: positions stay continuous."""
        self.reference, self.offset, self.age = crop, np.asarray(position, np.float64).copy(), 0

    def push(self, crop: np.ndarray | None) -> np.ndarray:
        """(R, 2) positions in crop pixels (NaN for a lost frame)."""
        if crop is None:
            self.reference = None  # after a lost stretch the face may have changed: start again
            return np.full((len(REGION_ORDER), 2), np.nan)
        if crop.shape != (self.size, self.size) or crop.dtype != np.uint8:
            raise ValueError(f"crop {crop.shape} {crop.dtype}: expected ({self.size}, {self.size}) uint8 grey")
        if self.reference is None:
            self.reference, self.age = crop, 0
            return self.offset.copy()
        pos = self.offset + self._measure(crop)
        self.age += 1
        if self.age >= self.refresh:
            self.reference, self.offset, self.age = crop, pos, 0
        return pos


def region_positions(crops, eyes, size: int, refresh: int = 60) -> np.ndarray:
    """(N, R, 2) positions of a sequence of crops (None for lost frames); see ``RegionPositions``."""
    tracker = RegionPositions(size, eyes, refresh)
    return np.stack([tracker.push(c) for c in crops]) if len(crops) else np.zeros((0, len(REGION_ORDER), 2))
