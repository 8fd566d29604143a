"""Per-frame face tracking and stabilisation for long clips and whole videos.

Detect on the first frame with a face (``detect.detect``); then fit each next frame's landmarks in
a levelled crop placed by the previous frame's points (``landmarks.fit_aligned``); re-detect every
``redetect_every`` frames inside that crop (the detector must still see a face where the track is)
and, after a loss, in the whole frame near where the face was. A one-euro filter on the points
removes jitter without lagging real motion. Each frame's STABILISED transform is the similarity
that takes its filtered stable points (eye corners 36, 39, 42, 45 and the nose bridge 27-30: they
move with the skull, not with the expression) onto where they were on the reference frame (the
first detection), levelled to the canonical crop: the head's rigid motion is removed, the
expression's motion remains.

A frame is ``lost`` when no face is found, when the detector no longer sees one where the track is,
or when the face's appearance changed abruptly (an occluder, a turn away): the stabilised face is
compared (normalised cross-correlation, eye band and mouth window separately) with the last good frame
and with the last detection. An abrupt change from the last good frame is a loss. A slow drift away
from the last detection (a head rolling or bowing: on a real bowed laugh the mouth window's NCC with
the detection fell from 0.9 to 0.3 in 15 frames while staying above 0.95 from frame to frame) is
not one by itself: the detector is asked again, on the levelled crop where the track is, and a face
it sees becomes the new reference. Lost frames carry NaN geometry and are listed; nothing is filled in.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import cv2
import numpy as np

from .detect import detect
from .geometry import invert, matrix_roll_deg, similarity_fit, transform_points, unit_to_pixels
from .landmarks import CANONICAL_BOX, STABLE_68, detect_faces, face_matrix, fit_aligned, to_gray
from .one_euro import OneEuroFilter
from .transform import warp_face

STATUSES = ("detected", "tracked", "lost")
CHECK_SIDE = 48  # px side of the stabilised grey face used for the appearance check
CONFIRM_SIDE = 160  # px side of the levelled crop the periodic re-detection runs on
FILTER_SIDE = 224  # the points relative to the head are filtered in pixels of a crop this size
MAX_GAP = 3
THOROUGH_EVERY = 8  # while searching, the thorough detector (rotated copies, Haar) runs every this many frames  # frames lost in a row before the whole frame is searched again


@dataclass(frozen=True)
class TrackSettings:
    """How a face is tracked (every field is part of a cache key where tracking feeds a cache)."""

    landmarks: str = "68"  # "68" or "5" (5: alignment only; no regions)
    redetect_every: int = 30  # frames between detector confirmations of a tracked face (0: never)
    detect_every_frame: bool = False  # full-frame detection on every frame (slow; for comparison)
    rigid_min_cutoff: float = 1.0  # one-euro filter on the stable points (the head's motion): Hz when still
    rigid_beta: float = 3.0  # ... cutoff increase per input px / s of speed (high: head motion never lags)
    min_cutoff: float = 0.5  # one-euro filter on the points relative to the head: Hz when still
    beta: float = 0.1  # ... cutoff increase per px / s at 224 px (crop side)
    d_cutoff: float = 1.0  # ... Hz of the speed estimates
    min_similarity_previous: float = 0.6  # NCC of each face half with the last good frame, below: lost
    min_similarity_detection: float = 0.35  # NCC of each face half with the last detection, below: lost

    def __post_init__(self):
        if self.landmarks not in ("68", "5"):
            raise ValueError(f"track settings: landmarks {self.landmarks!r}: choose 68 or 5")
        if self.redetect_every < 0:
            raise ValueError(f"track settings: redetect_every {self.redetect_every} must be >= 0")

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Track:
    """One video's track: per frame a status, landmarks, box, roll and stabilising matrix."""

    status: list[str]
    landmarks: np.ndarray  # (N, K, 2) float32 input px (filtered), NaN where lost; K = 68 or 5
    boxes: np.ndarray  # (N, 4) float32 x, y, w, h, NaN where lost
    roll_deg: np.ndarray  # (N,) float32, positive when the image-right eye is higher, NaN where lost
    matrices: np.ndarray  # (N, 2, 3) float64 input px -> unit-side stabilised crop, NaN where lost
    fps: float
    frame_size: tuple[int, int] | None = None  # (w, h) of the input frames
    notes: list[str] = field(default_factory=list)  # what happened: first face at frame k, losses

    @property
    def lost(self) -> list[int]:
        return [i for i, s in enumerate(self.status) if s == "lost"]

    def __len__(self) -> int:
        return len(self.status)

    def crop_matrix(self, i: int, size: int) -> np.ndarray:
        """(2, 3) float64 input px -> pixels of a (size, size) stabilised crop of frame ``i``."""
        return unit_to_pixels(self.matrices[i], size)

    def stabilise(self, frame: np.ndarray, i: int, size: int) -> np.ndarray:
        """(size, size, 3) uint8 stabilised crop of frame ``i`` (ValueError where it is lost)."""
        if self.status[i] == "lost":
            raise ValueError(f"frame {i} is lost: no face geometry to stabilise it with")
        return warp_face(frame, self.matrices[i], size)

    def landmarks_in_crop(self, i: int, size: int) -> np.ndarray:
        """(K, 2) float64 landmarks of frame ``i`` in the pixels of its (size, size) stabilised crop."""
        return transform_points(self.crop_matrix(i, size), self.landmarks[i])

    def head_motion_px(self, size: int, reference: int = 0) -> np.ndarray:
        """(N,) how far the head moved from frame ``reference``: the largest displacement of the stable
        points (eye corners, nose bridge) seen through that frame's crop, in pixels of a (size, size)
        crop (NaN where lost). Small values: one transform would serve the whole clip."""
        m = self.crop_matrix(reference, size)
        stable = list(STABLE_68) if self.landmarks.shape[1] == 68 else slice(None)
        base = transform_points(m, self.landmarks[reference][stable])
        out = np.full(len(self), np.nan)
        for i in range(len(self)):
            if self.status[i] != "lost":
                out[i] = np.hypot(*(transform_points(m, self.landmarks[i][stable]) - base).T).max()
        return out

    def save(self, path) -> None:
        """A .npz with every array, the statuses, fps and frame size."""
        np.savez_compressed(path, status=np.array(self.status), landmarks=self.landmarks, boxes=self.boxes,
                            roll_deg=self.roll_deg, matrices=self.matrices, fps=np.float64(self.fps),
                            frame_size=np.array(self.frame_size or (0, 0)), notes=np.array(self.notes, dtype=str))

    @classmethod
    def load(cls, path) -> Track:
        with np.load(path) as z:
            size = tuple(int(v) for v in z["frame_size"])
            return cls(status=[str(s) for s in z["status"]], landmarks=z["landmarks"], boxes=z["boxes"],
                       roll_deg=z["roll_deg"], matrices=z["matrices"], fps=float(z["fps"]),
                       frame_size=None if size == (0, 0) else size, notes=[str(n) for n in z["notes"]])


# helpers


def _ncc(a: np.ndarray, b: np.ndarray) -> float:
    a = a - a.mean()
    b = b - b.mean()
    denom = np.sqrt((a * a).sum() * (b * b).sum())
    return float((a * b).sum() / denom) if denom > 1e-9 else 0.0


def face_similarity(a: np.ndarray, b: np.ndarray) -> float:
    """The lower of two NCCs on the stabilised face: the eyes-and-brows band and the mouth-and-chin
    window (an occluder, a hand, covers one of them). Only the face is compared, not the backdrop."""
    n = a.shape[0]
    upper = (slice(round(0.18 * n), round(0.5 * n)), slice(round(0.2 * n), round(0.8 * n)))
    lower = (slice(round(0.58 * n), round(0.95 * n)), slice(round(0.28 * n), round(0.72 * n)))
    return min(_ncc(a[upper], b[upper]), _ncc(a[lower], b[lower]))


def _box_from_points(points: np.ndarray) -> np.ndarray:
    """The detector-like box (x, y, w, h) of a face: CANONICAL_BOX mapped back from the face crop."""
    back = invert(face_matrix(points))
    cx, cy, side = CANONICAL_BOX
    centre = transform_points(back, [(cx, cy)])[0]
    scale = np.hypot(back[0, 0], back[0, 1])
    w = side * scale
    return np.array([centre[0] - w / 2, centre[1] - w / 2, w, w])


def _confirm(gray: np.ndarray, points: np.ndarray) -> bool:
    """Does the detector see a face where the track says it is?"""
    return detector_sees_face(gray, face_matrix(points))


def detector_sees_face(gray: np.ndarray, matrix: np.ndarray) -> bool:
    """HOG on a small levelled crop cut by ``matrix`` (a face transform): a box within 0.15 of the crop's
    side from where dlib puts it on an aligned face, and of 0.6-1.6 times its size."""
    m = unit_to_pixels(matrix, CONFIRM_SIDE)
    crop = cv2.warpAffine(gray, m, (CONFIRM_SIDE, CONFIRM_SIDE), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_REPLICATE)
    cx, cy, side = CANONICAL_BOX
    for (x, y, w, h), _ in detect_faces(crop, 0):
        centre = np.array([x + w / 2, y + h / 2]) / CONFIRM_SIDE
        if np.hypot(*(centre - (cx, cy))) < 0.15 and 0.6 < w / (side * CONFIRM_SIDE) < 1.6:
            return True
    return False


class _Tracker:
    """The state carried from frame to frame."""

    def __init__(self, fps: float, settings: TrackSettings):
        self.fps, self.s = fps, settings
        self.rigid = OneEuroFilter(min_cutoff=settings.rigid_min_cutoff, beta=settings.rigid_beta,
                                   d_cutoff=settings.d_cutoff)
        self.shape = OneEuroFilter(min_cutoff=settings.min_cutoff, beta=settings.beta, d_cutoff=settings.d_cutoff)
        self.points = None  # last good raw points (input px): where the next fit starts
        self.template = None  # stable points on the reference frame, in unit crop coordinates
        self.previous = None  # CHECK_SIDE grey crop of the last good frame
        self.detected = None  # ... of the last detection
        self.last_good = None  # frame index of the last good frame
        self.last_detection = None
        self.last_centre = None
        self.searched = 0  # frames searched for a face since the last good one

    def stable(self, points: np.ndarray) -> np.ndarray:
        return points[list(STABLE_68)] if len(points) == 68 else points

    def smooth(self, raw: np.ndarray, dt: float) -> tuple[np.ndarray, np.ndarray]:
        """(filtered points in input px, stabilising matrix): the head's motion is filtered on the
        stable points (lag-free setting), the expression's on the points in the head's frame."""
        matrix = similarity_fit(self.rigid(self.stable(raw), dt), self.template)
        in_head = transform_points(similarity_fit(self.stable(raw), self.template), raw) * FILTER_SIDE
        return transform_points(invert(matrix), self.shape(in_head, dt) / FILTER_SIDE), matrix

    def check_crop(self, gray: np.ndarray, points: np.ndarray) -> np.ndarray:
        crop = warp_face(gray, face_matrix(points), CHECK_SIDE).astype(np.float32)
        return cv2.GaussianBlur(crop, (0, 0), 1.0)

    def step(self, i: int, frame: np.ndarray):
        """(status, raw points or None) for frame ``i``."""
        gray = to_gray(frame)
        # after a few lost frames the face is searched in the whole frame again
        tracking = self.points is not None and i - self.last_good <= MAX_GAP
        if tracking and not self.s.detect_every_frame:
            points = fit_aligned(gray, face_matrix(self.points), self.s.landmarks)
            if np.abs(points - self.points).max() > 0.05 * np.hypot(*np.ptp(self.points, axis=0)):
                points = fit_aligned(gray, face_matrix(points), self.s.landmarks)  # a fast move: fit again
            crop = self.check_crop(gray, points)
            due = self.s.redetect_every and i - self.last_detection >= self.s.redetect_every
            if face_similarity(crop, self.previous) < self.s.min_similarity_previous:
                return "lost", None  # an abrupt change: an occluder, a cut, a jump off the face
            drifted = face_similarity(crop, self.detected) < self.s.min_similarity_detection
            if due or drifted:
                # A slow change away from the last detection is a roll or a bow as often as an occluder
                # sliding in: the detector decides, on the levelled crop (the roll undone) where the
                # track is; a face it sees becomes the new reference, one it does not see is lost.
                if not _confirm(gray, points):
                    return "lost", None
                self.last_detection = i
                self.detected = crop
                return self.accept(i, crop, points, "detected")
            return self.accept(i, crop, points, "tracked")
        # searching: the upright detector every frame, the thorough one (rotations, Haar) every few
        found = detect(gray, kind=self.s.landmarks, near=self.last_centre,
                       thorough=self.searched % THOROUGH_EVERY == 0)
        self.searched += 1
        if found is None:
            return "lost", None
        crop = self.check_crop(gray, found.points)
        if tracking or self.last_good is not None:
            # a re-detection after a loss must look like the face that was lost (never jump to another)
            if self.detected is not None and face_similarity(crop, self.detected) < self.s.min_similarity_detection:
                return "lost", None
        if not tracking:
            self.rigid.reset()
            self.shape.reset()
        self.last_detection = i
        self.detected = crop
        if self.template is None:
            self.template = transform_points(face_matrix(found.points), self.stable(found.points))
        return self.accept(i, crop, found.points, "detected")

    def accept(self, i, crop, points, status):
        self.points, self.previous, self.last_good, self.searched = points, crop, i, 0
        self.last_centre = points.mean(axis=0)
        return status, points


def track_frames(frames, fps: float = 30.0, settings: TrackSettings | None = None, progress=None) -> Track:
    """Track the face through ``frames`` (an iterable of (H, W, 3) uint8 RGB frames; a generator is
    fine; None for a frame that could not be read: it is lost) at ``fps``. ``progress``: optional
    callable(advance: int), called once per frame."""
    settings = settings or TrackSettings()
    if not fps or fps <= 0:
        raise ValueError(f"track: fps {fps} must be > 0")
    tracker = _Tracker(float(fps), settings)
    k = 68 if settings.landmarks == "68" else 5
    status, landmarks, boxes, rolls, matrices = [], [], [], [], []
    frame_size, previous_time = None, None
    unreadable = []
    for i, frame in enumerate(frames):
        if frame is None:  # a frame the reader could not decode: lost, and said so
            unreadable.append(i)
            state, raw = "lost", None
        else:
            frame = np.asarray(frame)
            if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
                raise ValueError(f"frame {i}: expected (H, W, 3) uint8 RGB, got {frame.shape} {frame.dtype}")
            if frame_size is None:
                frame_size = (frame.shape[1], frame.shape[0])
            elif frame_size != (frame.shape[1], frame.shape[0]):
                raise ValueError(f"frame {i}: {frame.shape[1]}x{frame.shape[0]}, the first frame was "
                                 f"{frame_size[0]}x{frame_size[1]}")
            state, raw = tracker.step(i, frame)
        if raw is None:
            status.append("lost")
            landmarks.append(np.full((k, 2), np.nan))
            boxes.append(np.full(4, np.nan))
            rolls.append(np.nan)
            matrices.append(np.full((2, 3), np.nan))
        else:
            dt = 1.0 / fps if previous_time is None else (i - previous_time) / fps
            smooth, matrix = tracker.smooth(raw, dt)
            previous_time = i
            status.append(state)
            landmarks.append(smooth)
            boxes.append(_box_from_points(smooth))
            rolls.append(matrix_roll_deg(matrix))
            matrices.append(matrix)
        if progress is not None:
            progress(1)
    n = len(status)
    track = Track(
        status=status,
        landmarks=np.array(landmarks, dtype=np.float32).reshape(n, k, 2),
        boxes=np.array(boxes, dtype=np.float32).reshape(n, 4),
        roll_deg=np.array(rolls, dtype=np.float32).reshape(n),
        matrices=np.array(matrices, dtype=np.float64).reshape(n, 2, 3),
        fps=float(fps),
        frame_size=frame_size,
    )
    if unreadable:
        spans = ", ".join(f"{a}" if a == b else f"{a}-{b}" for a, b in _runs(unreadable))
        track.notes.append(f"{len(unreadable)} frame(s) could not be read and are lost: {spans}")
    track.notes.extend(_notes(track))
    return track


def _runs(indices: list[int]) -> list[tuple[int, int]]:
    runs = []
    for i in indices:
        if runs and runs[-1][1] == i - 1:
            runs[-1] = (runs[-1][0], i)
        else:
            runs.append((i, i))
    return runs


def _notes(track: Track) -> list[str]:
    """Sentences on what the track found: where the face first appears, which frames are lost."""
    notes = []
    good = [i for i, s in enumerate(track.status) if s != "lost"]
    if not good:
        return [f"no face found in any of the {len(track)} frames"]
    if good[0] > 0:
        notes.append(f"first face at frame {good[0]} ({good[0] / track.fps:.2f} s); tracking starts there")
    lost_after = [i for i in track.lost if i > good[0]]
    if lost_after:
        spans = ", ".join(f"{a}" if a == b else f"{a}-{b}" for a, b in _runs(lost_after))
        notes.append(f"face lost in {len(lost_after)} frame(s) after the first: {spans}")
    return notes
