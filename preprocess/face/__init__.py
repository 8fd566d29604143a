"""Faces in raw frames: detection, landmarks, alignment to the canonical crop, and tracking.

- ``geometry``: the canonical crop (``CANONICAL_EYES``, ``SIDE_PER_IOD``, ``EYE_HEIGHT``) and similarity maths.
- ``transform``: ``FaceTransform`` (one clip's crop) and ``FaceError``.
- ``haar``: OpenCV's Haar cascades (``--face haar``), ``find_face``.
- ``landmarks``: dlib's HOG detector and 68/5-point shape predictors; ``detect``: one frame's face.
- ``align``: ``locate_face`` (a clip's one transform, by aligner, in a framing) and the aligner names.
- ``framing``: landmarks on tight face crops (``fit_crop``), a crop corpus's framing measured, the border check.
- ``one_euro``, ``track``: per-frame landmarks, filtered, and stabilising transforms for long clips.

dlib is imported only when a landmark aligner runs.
"""

from .geometry import CANONICAL_EYES, EYE_HEIGHT, SIDE_PER_IOD
from .haar import IOD_RANGE, MAX_ROLL_DEG, RETRY_ROTATIONS, find_face
from .transform import BOX_EYES, FaceError, FaceTransform

__all__ = [
    "BOX_EYES", "CANONICAL_EYES", "EYE_HEIGHT", "IOD_RANGE", "MAX_ROLL_DEG", "RETRY_ROTATIONS", "SIDE_PER_IOD",
    "FaceError", "FaceTransform", "find_face",
]
