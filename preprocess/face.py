"""Face detection and eye-based alignment for raw (uncropped) clips, with OpenCV's Haar cascades.

Micro-expressions are motions of a few pixels, so a clip gets ONE transform, found on its onset
frame and applied to every frame: per-frame detection would add jitter larger than the motion.
The crop is a square whose side and eye height are fixed multiples of the inter-ocular distance
(IOD), with the eye line levelled, so every face lands with its eyes at ``CANONICAL_EYES``;
region-motion descriptions place facial regions relative to those points.

Coordinates: input pixels follow OpenCV (pixel centres at integers). ``FaceTransform.matrix``
maps them to crop coordinates in units of the crop side (0 .. 1 across the crop), so one
transform serves every output size; ``crop_matrix(size)`` gives the pixel matrix for a size.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np

SIDE_PER_IOD = 2.8  # crop side / inter-ocular distance: brows to chin, cheek to cheek
EYE_HEIGHT = 0.36  # eye line, as a fraction of the side from the top
CANONICAL_EYES = (
    (0.5 - 0.5 / SIDE_PER_IOD, EYE_HEIGHT),
    (0.5 + 0.5 / SIDE_PER_IOD, EYE_HEIGHT),
)  # (x, y) of the image-left and image-right eye, as fractions of the crop side
BOX_EYES = ((0.27, 0.37), (0.73, 0.37))  # where Haar's face box usually has the eyes (fallback)

RETRY_ROTATIONS = (-15.0, 15.0)  # copies tried when no eye pair is found on the upright face
MAX_ROLL_DEG = 25.0
IOD_RANGE = (0.25, 0.7)  # plausible IOD as a fraction of the face box width
EYE_SCALE_FACTOR = 1.1
_NORM_FACE = 140  # the face box is resampled to this width before eye detection


class FaceError(ValueError):
    """No usable face: the message names the frame and what to do."""


@lru_cache(maxsize=None)
def _cascade(name: str) -> cv2.CascadeClassifier:
    """Each cascade is parsed once per process (tens of ms each)."""
    path = cv2.data.haarcascades + name
    cascade = cv2.CascadeClassifier(path)
    if cascade.empty():
        raise FaceError(f"{path}: cannot load OpenCV's Haar cascade (opencv-python-headless 4.x ships it)")
    return cascade


# helpers


def _roll_deg(left, right) -> float:
    """Roll of the eye line; positive when the image-right eye is higher (smaller y)."""
    return math.degrees(math.atan2(left[1] - right[1], right[0] - left[0]))


def _align_matrix(left, right) -> np.ndarray:
    """(2, 3) input pixels -> unit-side crop with the eyes at CANONICAL_EYES."""
    (lx, ly), (rx, ry) = left, right
    dx, dy = rx - lx, ry - ly
    iod = math.hypot(dx, dy)
    k = 1.0 / (SIDE_PER_IOD * iod)
    a, b = k * dx / iod, k * dy / iod  # scaled rotation taking the eye line to +x
    linear = np.array([[a, b], [-b, a]])
    mid = np.array([(lx + rx) / 2, (ly + ry) / 2])
    shift = np.array([0.5, EYE_HEIGHT]) - linear @ mid
    return np.hstack([linear, shift[:, None]])


def _box_eyes(box):
    """Where the eyes usually are in a Haar face box: the fallback when none are detected."""
    x, y, w, h = box
    return tuple((x + fx * w, y + fy * h) for fx, fy in BOX_EYES)


def _transform_points(matrix: np.ndarray, points) -> np.ndarray:
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    return pts @ matrix[:, :2].T + matrix[:, 2]


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


def _as_frames(frames) -> np.ndarray:
    frames = np.asarray(frames)
    if frames.ndim == 3:
        frames = frames[None]
    if frames.ndim != 4 or frames.shape[3] != 3 or frames.dtype != np.uint8:
        raise ValueError(f"expected (N, H, W, 3) or (H, W, 3) uint8 RGB frames, got {frames.shape} {frames.dtype}")
    return frames


# classes


@dataclass(frozen=True)
class FaceTransform:
    """One clip's face crop: where the face was, and the affine that levels and crops it."""

    matrix: tuple[tuple[float, float, float], tuple[float, float, float]]  # input px -> unit-side crop
    box: tuple[int, int, int, int]  # detected face (x, y, w, h), input pixels
    angle_deg: float  # roll in the input; positive when the image-right eye is higher
    eyes: tuple[tuple[float, float], tuple[float, float]] | None  # image-left, image-right; None: box fallback
    source_size: tuple[int, int]  # (w, h) of the frame it was found on
    warnings: tuple[str, ...] = ()

    def crop_matrix(self, size: int) -> np.ndarray:
        """(2, 3) float64: input pixels -> pixels of a (size, size) crop (centres at integers)."""
        m = np.asarray(self.matrix, dtype=np.float64) * size
        m[:, 2] -= 0.5  # unit coordinate 0 is the crop's left edge, pixel 0's centre is half a pixel in
        return m

    def eyes_in_crop(self, size: int) -> tuple[tuple[float, float], tuple[float, float]]:
        """Crop pixels of the detected eyes (of the box's usual eye places when none were found)."""
        points = self.eyes if self.eyes is not None else _box_eyes(self.box)
        (lx, ly), (rx, ry) = _transform_points(self.crop_matrix(size), points).tolist()
        return (lx, ly), (rx, ry)

    def apply(self, frames, size: int) -> np.ndarray:
        """(N, size, size, 3) uint8 crops of (N, H, W, 3) or (H, W, 3) uint8 RGB frames.

        Shrinking warps at the face's native scale and then uses INTER_AREA (METHOD.md 1.1), so
        a large face is averaged, not aliased; growing warps straight to ``size`` (INTER_LINEAR).
        """
        frames = _as_frames(frames)
        if (frames.shape[2], frames.shape[1]) != self.source_size:
            raise ValueError(f"frames are {frames.shape[2]}x{frames.shape[1]}, the face was found on "
                             f"{self.source_size[0]}x{self.source_size[1]}")
        native = round(1.0 / math.hypot(self.matrix[0][0], self.matrix[0][1]))  # crop side in input px
        warp_size = native if native > size else size
        m = self.crop_matrix(warp_size)
        out = np.empty((len(frames), size, size, 3), dtype=np.uint8)
        for i, frame in enumerate(frames):
            crop = cv2.warpAffine(frame, m, (warp_size, warp_size), flags=cv2.INTER_LINEAR,
                                  borderMode=cv2.BORDER_REPLICATE)
            out[i] = crop if warp_size == size else cv2.resize(crop, (size, size), interpolation=cv2.INTER_AREA)
        return out

    def to_dict(self) -> dict:
        """JSON-able; part of a cache's identity, so floats are kept exactly (JSON round-trips them)."""
        return {
            "matrix": [list(row) for row in self.matrix],
            "box": list(self.box),
            "angle_deg": self.angle_deg,
            "eyes": None if self.eyes is None else [list(p) for p in self.eyes],
            "source_size": list(self.source_size),
            "warnings": list(self.warnings),
        }

    @classmethod
    def from_dict(cls, data: dict) -> FaceTransform:
        expected = {"matrix", "box", "angle_deg", "eyes", "source_size", "warnings"}
        if not isinstance(data, dict) or set(data) != expected:
            got = sorted(data) if isinstance(data, dict) else type(data).__name__
            raise FaceError(f"face transform: expected keys {sorted(expected)}, got {got}")
        try:
            matrix = tuple(tuple(float(v) for v in row) for row in data["matrix"])
            eyes = None if data["eyes"] is None else tuple(tuple(float(v) for v in p) for p in data["eyes"])
            out = cls(
                matrix=matrix,
                box=tuple(int(v) for v in data["box"]),
                angle_deg=float(data["angle_deg"]),
                eyes=eyes,
                source_size=tuple(int(v) for v in data["source_size"]),
                warnings=tuple(str(v) for v in data["warnings"]),
            )
        except (TypeError, ValueError) as err:
            raise FaceError(f"face transform: malformed value ({err})") from None
        shapes = [len(r) for r in out.matrix], len(out.box), len(out.source_size)
        if shapes != ([3, 3], 4, 2) or (eyes is not None and [len(p) for p in eyes] != [2, 2]):
            raise FaceError("face transform: matrix must be 2x3, box 4 ints, source_size 2 ints, eyes 2 points")
        return out


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
