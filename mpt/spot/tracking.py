"""The face track ``mpt spot`` stabilises with: ``preprocess.face.track.track_frames`` (landmarks,
stabilising transforms, detected/tracked/lost; the default, see ``_landmark_track``), or this
module's Haar fallback (``--tracker haar``), behind one function and the same ``Track`` attributes.

The fallback: one face transform (``preprocess.face.find_face``: Haar face, eyes, levelled crop),
the medoid of the eyes found at the first ``VOTES`` checks (one detection's eyes can be 10 % of the
inter-ocular distance off, which puts the mouth regions on the cheeks), held until the face moves
away from it, checked with the Haar face detector every ``CHECK_S``
seconds. A check that finds no face makes the frames since the last good check ``lost`` until a
later check finds it again; a face found more than ``MOVE`` of its width from the held transform's
box (a turn, a shift) gets a new transform there (an ``anchor``: the spotter restarts its reference).
What the held transform leaves of the head's motion between frames (drift, small turns) is removed
downstream by the robust similarity fit of ``mpt_core.describe.remove_head_motion`` on each flow.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache

import cv2
import numpy as np

CHECK_S = 0.5  # seconds between face checks
MOVE = 0.2  # a face box centre this far (fraction of its width) from the held one gets a new transform
DETECT_WIDTH = 320  # frames are shrunk to at most this width for the checks
LANDMARK_RATE = 10.0  # landmark fits per second of video
SMOOTH_S = 0.4  # running-median window of the stabilising matrices
VOTES = 5  # eye detections (one per check) voted on before the transform is kept


@dataclass
class SpotTrack:
    """What the spotter needs of a track (either tracker): per-frame status and stabilising matrix."""

    status: list[str]
    matrices: np.ndarray  # (N, 2, 3) input px -> unit-side crop, NaN where lost
    anchors: list[int] = field(default_factory=list)  # frames where a new transform starts

    @property
    def lost(self) -> list[int]:
        return [i for i, s in enumerate(self.status) if s == "lost"]

    def crop_matrix(self, i: int, size: int) -> np.ndarray:
        m = self.matrices[i] * size
        m[:, 2] -= 0.5  # as FaceTransform.crop_matrix: pixel centres at integers
        return m


@lru_cache(maxsize=None)
def _cascade() -> cv2.CascadeClassifier:
    return cv2.CascadeClassifier(cv2.data.haarcascades + "haarcascade_frontalface_default.xml")


def _faces(grey: np.ndarray) -> list[tuple[float, float, float, float]]:
    """Haar face boxes (x, y, w, h) in the frame's pixels, found on a copy at most DETECT_WIDTH wide."""
    scale = min(1.0, DETECT_WIDTH / grey.shape[1])
    small = cv2.resize(grey, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA) if scale < 1 else grey
    side = max(24, min(small.shape) // 8)
    boxes = _cascade().detectMultiScale(small, scaleFactor=1.1, minNeighbors=5, minSize=(side, side))
    return [tuple(float(v) / scale for v in b) for b in boxes]


def _anchor(grey: np.ndarray, where: str):
    from preprocess.face import FaceError, find_face

    try:
        return find_face(cv2.cvtColor(grey, cv2.COLOR_GRAY2RGB), where=where)
    except FaceError:
        return None


def _medoid(transforms: list):
    """The transform whose eyes lie nearest (summed distance) to the others' eyes."""
    def eyes(t):
        return np.asarray(t.eyes if t.eyes is not None else ((0, 0), (0, 0)), np.float64)

    return min(transforms, key=lambda t: sum(np.abs(eyes(t) - eyes(u)).sum() for u in transforms))


def fallback_track_frames(frames, fps: float = 30.0, settings=None, progress=None) -> SpotTrack:
    """``track_frames``' contract for (H, W) grey or (H, W, 3) RGB frames, with the fallback above."""
    check = max(1, int(round(CHECK_S * fps)))
    status: list[str] = []
    matrices: list[np.ndarray] = []
    anchors: list[int] = []
    held = None  # the FaceTransform in use
    votes: list = []  # transforms found at the checks since the face was (re)found
    last_good = -1  # the last frame a check found the face on
    for i, frame in enumerate(frames):
        grey = frame if frame.ndim == 2 else cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)
        if held is None or i % check == 0:
            boxes = _faces(grey)
            if not boxes:
                for j in range(last_good + 1, i):  # the face left somewhere since the last good check
                    status[j], matrices[j] = "lost", np.full((2, 3), np.nan)
                held = None
            else:
                if held is not None:
                    hx, hy, hw, hh = held.box
                    near = min(boxes, key=lambda b: math.hypot(b[0] + b[2] / 2 - hx - hw / 2,
                                                               b[1] + b[3] / 2 - hy - hh / 2))
                    moved = math.hypot(near[0] + near[2] / 2 - hx - hw / 2, near[1] + near[3] / 2 - hy - hh / 2)
                    if moved > MOVE * hw or abs(near[2] / hw - 1) > MOVE:
                        held = None
                if held is None:
                    votes = []
                if len(votes) < VOTES:  # Haar's eyes move by 10 % of the IOD between frames: vote
                    found = _anchor(grey, f"frame {i}")
                    if found is not None and found.eyes is not None or (found is not None and not votes):
                        votes.append(found)
                        best = _medoid(votes)
                        if best is not held:
                            held = best
                            anchors.append(i)
                if held is not None:
                    last_good = i
        if held is None:
            status.append("lost")
            matrices.append(np.full((2, 3), np.nan))
        else:
            status.append("detected" if anchors and anchors[-1] == i else "tracked")
            matrices.append(np.asarray(held.matrix, np.float64))
        if progress is not None:
            progress(1)
    return SpotTrack(status, np.array(matrices).reshape(-1, 2, 3), anchors)


def _landmark_track(frames, rate: float, progress=None) -> SpotTrack:
    """The landmarks package's tracker on every ``stride``-th frame (about ``LANDMARK_RATE`` a second:
    68-point fits on every frame cost more than the whole rest of the spotter), its stabilising
    matrices interpolated in between and smoothed by a running median over ``SMOOTH_S``: a blink
    jerks the eye-corner points the stabilisation rests on, and the head does not turn in a tenth
    of a second (what slow motion the median leaves, the per-flow similarity fit removes)."""
    from preprocess.face.track import track_frames as landmark_track

    stride = max(1, int(round(rate / LANDMARK_RATE)))
    count = [0]

    def sampled():
        for i, frame in enumerate(frames):
            count[0] += 1
            if progress is not None:
                progress(1)
            if i % stride == 0:
                yield cv2.cvtColor(frame, cv2.COLOR_GRAY2RGB) if frame.ndim == 2 else frame

    track = landmark_track(sampled(), fps=rate / stride)
    n = count[0]
    samples = np.arange(len(track.status)) * stride
    good = np.array([st != "lost" for st in track.status])
    flat = track.matrices.reshape(len(samples), 6)
    matrices = np.full((n, 6), np.nan)
    status = ["lost"] * n
    for i in range(n):
        j = i // stride
        if i == samples[j] and good[j]:
            matrices[i], status[i] = flat[j], track.status[j]
        elif j + 1 < len(samples) and good[j] and good[j + 1]:
            w = (i - samples[j]) / stride
            matrices[i], status[i] = (1 - w) * flat[j] + w * flat[j + 1], "tracked"
        elif j + 1 >= len(samples) and good[j]:
            matrices[i], status[i] = flat[j], "tracked"  # after the last sample: held
    half = max(1, int(round(SMOOTH_S * rate / 2)))
    smoothed = matrices.copy()
    valid = np.isfinite(matrices).all(1)
    for i in np.flatnonzero(valid):
        lo, hi = max(0, i - half), min(n, i + half + 1)
        smoothed[i] = np.median(matrices[lo:hi][valid[lo:hi]], axis=0)
    return SpotTrack(status, smoothed.reshape(n, 2, 3), [])


def track_frames(frames, fps: float = 30.0, progress=None, tracker: str = "landmarks"):
    """The stabilising track of (H, W) grey frames at ``fps``: "landmarks" (``preprocess.face.track``,
    see ``_landmark_track``) or "haar" (this module's fallback). Returns (track, tracker used)."""
    if tracker == "landmarks":
        try:
            import preprocess.face.track  # noqa: F401
        except ImportError:
            tracker = "haar"
        else:
            return _landmark_track(frames, fps, progress), "landmarks"
    return fallback_track_frames(frames, fps, progress=progress), "haar"
