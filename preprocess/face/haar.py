"""Face detection and eye-based alignment with OpenCV's Haar cascades (``--face haar``; the fallback
detector when dlib's HOG detector finds no face).
"""

from __future__ import annotations

import math
from functools import lru_cache

import cv2
import numpy as np

from .geometry import align_matrix as _align_matrix
from .geometry import roll_deg as _roll_deg
from .geometry import transform_points as _transform_points
from .transform import FaceError, FaceTransform
from .transform import as_frames as _as_frames
from .transform import box_eyes as _box_eyes

RETRY_ROTATIONS = (-15.0, 15.0)  # copies tried when no eye pair is found on the upright face
MAX_ROLL_DEG = 25.0
IOD_RANGE = (0.25, 0.7)  # plausible IOD as a fraction of the face box width
EYE_SCALE_FACTOR = 1.1
_NORM_FACE = 140  # the face box is resampled to this width before eye detection


@lru_cache(maxsize=None)
def _cascade(name: str) -> cv2.CascadeClassifier:
    """Each cascade is parsed once per process (tens of ms each)."""
    path = cv2.data.haarcascades + name
    cascade = cv2.CascadeClassifier(path)
    if cascade.empty():
        raise FaceError(f"{path}: cannot load OpenCV's Haar cascade (opencv-python-headless 4.x ships it)")
    return cascade


# helpers


def _eye_candidates(gray: np.ndarray, box, angle: float) -> list[tuple[np.ndarray, float]]:
    """(centre in input pixels, width in the copy's pixels) of each eye found on a copy of the
    face's upper part, scaled to _NORM_FACE wide and rotated by ``angle`` degrees (OpenCV's sign:
    counter-clockwise); the fixed scale keeps small faces detectable and large ones fast."""
    x, y, w, h = box
    s = _NORM_FACE / w
    # ROI: 1.3 face widths wide, from 0.6 w above the face centre to 0.05 w below it
    roi_w, roi_h = int(1.3 * _NORM_FACE), int(0.65 * _NORM_FACE)
    centre = (x + w / 2, y + h / 2)
    m = cv2.getRotationMatrix2D(centre, angle, s)
    m[0, 2] += roi_w / 2 - centre[0]
    m[1, 2] += 0.6 * _NORM_FACE - centre[1]
    roi = cv2.warpAffine(gray, m, (roi_w, roi_h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    largest = (_NORM_FACE // 2, _NORM_FACE // 2)
    found = _cascade("haarcascade_eye.xml").detectMultiScale(
        roi, scaleFactor=EYE_SCALE_FACTOR, minNeighbors=4, minSize=(20, 20), maxSize=largest
    )
    back = cv2.invertAffineTransform(m)
    return [
        (_transform_points(back, [(ex + ew / 2, ey + eh / 2)])[0], float(ew))
        for ex, ey, ew, eh in (found if len(found) else [])
    ]


def _best_pair(candidates, box, angle: float):
    """The most plausible (left, right, score) among candidates from one rotated copy, or None."""
    x, y, w, h = box
    cx = x + w / 2
    best = None
    for i in range(len(candidates)):
        for j in range(i + 1, len(candidates)):
            (p, sp), (q, sq) = sorted([candidates[i], candidates[j]], key=lambda c: c[0][0])
            iod = float(np.hypot(*(q - p)))
            roll = _roll_deg(p, q)
            in_copy = roll + angle  # the pair's tilt in the copy it was detected on
            mid = (p + q) / 2
            if not IOD_RANGE[0] * w <= iod <= IOD_RANGE[1] * w or abs(roll) > MAX_ROLL_DEG:
                continue
            if abs(in_copy) > 20 or max(sp, sq) > 1.6 * min(sp, sq) or iod * _NORM_FACE / w < 0.8 * max(sp, sq):
                continue
            if abs(mid[0] - cx) > 0.2 * w or not y <= mid[1] <= y + 0.6 * h:
                continue
            score = abs(in_copy) / 10 + abs(mid[0] - cx) / (0.1 * w) + abs(math.log(iod / (0.46 * w))) / 0.2
            if best is None or score < best[2]:
                best = (p, q, score)
    return best


def _find_eyes(gray: np.ndarray, box):
    """(left, right) eye centres in input pixels, or None: the most plausible pair on the upright
    face (or, failing that, on copies rotated by RETRY_ROTATIONS), then the same pair found again
    on a copy rotated to make it level, where the cascade is least biased."""
    best = _best_pair(_eye_candidates(gray, box, 0.0), box, 0.0)
    if best is None:  # the eye cascade wants upright eyes: try counter-rotated copies
        pairs = [_best_pair(_eye_candidates(gray, box, a), box, a) for a in RETRY_ROTATIONS]
        pairs = [p for p in pairs if p is not None]
        if not pairs:
            return None
        best = min(pairs, key=lambda p: p[2])
    left, right, _ = best
    level = -_roll_deg(left, right)
    refined = _best_pair(_eye_candidates(gray, box, level), box, level)
    if refined is not None:
        iod = np.hypot(*(right - left))
        # keep the refinement only if it found the same two eyes
        if np.hypot(*(refined[0] - left)) < 0.3 * iod and np.hypot(*(refined[1] - right)) < 0.3 * iod:
            left, right = refined[0], refined[1]
    return left, right


def find_face(frame: np.ndarray, *, where: str = "frame 0") -> FaceTransform:
    """The clip's crop, found on one (H, W, 3) uint8 RGB frame (the onset).

    Several faces: the largest in which both eyes are found (else the largest), with a warning.
    No face: FaceError naming ``where``. Eyes not found or implausible (IOD outside IOD_RANGE of
    the box, roll over MAX_ROLL_DEG): a square around the face box, unrotated, with a warning.
    """
    frame = _as_frames(frame)[0]
    height, width = frame.shape[:2]
    gray = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)  # no equalizeHist: a plain background skews it
    min_side = max(24, min(width, height) // 12)
    faces = _cascade("haarcascade_frontalface_default.xml").detectMultiScale(
        gray, scaleFactor=1.1, minNeighbors=5, minSize=(min_side, min_side)
    )
    if len(faces) == 0:
        raise FaceError(f"{where}: no face found; use --face none for clips that are already cropped")
    # the largest face whose eyes are found: Haar's false positives are often large and eyeless
    boxes = sorted((tuple(int(v) for v in f) for f in faces), key=lambda b: -b[2] * b[3])
    box, eyes = boxes[0], None
    for candidate in boxes:
        eyes = _find_eyes(gray, candidate)
        if eyes is not None:
            box = candidate
            break
    warnings = []
    if len(boxes) > 1:
        which = "the largest" if box == boxes[0] else "the largest with both eyes found"
        warnings.append(f"{where}: {len(boxes)} faces found; using {which} at (x, y, w, h) = {box}")
    if eyes is None:
        warnings.append(f"{where}: eyes not found in the face box {box}; cropping around the box unrotated")
        left, right = _box_eyes(box)
        angle = 0.0
    else:
        left, right = (tuple(round(float(v), 2) for v in p) for p in eyes)
        angle = round(_roll_deg(left, right), 2)
    matrix = _align_matrix(left, right)
    corners = _transform_points(cv2.invertAffineTransform(matrix), [(0, 0), (1, 0), (0, 1), (1, 1)])
    if corners.min() < -0.5 or (corners[:, 0] > width - 0.5).any() or (corners[:, 1] > height - 0.5).any():
        warnings.append(f"{where}: the face crop reaches past the frame edge; edge pixels are repeated there")
    return FaceTransform(
        matrix=tuple(tuple(float(v) for v in row) for row in matrix),
        box=box,
        angle_deg=angle,
        eyes=None if eyes is None else (left, right),
        source_size=(width, height),
        warnings=tuple(warnings),
    )
