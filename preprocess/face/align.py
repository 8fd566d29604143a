"""A clip's face alignment, by the chosen method: the options (``FaceOptions``), the one transform
of a short clip (``locate_face``), per-frame stabilisation of a tracked clip (``align_clip``), and
the check that the face stays where the onset frame had it (``face_kept_until``).

Methods (``--face``): ``auto`` fits dlib's 68 landmarks (``--landmarks 5``: the 5-point model,
alignment only) and aligns from the eye centres; ``haar`` is OpenCV's Haar face and eye cascades
(the method before landmarks); ``none`` uses frames as they are.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from mpt_core.names import FACE_MODES as FACE_METHODS
from mpt_core.names import LANDMARK_MODELS

from .geometry import align_matrix, roll_deg, transform_points
from .transform import FaceError, FaceTransform, as_frames, warp_face

MIN_FACE_SIMILARITY = 0.35  # NCC of a later frame's face window with the onset's; below: the face is gone


@dataclass(frozen=True)
class FaceOptions:
    """How raw frames are aligned (every field is part of a whole-frame cache's identity)."""

    method: str = "auto"  # one of FACE_METHODS
    landmarks: str = "68"  # one of LANDMARK_MODELS (method "auto")
    track: bool = False  # per-frame stabilisation instead of one transform per clip
    framing: object = None  # mpt_core.framing.Framing of the crop; None: mpt's canonical crop

    def __post_init__(self):
        if self.method not in FACE_METHODS:
            raise ValueError(f"face mode {self.method!r}: choose one of {', '.join(FACE_METHODS)}")
        if self.landmarks not in LANDMARK_MODELS:
            raise ValueError(f"landmarks {self.landmarks!r}: choose one of {', '.join(LANDMARK_MODELS)}")
        if self.track and self.method != "auto":
            raise ValueError(f"tracking needs landmarks (--face auto), not --face {self.method}")

    @property
    def aligner(self) -> str | None:
        """"landmarks68", "landmarks5", "haar" or None (frames used as they are)."""
        return {"auto": f"landmarks{self.landmarks}", "haar": "haar", "none": None}[self.method]

    def identity(self):
        """The cache-key value. Haar keeps "auto", what Haar caches had before landmarks, so they stay
        valid; landmark aligners are named; tracking adds its settings; a framing other than the
        canonical one makes another cache (the canonical one adds nothing: old keys stay)."""
        if self.framing is not None and not self.framing.is_canonical and self.method != "none":
            from dataclasses import replace

            return {"aligner": replace(self, framing=None).identity(), "framing": self.framing.to_dict()}
        if self.method == "none":
            return "none"
        if self.method == "haar":
            return "auto"
        if not self.track:
            return self.aligner
        from .track import TrackSettings

        return {"aligner": self.aligner, "track": TrackSettings(landmarks=self.landmarks).to_dict()}


def as_options(face) -> FaceOptions:
    """A FaceOptions from a FaceOptions or a bare method name."""
    return face if isinstance(face, FaceOptions) else FaceOptions(method=face)


def locate_face(frame: np.ndarray, *, where: str = "frame 0", aligner: str = "landmarks68",
                framing=None) -> FaceTransform:
    """One clip's transform, found on one (H, W, 3) uint8 RGB frame (the onset), by ``aligner``.

    Landmarks: dlib's HOG detector (Haar's face cascade when HOG finds nothing), the highest-scoring
    face (a warning when there are several), the landmarks, the crop from their eye centres, in
    ``framing`` (an ``mpt_core.framing.Framing``; None: mpt's canonical crop). A crop reaching past
    the frame: a warning saying how far; too far (the face cut by the border): FaceError.
    No face: FaceError naming ``where``.
    """
    if aligner == "haar":
        from .haar import find_face

        found = find_face(frame, where=where)
        if framing is None or framing.is_canonical or found.eyes is None:
            return found
        from dataclasses import replace

        from .framing import border_check, frame_matrix

        matrix = frame_matrix(*found.eyes, framing)
        kept = tuple(w for w in found.warnings if "past the frame edge" not in w)
        warnings = kept + tuple(border_check(matrix, found.source_size, where=where, framing=framing))
        return replace(found, matrix=tuple(tuple(float(v) for v in row) for row in matrix), warnings=warnings)
    if aligner not in ("landmarks68", "landmarks5"):
        raise ValueError(f"aligner {aligner!r}: choose haar, landmarks68 or landmarks5")
    from .detect import detect
    from .landmarks import eye_centres, to_gray

    frame = as_frames(frame)[0]
    height, width = frame.shape[:2]
    found = detect(to_gray(frame), kind=aligner.removeprefix("landmarks"))
    if found is None:
        raise FaceError(f"{where}: no face found; use --face none for clips that are already cropped")
    warnings = []
    if found.faces > 1:
        box = tuple(round(v) for v in found.box)
        warnings.append(f"{where}: {found.faces} faces found; using the highest-scoring at (x, y, w, h) = {box}")
    left, right = (tuple(float(v) for v in p) for p in eye_centres(found.points))
    if framing is None or framing.is_canonical:
        matrix = align_matrix(left, right)
        corners = transform_points(cv2.invertAffineTransform(matrix), [(0, 0), (1, 0), (0, 1), (1, 1)])
        if corners.min() < -0.5 or (corners[:, 0] > width - 0.5).any() or (corners[:, 1] > height - 0.5).any():
            warnings.append(f"{where}: the face crop reaches past the frame edge; edge pixels are repeated there")
    else:
        from .framing import border_check, frame_matrix

        matrix = frame_matrix(left, right, framing)
        warnings += border_check(matrix, (width, height), where=where, framing=framing)
    return FaceTransform(
        matrix=tuple(tuple(float(v) for v in row) for row in matrix),
        box=tuple(round(v) for v in found.box),
        angle_deg=round(roll_deg(left, right), 2),
        eyes=(left, right),
        source_size=(width, height),
        warnings=tuple(warnings),
        aligner=aligner,
        landmarks=tuple(tuple(float(v) for v in p) for p in found.points),
    )


def _face_windows(frame: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    from .track import CHECK_SIDE

    gray = frame if frame.ndim == 2 else cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)
    return cv2.GaussianBlur(warp_face(gray, matrix, CHECK_SIDE).astype(np.float32), (0, 0), 1.0)


def face_in_place(frame: np.ndarray, matrix: np.ndarray) -> bool:
    """Does the face detector find a face where ``matrix`` (the onset's transform) puts it: HOG on a
    small levelled crop, a box within 0.15 of the crop's side from where dlib puts it on an aligned
    face and of 0.6-1.6 times its size. A question of position, not of appearance: a smile or an
    open mouth changes the face, not where it is."""
    from .landmarks import to_gray
    from .track import detector_sees_face

    return detector_sees_face(to_gray(frame), matrix)


def face_kept_until(frames: np.ndarray, transform: FaceTransform) -> int:
    """How many frames from the first keep the onset's face where the clip's one transform puts it.
    Each frame's crop is first compared (NCC) with the onset's in the eye band and the mouth window
    (cheap); a frame that differs there (an expression changes the mouth and the eyes) is kept
    when the detector still finds the face at the onset's position and size (``face_in_place``).
    ``len(frames)`` when the face stays; k when frame k is the first without it (it left, moved
    away, turned away, was covered, or the video cut to something else)."""
    from .track import face_similarity

    matrix = np.asarray(transform.matrix)
    onset = _face_windows(frames[0], matrix)
    for i in range(1, len(frames)):
        if face_similarity(_face_windows(frames[i], matrix), onset) < MIN_FACE_SIMILARITY and \
                not face_in_place(frames[i], matrix):
            return i
    return len(frames)


@dataclass
class AlignedClip:
    """Face crops of a clip and how they were made."""

    crops: np.ndarray  # (N', size, size, 3) uint8; N' < N when the clip was trimmed where the face was lost
    transform: FaceTransform | None  # one transform per clip (None when tracked)
    track: object | None  # preprocess.face.track.Track when tracked
    warnings: list[str]
    kept: int  # frames kept from the first (N' above)

    def summary(self) -> dict:
        """The JSON face entry: box and roll on the onset frame, the aligner, tracked or not."""
        if self.track is not None:
            box = [round(float(v)) for v in self.track.boxes[0]]
            return {"box": box, "angle_deg": round(float(self.track.roll_deg[0]), 2), "aligner": "tracked",
                    "lost": list(self.track.lost)}
        t = self.transform
        return {"box": [int(v) for v in t.box], "angle_deg": float(t.angle_deg), "aligner": t.aligner}


def _trim(n: int, kept: int, where: str, why: str, on_loss: str, names) -> list[str]:
    """Warnings for keeping the first ``kept`` of ``n`` frames, or FaceError where that is not allowed."""
    if kept >= n:
        return []
    if on_loss == "trim" and kept >= 2:
        return [f"{where}: {why} from frame {names[kept]}; using frames {names[0]}..{names[kept - 1]} only "
                f"({kept} of {n}): set --offset to say where the clip ends"]
    advice = ("use --track for a moving head, or an --offset before it" if on_loss == "trim"
              else "the clip cannot be aligned as a whole")
    raise FaceError(f"{where}: {why} from frame {names[kept]}; {advice}")


def _no_onset_face(frames, where: str, names, fps: float, first: int | None = -1, aligner: str = "landmarks68"):
    """The error for a clip without a face on its onset frame: the frame to start at instead, if any."""
    if first == -1:
        first = first_frame_with_face(frames, stride=max(1, round(fps / 6)), aligner=aligner)
    if first is None:
        other = "try --face auto (landmarks), or " if aligner == "haar" else ""
        return FaceError(f"{where}: no face found in any frame of the clip; {other}use --face none for clips that "
                         f"are already cropped to the face")
    return FaceError(f"{where}: no face found; the first frame with a face is {names[first]}: "
                     f"pass --onset {names[first]}")


def align_clip(frames: np.ndarray, options: FaceOptions, *, size: int, fps: float, where: str,
               on_loss: str = "error", check: bool = True, numbers=None) -> AlignedClip:
    """Align a clip's (N, H, W, 3) uint8 RGB frames by ``options``.

    One transform (no tracking): found on frame 0 and applied to every frame; with ``check`` the
    face is verified in every later frame (``face_kept_until``). Tracked: every frame stabilised by
    its own transform; a frame without a face is lost. A face lost part-way: ``on_loss="trim"``
    keeps the frames before it with a warning, "error" raises FaceError. No face on frame 0:
    FaceError naming the first frame that has one (the onset to use instead). ``numbers``: each
    frame's number as the user knows it (messages name frames by it; default 0-based positions).
    """
    frames = as_frames(frames)
    n = len(frames)
    names = list(range(n)) if numbers is None else list(numbers)
    if not options.track:
        try:
            transform = locate_face(frames[0], where=where, aligner=options.aligner, framing=options.framing)
        except FaceError as err:
            if "no face found" not in str(err):
                raise
            raise _no_onset_face(frames, where, names, fps, aligner=options.aligner) from None
        kept = face_kept_until(frames, transform) if check else n
        warnings = list(transform.warnings) + _trim(n, kept, where, "the face is no longer where the onset frame "
                                                    "had it", on_loss, names)
        return AlignedClip(transform.apply(frames[:kept], size), transform, None, warnings, kept)
    from .track import TrackSettings, track_frames

    track = track_frames(frames, fps=fps, settings=TrackSettings(landmarks=options.landmarks))
    if track.status[0] == "lost":
        good = [i for i, s in enumerate(track.status) if s != "lost"]
        raise _no_onset_face(frames, where, names, fps, good[0] if good else None)
    kept = track.lost[0] if track.lost else n
    warnings = _trim(n, kept, where, "the face is lost", on_loss, names)
    if options.framing is None or options.framing.is_canonical:
        crops = np.stack([track.stabilise(frames[i], i, size) for i in range(kept)])
    else:  # each frame's stabilising matrix, cut in the framing
        from mpt_core.framing import reframe

        from .transform import warp_face

        crops = np.stack([warp_face(frames[i], reframe(track.matrices[i], options.framing), size)
                          for i in range(kept)])
    return AlignedClip(crops, None, track, warnings, kept)


def first_frame_with_face(frames, *, start: int = 1, stride: int = 1, aligner: str = "landmarks68") -> int | None:
    """Index of the first frame from ``start`` on where a face is found, or None: dlib's HOG detector
    (Haar's cascades for the "haar" aligner, which must then find it too); every ``stride``-th frame
    is probed, then the frames before the first hit one by one (what to suggest as ``--onset`` when
    the onset frame has no face)."""
    from .landmarks import detect_faces, to_gray

    def has_face(i: int) -> bool:
        if aligner == "haar":
            try:
                locate_face(frames[i], aligner="haar")
                return True
            except FaceError:
                return False
        gray = to_gray(frames[i])
        return bool(detect_faces(gray, 0) or (max(gray.shape) <= 1400 and detect_faces(gray, 1)))

    stride = max(1, int(stride))
    previous = start - 1
    for i in range(start, len(frames), stride):
        if has_face(i):
            for j in range(max(start, previous + 1), i):
                if has_face(j):
                    return j
            return i
        previous = i
    return None
