"""Facial landmarks with dlib: the HOG face detector and the 68- (or 5-) point shape predictor.

The models are files inside the ``face-recognition-models`` package, found with
``importlib.util.find_spec`` WITHOUT importing the package (its ``__init__`` imports
``pkg_resources``, which current setuptools no longer ships). The 68-point model is trained on
iBUG 300-W, whose terms exclude commercial use; the 5-point model (eye corners and the nose base)
is not restricted, but has no brows, lids, nose sides or lips, so it aligns but places no regions.

Point numbering (68): jaw 0-16, brows 17-21 (image-left) and 22-26, nose bridge 27-30, nose base
31-35, eyes 36-41 (image-left) and 42-47, outer lips 48-59 (corners 48 and 54), inner lips 60-67.
"Left" and "right" are the image's; dlib's 36-41 is the subject's right eye.

dlib returns integer pixel positions. For sub-pixel landmarks, ``fit_aligned`` fits in a levelled
crop of the face at ``FIT_SIDE`` px (a prior shape places it), where a pixel is a fraction of an
input pixel, and maps the points back: this also makes the fit independent of the roll.
"""

from __future__ import annotations

import importlib.util
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np

from .geometry import align_matrix, invert, transform_points, unit_to_pixels
from .transform import FaceError

MODEL_FILES = {
    "68": "shape_predictor_68_face_landmarks.dat",
    "5": "shape_predictor_5_face_landmarks.dat",
    "cnn": "mmod_human_face_detector.dat",
}
FIT_SIDE = 512  # px side of the levelled crop the points are fitted in (IOD = FIT_SIDE / 2.8 = 183 px)
CANONICAL_BOX = (0.5, 0.5, 0.78)  # where dlib's detector puts its box in the unit crop: centre x, y, side
LEFT_EYE_68, RIGHT_EYE_68 = slice(36, 42), slice(42, 48)
STABLE_68 = (27, 28, 29, 30, 36, 39, 42, 45)  # nose bridge and eye corners: move with the skull, not the face


class LandmarkModelError(FaceError):
    """A landmark model file that cannot be found or loaded."""


def landmark_model_path(kind: str = "68") -> Path:
    """Path of a dlib model file shipped in ``face-recognition-models`` ("68", "5" or "cnn")."""
    if kind not in MODEL_FILES:
        raise ValueError(f"landmark model {kind!r}: choose one of {', '.join(MODEL_FILES)}")
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise LandmarkModelError("face-recognition-models is not installed; `pip install face-recognition-models` "
                                 "(it holds dlib's landmark models)")
    for folder in spec.submodule_search_locations:
        path = Path(folder) / "models" / MODEL_FILES[kind]
        if path.is_file():
            return path
    raise LandmarkModelError(f"{MODEL_FILES[kind]}: not found in face-recognition-models "
                             f"({', '.join(spec.submodule_search_locations)})")


@lru_cache(maxsize=None)
def _detector():
    import dlib

    return dlib.get_frontal_face_detector()


@lru_cache(maxsize=None)
def _predictor(kind: str):
    import dlib

    path = landmark_model_path(kind)
    try:
        return dlib.shape_predictor(str(path))
    except RuntimeError as err:
        raise LandmarkModelError(f"{path}: cannot load the landmark model ({err})") from None


def _rect(box):
    import dlib

    x, y, w, h = (float(v) for v in box)
    return dlib.rectangle(round(x), round(y), round(x + w), round(y + h))


# the API


def to_gray(frame: np.ndarray) -> np.ndarray:
    """(H, W) uint8 from an (H, W, 3) RGB or (H, W) grey frame."""
    return frame if frame.ndim == 2 else cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)


def detect_faces(gray: np.ndarray, upsample: int = 0) -> list[tuple[tuple[float, float, float, float], float]]:
    """dlib's HOG frontal detector on an (H, W) uint8 image: [((x, y, w, h), score)], best first.
    ``upsample``: doublings of the image first (each finds faces half as small, at 4x the cost;
    at 0 the smallest face found is about 80 px wide)."""
    rects, scores, _ = _detector().run(np.ascontiguousarray(gray), int(upsample), 0.0)
    found = [((float(r.left()), float(r.top()), float(r.width()), float(r.height())), float(s))
             for r, s in zip(rects, scores)]
    return sorted(found, key=lambda f: -f[1])


def fit_landmarks(gray: np.ndarray, box, kind: str = "68") -> np.ndarray:
    """(68, 2) (or (5, 2)) float64 landmarks in the box (x, y, w, h) of an (H, W) uint8 image,
    in whole pixels (dlib rounds them; ``fit_aligned`` refines to sub-pixel)."""
    shape = _predictor(kind)(np.ascontiguousarray(gray), _rect(box))
    return np.array([(p.x, p.y) for p in shape.parts()], dtype=np.float64)


def eye_centres(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Image-left and image-right eye centres of 68 (mean of each eye's six points) or 5 points
    (mean of each eye's two corners)."""
    points = np.asarray(points, dtype=np.float64)
    if len(points) == 68:
        return points[LEFT_EYE_68].mean(axis=0), points[RIGHT_EYE_68].mean(axis=0)
    if len(points) == 5:
        a, b = points[0:2].mean(axis=0), points[2:4].mean(axis=0)
        return (a, b) if a[0] <= b[0] else (b, a)
    raise ValueError(f"expected 68 or 5 landmarks, got {len(points)}")


def face_matrix(points: np.ndarray) -> np.ndarray:
    """(2, 3) input px -> unit-side canonical crop from the eye centres of the landmarks."""
    left, right = eye_centres(points)
    return align_matrix(left, right)


def fit_aligned(gray: np.ndarray, matrix: np.ndarray, kind: str = "68") -> np.ndarray:
    """Sub-pixel landmarks in input px: the face is warped by ``matrix`` (input px -> unit crop,
    e.g. from a first fit or the previous frame) to a levelled FIT_SIDE crop, fitted there in
    the box the detector would give, and mapped back."""
    m = unit_to_pixels(matrix, FIT_SIDE)
    crop = cv2.warpAffine(gray, m, (FIT_SIDE, FIT_SIDE), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    cx, cy, side = CANONICAL_BOX
    box = ((cx - side / 2) * FIT_SIDE, (cy - side / 2) * FIT_SIDE, side * FIT_SIDE, side * FIT_SIDE)
    return transform_points(invert(m), fit_landmarks(crop, box, kind))


def refine(gray: np.ndarray, points: np.ndarray, kind: str = "68", rounds: int = 2) -> np.ndarray:
    """``fit_aligned`` repeated from a first shape: each round levels the face by the last fit."""
    for _ in range(rounds):
        points = fit_aligned(gray, face_matrix(points), kind)
    return points
