"""One clip's motion, measured by ``mpt describe``'s kernel: the only module of ``mpt instruct`` that
knows the describe and face-alignment APIs (so a change there is fixed here, in one place).

Frames -> aligned 224 px face -> ``mpt.describe.describe_clip_frames`` (DIS flow onset -> apex, robust
head-motion removal, 18 regions placed from the onset frame's 68 landmarks, AU rules) -> a
``Measurement``, plus the onset -> apex residual flow field for the flow image (``dis_flow`` and
``remove_head_motion`` of ``mpt_core.describe``). Whole-frame corpora: one transform found on the onset
frame from dlib's landmarks (``preprocess.face.align.align_clip``, as ``mpt preprocess`` aligns them).
Dataset crops are used as they are, the face found as ``mpt describe --face none`` finds it: landmarks
on the onset frame, else Haar's eyes; a crop with neither gets them from the caller (``build`` uses
the median of the same subject's other clips).

With a known apex only the frames the kernel reads are decoded: the onset, the frame after it (its
noise floor), and the apex with its two neighbours, passed with their frame numbers. That gives the
same result as the whole clip (a test checks it) at a fraction of the decoding. Without an apex
(SMIC, a ``/`` in CASME II) every frame is decoded and the kernel finds the apex by motion energy.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

SIZE = 224  # crops and every pixel figure: describe measures at 224 x 224

# AU -> the region stems whose motion the describe rules read for it (mpt_core.describe's docstring):
# what "covered" means in the descriptions and the statistics. Region names are stem + _left/_right
# for paired regions.
AU_REGIONS = {
    1: ("brow_inner",), 2: ("brow_outer",), 4: ("brow_inner", "glabella"), 5: ("upper_eyelid",),
    6: ("cheek",), 7: ("lower_eyelid", "upper_eyelid"), 9: ("nose_side",), 10: ("upper_lip",),
    12: ("lip_corner",), 14: ("lip_corner",), 15: ("lip_corner",), 17: ("chin", "lower_lip"),
    24: ("upper_lip", "lower_lip"), 45: ("upper_eyelid",),
}


class MeasureError(ValueError):
    """A clip whose motion cannot be measured: the message names the clip and why."""


class EyesNotFound(MeasureError):
    """No face found in a cropped clip: the caller supplies one (``measure_clip(face=...)``)."""


@dataclass(frozen=True)
class Measurement:
    onset_rgb: np.ndarray  # (224, 224, 3) uint8, the aligned onset frame
    apex_rgb: np.ndarray  # (224, 224, 3) uint8, the aligned apex frame
    flow: np.ndarray  # (224, 224, 2) float32: onset -> apex, head motion removed, pixels (dx, dy)
    motion: dict  # JSON-able: onset, apex, offset, apex_chosen, threshold_px, eyes, regions, au_candidates, text


# helpers


def au_catalogue():
    """(AU_FAMILIES, AU_NAMES, au_families) of the describe kernel."""
    from mpt_core.describe import AU_FAMILIES, AU_NAMES, au_families

    return AU_FAMILIES, AU_NAMES, au_families


def region_stem(name: str) -> str:
    return re.sub(r"_(left|right)$", "", name)


def frames_to_read(onset: int, apex: int, offset: int, transient: bool = True) -> list[int]:
    """Frame numbers the kernel reads for a known apex (onset < apex <= offset); ``transient``: the
    offset too (motion relative to the drift from the onset to the offset)."""
    wanted = {onset, min(onset + 1, offset), apex - 1, apex, min(apex + 1, offset)} | ({offset} if transient else set())
    return sorted(n for n in wanted if onset <= n <= offset)


def check_apex(key: str, onset: int, apex: int, offset: int) -> None:
    if apex == -1:
        return  # unknown: found by motion energy
    if apex <= onset:
        raise MeasureError(f"clip {key}: apex {apex} is not after the onset {onset}: no frames between onset "
                           "and apex to measure motion on")
    if apex > offset:
        raise MeasureError(f"clip {key}: apex {apex} is after the offset {offset}: the apex frame is not in the clip")


def residual_flow(onset_rgb: np.ndarray, apex_rgb: np.ndarray, boxes) -> np.ndarray:
    """(224, 224, 2) float32 onset -> apex flow minus the similarity fitted robustly over the regions;
    0 outside an ellipse around the regions."""
    import cv2

    from mpt_core.describe import dis_flow, remove_head_motion

    grey = [cv2.cvtColor(f, cv2.COLOR_RGB2GRAY) for f in (onset_rgb, apex_rgb)]
    flow = dis_flow(full_resolution=True).calc(grey[0], grey[1], None)
    x0 = min(b[0] for b in boxes.values())
    y0 = min(b[1] for b in boxes.values())
    x1 = max(b[2] for b in boxes.values())
    y1 = max(b[3] for b in boxes.values())
    residual = remove_head_motion(flow, (slice(y0, y1), slice(x0, x1))).astype(np.float32)
    # outside the face (an ellipse around the regions) the flow of a plain background is noise: zero it
    ys, xs = np.mgrid[0:SIZE, 0:SIZE].astype(np.float32)
    cx, cy, rx, ry = (x0 + x1) / 2, (y0 + y1) / 2, 0.62 * (x1 - x0), 0.62 * (y1 - y0)
    residual[((xs - cx) / rx) ** 2 + ((ys - cy) / ry) ** 2 > 1] = 0
    return residual


def find_crop_face(frames: np.ndarray, where: str, native=None):
    """A dataset crop's face, as ``mpt describe --face none`` finds it: dlib's 68 landmarks on the onset
    frame (else on the last frame read) -> ("landmarks", points, "landmarks"); else Haar's eye pair ->
    ("eyes", eyes, "detected"); else None. ``native``: the same two frames at the crop's own size (the
    landmarks are fitted there, where the face is not squeezed, and scaled to ``frames``' pixels)."""
    from mpt.describe import detected_eyes, onset_landmarks

    h, w = frames.shape[1:3]
    for i, frame in enumerate((frames[0], frames[-1])):
        own = frame if native is None else native[i]
        points = onset_landmarks(own)
        if points is not None:
            scale = (w / own.shape[1], h / own.shape[0])  # pixel centres at integers on both sides
            return "landmarks", (np.asarray(points, np.float64) + 0.5) * scale - 0.5, "landmarks"
    for frame in (frames[0], frames[-1]):
        eyes = detected_eyes(frame, where=where)
        if eyes is not None:
            return "eyes", eyes, "detected"
    return None


def fallback_face(frame: np.ndarray):
    """With no face found anywhere in the corpus: mpt's canonical eye places."""
    from mpt.describe import canonical_eyes

    return "eyes", canonical_eyes(frame.shape[1], frame.shape[0]), "canonical"


def align_whole_frames(frames: np.ndarray, *, fps: float, where: str):
    """Whole video frames -> (224 crops, the crop's landmarks or eyes): one transform found on the onset
    frame from dlib's landmarks, applied to every frame (what ``mpt preprocess --face auto`` does)."""
    from preprocess.face.align import FaceOptions, align_clip

    aligned = align_clip(frames, FaceOptions(method="auto"), size=SIZE, fps=fps, where=where, check=False)
    points = aligned.transform.landmarks_in_crop(SIZE)
    if points is not None and len(points) == 68:
        return aligned.crops, ("landmarks", points, "landmarks")
    return aligned.crops, ("eyes", aligned.transform.eyes_in_crop(SIZE), "aligned")


# the measurement


def measure_clip(paths, numbers, *, key: str, onset: int, apex: int, offset: int, whole_frames: bool,
                 fps: float = 30.0, face=None, transient: bool = True) -> Measurement:
    """Measure one clip: ``paths`` are its frames onset..offset with frame ``numbers``; ``apex`` -1 is
    unknown. ``whole_frames``: the frames are whole video frames (the face is found and aligned).
    Cropped frames: the face is found (``find_crop_face``), else ``EyesNotFound``; ``face`` =
    ("landmarks" | "eyes", points in 224 px, source) skips that, "fallback" uses ``fallback_face``.
    ``transient``: the motion relative to the face's drift from the onset to the annotated offset (the
    rules' evidence, ``mpt_core.describe``); False: from the onset to the apex (REALISM.md's figures)."""
    from mpt.describe import describe_clip_frames
    from mpt_core.describe import DescribeError, landmark_boxes, region_boxes
    from mpt_core.regions import landmark_eyes
    from preprocess.face import FaceError
    from preprocess.frames import load_frames

    check_apex(key, onset, apex, offset)
    numbers = [int(n) for n in numbers]
    wanted = numbers if apex == -1 else frames_to_read(onset, apex, offset, transient)
    by_number = dict(zip(numbers, paths))
    missing = [n for n in wanted if n not in by_number]
    if missing:
        raise MeasureError(f"clip {key}: frame(s) {missing} not found between onset {onset} and offset {offset}")
    if len(wanted) < 2:
        raise MeasureError(f"clip {key}: a single frame ({onset}): no motion to measure")
    where = f"clip {key}: onset frame {by_number[wanted[0]]}"
    try:
        if whole_frames:
            frames, face = align_whole_frames(load_frames([by_number[n] for n in wanted], None), fps=fps, where=where)
        else:
            frames = load_frames([by_number[n] for n in wanted], SIZE)  # (N, 224, 224, 3) uint8
            if face == "fallback":
                face = fallback_face(frames[0])
            elif face is None:
                native = load_frames([by_number[wanted[0]], by_number[wanted[-1]]], None)  # the crops as shipped
                face = find_crop_face(frames, where, native)
                if face is None:
                    raise EyesNotFound(f"clip {key}: no face found on frames {wanted[0]} and {wanted[-1]}")
        kind, points, source = face
        # rounded as the motion JSON stores them, so that the JSON alone reproduces the measurement
        placed = ({"landmarks": np.round(np.asarray(points, np.float64), 2)} if kind == "landmarks"
                  else {"eyes": tuple(tuple(round(float(v), 2) for v in p) for p in points)})
        d = describe_clip_frames(frames, **placed, apex_index=None if apex == -1 else wanted.index(apex),
                                 offset_index=wanted.index(offset) if transient and offset in wanted else None,
                                 numbers=wanted)
    except (DescribeError, FaceError) as err:
        raise MeasureError(f"clip {key}: {err}") from None
    apex_rgb = frames[wanted.index(d.apex)]
    boxes = landmark_boxes(placed["landmarks"]) if kind == "landmarks" else region_boxes(placed["eyes"], SIZE)
    eyes = landmark_eyes(placed["landmarks"]) if kind == "landmarks" else placed["eyes"]
    flow = residual_flow(frames[0], apex_rgb, boxes)
    out = d.to_dict()
    motion = {
        "onset": out["onset"], "apex": out["apex"], "offset": int(offset), "apex_chosen": d.apex_chosen,
        "threshold_px": round(float(d.threshold_px), 3), "relative_to": "onset-offset drift" if d.to_offset else "onset",
        "eyes": {"from": source, "points": [[round(float(v), 2) for v in p] for p in eyes]},
        "regions": out["regions"], "au_candidates": out["au_candidates"], "text": out["text"],
    }
    if kind == "landmarks":
        motion["landmarks"] = placed["landmarks"].tolist()
    return Measurement(frames[0], apex_rgb, flow, motion)
