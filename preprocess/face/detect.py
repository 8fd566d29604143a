"""Find a face and its landmarks on one frame: dlib's HOG detector (upsampled for small faces, on
rotated copies for strong roll), Haar's face cascade as the fallback, then the landmarks fitted
and refined in a levelled crop. Used for a clip's onset frame and for (re-)detection in tracking."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from .geometry import transform_points
from .landmarks import detect_faces, fit_landmarks, refine

RETRY_ROTATIONS = (-22.0, 22.0)  # copies tried when HOG finds nothing upright (it covers about +-15 deg)
MAX_UPSAMPLED_SIDE = 1400  # beyond this a frame is not upsampled (the 4x cost buys faces < 80 px)
HAAR_TO_HOG = 0.85  # a Haar face box is wider than dlib's for the same face: shrink about the centre


@dataclass(frozen=True)
class Detection:
    box: tuple[float, float, float, float]  # x, y, w, h input px (the detector's box)
    score: float  # HOG score (NaN from the Haar fallback)
    points: np.ndarray  # (K, 2) refined landmarks, input px
    faces: int  # how many faces the detector saw
    detector: str  # "hog", "hog-rotated" or "haar"


def _rotated_hog(gray: np.ndarray, upsample: int):
    """HOG on copies rotated by RETRY_ROTATIONS: [(box in input px, score)], boxes axis-aligned
    around the rotated-back box corners."""
    h, w = gray.shape
    found = []
    for angle in RETRY_ROTATIONS:
        m = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
        rotated = cv2.warpAffine(gray, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        back = cv2.invertAffineTransform(m)
        for (x, y, bw, bh), score in detect_faces(rotated, upsample):
            centre = transform_points(back, [(x + bw / 2, y + bh / 2)])[0]
            found.append(((centre[0] - bw / 2, centre[1] - bh / 2, bw, bh), score))
    return sorted(found, key=lambda f: -f[1])


def _haar_boxes(gray: np.ndarray):
    from .haar import _cascade

    height, width = gray.shape
    min_side = max(24, min(width, height) // 12)
    faces = _cascade("haarcascade_frontalface_default.xml").detectMultiScale(
        gray, scaleFactor=1.1, minNeighbors=5, minSize=(min_side, min_side))
    boxes = sorted((tuple(float(v) for v in f) for f in faces), key=lambda b: -b[2] * b[3])
    out = []
    for x, y, w, h in boxes:
        s = HAAR_TO_HOG * w
        out.append(((x + (w - s) / 2, y + (h - s) / 2 + 0.05 * h, s, s), float("nan")))
    return out


def detect(gray: np.ndarray, *, kind: str = "68", near=None, thorough: bool = True) -> Detection | None:
    """The best face on an (H, W) uint8 frame and its landmarks, or None.

    ``near``: (x, y) input px; when given, the face whose box centre is closest to it is taken
    (re-detection in a track must not jump to another face), else the highest-scoring one.
    ``thorough``: when HOG finds nothing upright, try rotated copies and Haar's cascade (about 4x the
    time of the upright search; a tracker searching frame after frame does it only now and then).
    """
    found, detector = detect_faces(gray, 0), "hog"
    if not found and max(gray.shape) <= MAX_UPSAMPLED_SIDE:
        found = detect_faces(gray, 1)
    if not found and thorough:
        found, detector = _rotated_hog(gray, 0 if max(gray.shape) > MAX_UPSAMPLED_SIDE else 1), "hog-rotated"
    if not found and thorough:
        found, detector = _haar_boxes(gray), "haar"
    if not found:
        return None
    if near is not None:
        box, score = min(found, key=lambda f: np.hypot(f[0][0] + f[0][2] / 2 - near[0], f[0][1] + f[0][3] / 2 - near[1]))
    else:
        box, score = found[0]
    points = refine(gray, fit_landmarks(gray, box, kind), kind)
    return Detection(box=tuple(float(v) for v in box), score=score, points=points, faces=len(found), detector=detector)
