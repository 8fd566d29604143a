"""One clip's face crop (``FaceTransform``), whichever aligner found it, and the error for no face.

Micro-expressions are motions of a few pixels, so a short clip gets ONE transform, found on its
onset frame and applied to every frame: per-frame alignment would add jitter larger than the
motion (long clips with head motion are tracked instead: ``preprocess.face.track``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from .geometry import transform_points, unit_to_pixels

BOX_EYES = ((0.27, 0.37), (0.73, 0.37))  # where a Haar face box usually has the eyes (fallback)
ALIGNERS = ("haar", "landmarks68", "landmarks5")  # what found the eyes of a FaceTransform


class FaceError(ValueError):
    """No usable face: the message names the frame and what to do."""


def box_eyes(box):
    """Where the eyes usually are in a Haar face box: the fallback when none are detected."""
    x, y, w, h = box
    return tuple((x + fx * w, y + fy * h) for fx, fy in BOX_EYES)


def as_frames(frames) -> np.ndarray:
    frames = np.asarray(frames)
    if frames.ndim == 3:
        frames = frames[None]
    if frames.ndim != 4 or frames.shape[3] != 3 or frames.dtype != np.uint8:
        raise ValueError(f"expected (N, H, W, 3) or (H, W, 3) uint8 RGB frames, got {frames.shape} {frames.dtype}")
    return frames


def warp_face(frame: np.ndarray, matrix: np.ndarray, size: int) -> np.ndarray:
    """(size, size, C) crop of one frame through a unit-crop face ``matrix``.

    Shrinking warps at the face's native scale and then uses INTER_AREA (METHOD.md 1.1), so a large
    face is averaged, not aliased; growing warps straight to ``size`` (INTER_LINEAR). A framing that
    is not square (a corpus's crops: ``mpt_core.framing``) has its own native width and height, and
    is squeezed to ``size`` x ``size`` as the cache squeezed the corpus's crops.
    """
    matrix = np.asarray(matrix, dtype=np.float64)
    native_w = round(1.0 / math.hypot(matrix[0, 0], matrix[0, 1]))  # crop width in input px
    native_h = round(1.0 / math.hypot(matrix[1, 0], matrix[1, 1]))
    warp_w, warp_h = max(native_w, size), max(native_h, size)
    if warp_w == warp_h:  # square (every canonical crop): one side, as before framings existed
        pixels = unit_to_pixels(matrix, warp_w)
    else:
        pixels = matrix * np.array([[warp_w], [warp_h]])
        pixels[:, 2] -= 0.5
    crop = cv2.warpAffine(frame, pixels, (warp_w, warp_h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return crop if (warp_w, warp_h) == (size, size) else cv2.resize(crop, (size, size), interpolation=cv2.INTER_AREA)


@dataclass(frozen=True)
class FaceTransform:
    """One clip's face crop: where the face was, and the affine that levels and crops it."""

    matrix: tuple[tuple[float, float, float], tuple[float, float, float]]  # input px -> unit-side crop
    box: tuple[int, int, int, int]  # detected face (x, y, w, h), input pixels
    angle_deg: float  # roll in the input; positive when the image-right eye is higher
    eyes: tuple[tuple[float, float], tuple[float, float]] | None  # image-left, image-right; None: box fallback
    source_size: tuple[int, int]  # (w, h) of the frame it was found on
    warnings: tuple[str, ...] = ()
    aligner: str = "haar"  # one of ALIGNERS
    landmarks: tuple[tuple[float, float], ...] | None = None  # 68 or 5 points, input px (landmark aligners)

    def crop_matrix(self, size: int) -> np.ndarray:
        """(2, 3) float64: input pixels -> pixels of a (size, size) crop (centres at integers)."""
        return unit_to_pixels(self.matrix, size)

    def eyes_in_crop(self, size: int) -> tuple[tuple[float, float], tuple[float, float]]:
        """Crop pixels of the detected eyes (of the box's usual eye places when none were found)."""
        points = self.eyes if self.eyes is not None else box_eyes(self.box)
        (lx, ly), (rx, ry) = transform_points(self.crop_matrix(size), points).tolist()
        return (lx, ly), (rx, ry)

    def landmarks_in_crop(self, size: int) -> np.ndarray | None:
        """(K, 2) crop pixels of the landmarks, or None (Haar found no landmarks)."""
        return None if self.landmarks is None else transform_points(self.crop_matrix(size), self.landmarks)

    def apply(self, frames, size: int) -> np.ndarray:
        """(N, size, size, 3) uint8 crops of (N, H, W, 3) or (H, W, 3) uint8 RGB frames (see ``warp_face``)."""
        frames = as_frames(frames)
        if (frames.shape[2], frames.shape[1]) != self.source_size:
            raise ValueError(f"frames are {frames.shape[2]}x{frames.shape[1]}, the face was found on "
                             f"{self.source_size[0]}x{self.source_size[1]}")
        out = np.empty((len(frames), size, size, 3), dtype=np.uint8)
        for i, frame in enumerate(frames):
            out[i] = warp_face(frame, np.asarray(self.matrix), size)
        return out

    def to_dict(self) -> dict:
        """JSON-able; part of a cache's identity, so floats are kept exactly (JSON round-trips them).
        A Haar transform writes exactly the keys it always has (caches made before landmarks match)."""
        out = {
            "matrix": [list(row) for row in self.matrix],
            "box": list(self.box),
            "angle_deg": self.angle_deg,
            "eyes": None if self.eyes is None else [list(p) for p in self.eyes],
            "source_size": list(self.source_size),
            "warnings": list(self.warnings),
        }
        if self.aligner != "haar":
            out["aligner"] = self.aligner
            out["landmarks"] = None if self.landmarks is None else [list(p) for p in self.landmarks]
        return out

    @classmethod
    def from_dict(cls, data: dict) -> FaceTransform:
        base = {"matrix", "box", "angle_deg", "eyes", "source_size", "warnings"}
        if not isinstance(data, dict) or set(data) not in (base, base | {"aligner", "landmarks"}):
            got = sorted(data) if isinstance(data, dict) else type(data).__name__
            raise FaceError(f"face transform: expected keys {sorted(base)} (+ aligner, landmarks), got {got}")
        try:
            matrix = tuple(tuple(float(v) for v in row) for row in data["matrix"])
            eyes = None if data["eyes"] is None else tuple(tuple(float(v) for v in p) for p in data["eyes"])
            landmarks = data.get("landmarks")
            out = cls(
                matrix=matrix,
                box=tuple(int(v) for v in data["box"]),
                angle_deg=float(data["angle_deg"]),
                eyes=eyes,
                source_size=tuple(int(v) for v in data["source_size"]),
                warnings=tuple(str(v) for v in data["warnings"]),
                aligner=str(data.get("aligner", "haar")),
                landmarks=None if landmarks is None else tuple(tuple(float(v) for v in p) for p in landmarks),
            )
        except (TypeError, ValueError) as err:
            raise FaceError(f"face transform: malformed value ({err})") from None
        shapes = [len(r) for r in out.matrix], len(out.box), len(out.source_size)
        if shapes != ([3, 3], 4, 2) or (eyes is not None and [len(p) for p in eyes] != [2, 2]):
            raise FaceError("face transform: matrix must be 2x3, box 4 ints, source_size 2 ints, eyes 2 points")
        if out.aligner not in ALIGNERS:
            raise FaceError(f"face transform: aligner {out.aligner!r}: expected one of {', '.join(ALIGNERS)}")
        return out
