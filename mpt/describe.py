"""``mpt describe``: how the regions of a face moved in a raw clip, in numbers and in words.

raw frames (onset..offset) -> the face tracked and stabilised frame by frame at 224 (dlib's 68
landmarks; ``preprocess.face.track``) -> ``mpt_core.describe.describe_motion`` (dense optical flow
from the onset to the apex, the remaining head motion removed, 18 regions placed from the onset
frame's landmarks) -> region motions, motion-based AU candidates, a paragraph.

What places the regions:

- ``face="auto"``: the onset frame's 68 landmarks, mapped into its crop. The face is first tracked
  on ``HEAD_SAMPLES`` frames spread over the clip: where the head moves (its stable points more than
  ``STILL_HEAD_PX`` at 224 from the onset's) or the face is lost, every frame is tracked and
  stabilised, removing the head's rigid motion before the flow, so moving heads and long clips work
  (a face lost part-way trims the clip); a still head keeps the onset's one transform (per-frame
  crops would only add resampling jitter).
- ``face="haar"``: the method before landmarks: one transform from Haar's eyes for the clip, the
  regions placed from the eyes (``EYES`` proportions in ``mpt_core.regions``).
- ``face="none"``: the frames are already a face crop, but not necessarily one made by ``mpt``:
  dataset crops (CASME II's ``Cropped``, SAMM's) are framed in their own way. So the landmarks are
  found on the onset frame (dlib); failing that, the eyes (Haar); failing that, the canonical
  eye positions scaled to the frame. The result says which (``"eyes": {"from": "landmarks" |
  "detected" | "canonical"}``).

``--landmarks 5`` is refused: the 5-point model has no brows, lids or lips to place regions on.
The AU candidates are motion-based: rules on the directions of region motions
(``mpt_core.au_rules``), not a trained AU detector; the text and the CLI say so.

Every expected failure raises a ValueError subclass with one line: what, where, why.
"""

from __future__ import annotations

import time

import numpy as np

from mpt_core.names import FACE_MODES

from .rawclip import add_time, align_face, face_options, warn

SIZE = 224  # the crop side: describe_motion measures every figure in pixels at 224
STILL_HEAD_PX = 2.0  # a head moving less than this (px at 224) over the clip gets one transform, not one per frame
HEAD_SAMPLES = 40  # frames spread over the clip on which the head's motion is measured first


class DescribeInputError(ValueError):
    """A face mode, apex or clip that ``mpt describe`` cannot use; the message says which and why."""


# helpers


def canonical_eyes(width: int, height: int) -> tuple[tuple[float, float], tuple[float, float]]:
    """``CANONICAL_EYES`` in the pixels of a ``width`` x ``height`` frame (pixel centres at integers,
    as ``FaceTransform`` places them: a fraction f of the side is pixel f * side - 0.5)."""
    from preprocess.face import CANONICAL_EYES

    (lx, ly), (rx, ry) = CANONICAL_EYES
    return (lx * width - 0.5, ly * height - 0.5), (rx * width - 0.5, ry * height - 0.5)


def onset_landmarks(frame: np.ndarray) -> np.ndarray | None:
    """dlib's 68 landmarks on one (H, W, 3) uint8 RGB frame known to be a face crop, in its pixels,
    or None (no face): the detector's box, else the whole frame as the face box, each fit checked
    (``preprocess.face.framing.fit_crop``: the detector alone misses some faces that fill the image)."""
    from preprocess.face.framing import fit_crop

    return fit_crop(frame).points


def detected_eyes(frame: np.ndarray, *, where: str = "frame"):
    """The eyes Haar finds on one (H, W, 3) uint8 RGB face frame, in its pixels, or None when no face
    or no plausible eye pair is found (then the caller falls back to ``canonical_eyes``)."""
    from preprocess.face import FaceError, find_face

    try:
        transform = find_face(frame, where=where)
    except FaceError:
        return None
    if transform.eyes is None:
        return None
    (lx, ly), (rx, ry) = transform.eyes
    return (float(lx), float(ly)), (float(rx), float(ry))


def describe_clip_frames(frames, *, eyes=None, landmarks=None, onset_index: int = 0, apex_index: int | None = None,
                         offset_index: int | None = None, numbers=None):
    """``describe_motion`` on any aligned face frames (N, H, W, 3) uint8 RGB, e.g. a cache's T
    normalised frames; returns the kernel's ``Description`` (``.text``, ``.to_dict()``).

    ``landmarks``: the onset frame's (68, 2) landmarks in the frames' pixels (they place the
    regions), or "detect" (dlib on the onset frame; else as ``eyes="detect"``). ``eyes`` (without
    landmarks): None (the canonical positions of an ``mpt`` crop: right for caches built with face
    alignment), "detect" (Haar on the onset frame, else canonical: for dataset crops), or
    ((x, y), (x, y)) in the frames' pixels. On a cache's *magnified* frames the displacements are
    those of the magnified motion (larger than the face's own by up to about alpha), so there the
    figures say where and which way the face moved more than how far. ``offset_index``: the offset, where
    the face is back at rest (the motion is then the transient part: ``mpt_core.describe``).
    """
    from mpt_core.describe import describe_motion

    frames = np.asarray(frames)
    if frames.ndim != 4:
        raise DescribeInputError(f"frames {frames.shape}: expected (N, H, W, 3) uint8 RGB")
    h, w = frames.shape[1:3]
    if isinstance(landmarks, str):
        if landmarks != "detect":
            raise DescribeInputError(f"landmarks {landmarks!r}: pass None, 'detect' or (68, 2) points")
        landmarks = onset_landmarks(frames[onset_index])
        if landmarks is None and eyes is None:
            eyes = "detect"
    if landmarks is not None:
        return describe_motion(frames, landmarks=landmarks, onset_index=onset_index, apex_index=apex_index,
                               offset_index=offset_index, numbers=numbers)
    if eyes is None:
        eyes = canonical_eyes(w, h)
    elif isinstance(eyes, str):
        if eyes != "detect":
            raise DescribeInputError(f"eyes {eyes!r}: pass None, 'detect' or ((x, y), (x, y))")
        eyes = detected_eyes(frames[onset_index]) or canonical_eyes(w, h)
    return describe_motion(frames, eyes=eyes, onset_index=onset_index, apex_index=apex_index,
                           offset_index=offset_index, numbers=numbers)


# the workflow


def describe(input, *, onset: int | None = None, apex: int | None = None, offset: int | None = None,
             fps: float | None = None, face: str = "auto", landmarks: str = "68", timings: dict | None = None,
             framing: str | None = None) -> dict:
    """Region motion and motion-based AU candidates of one raw clip (a video file or a frame folder).

    ``onset``/``apex``/``offset``: frame numbers as in the file names (a video's 0-based indices);
    default onset and offset: the whole input; default apex: the frame of maximum motion energy
    relative to the onset (the text says so). A given ``offset`` is taken as the frame where the face is
    back at rest: the motion is then measured relative to the face's drift from the onset to it (the
    transient part, ``mpt_core.describe``); without one, from the onset. ``fps``: default the video's; required for a folder
    (it is reported, and paces the tracking filter). ``face``: "auto" (track and stabilise the face
    at 224, regions from the onset frame's landmarks), "haar" (one transform from Haar's eyes,
    regions from the eyes) or "none" (the frames are a face crop already). ``landmarks``: "68"
    ("5" is refused: no regions). A face lost part-way trims the clip (a warning says where).
    ``timings`` (if given) accumulates seconds per stage: decode, face, describe. ``framing``: None (mpt's
    canonical crop: describe applies no model, its figures are pixels at 224 of that crop) or a corpus,
    cache or run folder (``rawclip.choose_framing``): the face is cut as that corpus's crops are, by one
    transform from the onset frame's landmarks, and the regions are placed from them in that crop.

    Returns ``{"input", "onset", "apex", "offset", "regions": [{"name", "dx", "dy", "magnitude",
    "direction"}], "au_candidates": [{"au", "evidence_px", "regions"}], "text"}`` plus ``"fps"``,
    ``"apex_chosen"`` ("given" or "max motion energy"), ``"relative_to"`` ("onset", or "onset-offset drift"
    with a given offset: the transient part), ``"threshold_px"`` (a region moved from
    this magnitude), ``"face"`` ({"box": [x, y, w, h], "angle_deg", "aligner"} or None) and ``"eyes"``
    ({"from": "landmarks" | "aligned" | "detected" | "canonical", "points": [[x, y], [x, y]]}, in
    the pixels of the described frames). Pixel figures are at 224 x 224; dx right, dy down.
    """
    from preprocess.inputs import load_input

    _check_face(face, landmarks)
    t0 = time.perf_counter()
    clip = load_input(input, onset=onset, offset=offset, fps=fps)  # frames (N, H, W, 3) uint8 RGB
    for warning in clip.warnings:
        warn(warning)
    add_time(timings, "decode", t0)
    return {"input": str(input), **describe_clip(clip, apex=apex, face=face, landmarks=landmarks, timings=timings,
                                                 framing=framing, to_offset=offset is not None)}


def _check_face(face: str, landmarks: str) -> None:
    if face not in FACE_MODES:
        raise DescribeInputError(f"face mode {face!r}: choose {' or '.join(FACE_MODES)}")
    if landmarks == "5":
        raise DescribeInputError("--landmarks 5: the 5-point model (eye corners and nose) places no regions; "
                                 "mpt describe needs the 68 points (--landmarks 68)")


def _still_head(clip):
    """The track of about ``HEAD_SAMPLES`` frames spread over the clip when the head stays within
    ``STILL_HEAD_PX`` of the onset's place and the face is never lost, else None (track every frame)."""
    from preprocess.face.track import track_frames

    step = max(1, len(clip.frames) // HEAD_SAMPLES)
    sample = clip.frames[::step]
    track = track_frames(sample, fps=clip.fps / step)
    if track.lost or np.nanmax(track.head_motion_px(SIZE)) >= STILL_HEAD_PX:
        return None
    return track


def describe_clip(clip, *, apex: int | None = None, face: str = "auto", landmarks: str = "68",
                  timings: dict | None = None, framing: str | None = None, to_offset: bool = False) -> dict:
    """``describe`` on a ``preprocess.inputs.ClipInput`` (frames already in memory); the same
    result without ``"input"``. ``to_offset``: the clip's last frame is its offset, where the face is back
    at rest (not when the face was lost before it)."""
    from mpt_core.regions import landmark_eyes

    from .rawclip import choose_framing, say_framing

    _check_face(face, landmarks)
    framed = None
    if framing is not None and face != "none":
        framed, line, assumed = choose_framing(framing)
        say_framing(line, assumed)
        framed = None if framed.is_canonical else framed
    # a corpus's framing: one transform from the onset frame (the per-frame track stabilises canonically)
    options = face_options(face, landmarks, track=face == "auto" and framed is None, framing=framed)
    t0 = time.perf_counter()
    apex_index = None
    if apex is not None:
        if apex not in clip.numbers:
            raise DescribeInputError(f"{clip.source}: apex {apex} is outside the clip "
                                     f"(frames {clip.numbers[0]}..{clip.numbers[-1]})")
        apex_index = clip.numbers.index(apex)
        if apex_index == 0:
            raise DescribeInputError(f"{clip.source}: apex {apex} is the onset; the apex must come after it")
    frames, box, numbers, points = clip.frames, None, clip.numbers, None
    still = _still_head(clip) if face == "auto" and framed is None else None
    if still is not None:
        # a still head: the onset's one transform (per-frame crops would only add resampling jitter)
        from preprocess.face.transform import warp_face

        track = still
        frames = np.stack([warp_face(f, track.matrices[0], SIZE) for f in clip.frames])
        points = track.landmarks_in_crop(0, SIZE)
        eyes, source = landmark_eyes(points), "landmarks"
        box = {"box": [round(float(v)) for v in track.boxes[0]], "angle_deg": round(float(track.roll_deg[0]), 2),
               "aligner": "landmarks68"}
    elif face != "none":
        frames, aligned, box, numbers = align_face(clip, size=SIZE, options=options)
        if apex_index is not None and apex_index >= len(numbers):
            raise DescribeInputError(f"{clip.source}: apex {apex} comes after the face was lost (frame "
                                     f"{clip.numbers[len(numbers)]}); the clip ends at {numbers[-1]}")
        if aligned.track is not None:
            points = aligned.track.landmarks_in_crop(0, SIZE)
            eyes, source = landmark_eyes(points), "landmarks"
        elif framed is not None and aligned.transform.landmarks is not None:
            points = aligned.transform.landmarks_in_crop(SIZE)  # in the framing's crop, squeezed to 224
            eyes, source = landmark_eyes(points), "landmarks"
        else:
            eyes, source = aligned.transform.eyes_in_crop(SIZE), "aligned"
    else:
        h, w = frames.shape[1:3]
        points = onset_landmarks(frames[0])
        if points is not None:
            eyes, source = landmark_eyes(points), "landmarks"
        else:
            eyes = detected_eyes(frames[0], where=f"{clip.source}: onset frame {clip.onset}")
            source = "detected" if eyes is not None else "canonical"
            eyes = eyes or canonical_eyes(w, h)
    t0 = add_time(timings, "face", t0)
    offset_index = len(numbers) - 1 if to_offset and numbers[-1] == clip.numbers[-1] else None
    d = describe_clip_frames(frames, eyes=eyes, landmarks=points, apex_index=apex_index, offset_index=offset_index,
                             numbers=numbers)
    add_time(timings, "describe", t0)
    out = d.to_dict()
    return {
        "onset": out["onset"], "apex": out["apex"], "offset": out["offset"],
        "regions": out["regions"], "au_candidates": out["au_candidates"], "text": out["text"],
        "fps": clip.fps, "apex_chosen": d.apex_chosen, "threshold_px": round(d.threshold_px, 3),
        "relative_to": "onset-offset drift" if d.to_offset else "onset", "face": box,
        "eyes": {"from": source, "points": [[round(float(v), 2) for v in p] for p in eyes]},
    }


def show(result: dict, console=None) -> None:
    """The human-readable result: a table of region motions, the AU candidates, the paragraph."""
    from rich.console import Console
    from rich.table import Table

    console = console or Console(highlight=False)
    apex = f"{result['apex']} ({'given' if result['apex_chosen'] == 'given' else 'max motion energy'})"
    console.print(f"{result['input']}: onset {result['onset']}, apex {apex}, offset {result['offset']} "
                  f"at {result['fps']:g} fps; eyes: {result['eyes']['from']}")
    drift = (" and to its drift from the onset to the offset" if result.get("relative_to") == "onset-offset drift"
             else "")
    console.print(f"region motion relative to the head{drift}, pixels at {SIZE} x {SIZE} (dx right, dy down); "
                  f"a region moves from {result['threshold_px']:.2f} px")
    table = Table()
    table.add_column("region")
    for name in ("dx", "dy", "magnitude"):
        table.add_column(name, justify="right")
    table.add_column("direction")
    for r in result["regions"]:
        style = None if r["direction"] != "still" else "dim"
        table.add_row(r["name"], f"{r['dx']:+.2f}", f"{r['dy']:+.2f}", f"{r['magnitude']:.2f}", r["direction"],
                      style=style)
    console.print(table)
    if result["au_candidates"]:
        console.print("Motion-based AU candidates (rules on region motion, not a trained AU detector):")
        for c in result["au_candidates"]:
            console.print(f"  {c['au']:<5} {c['evidence_px']:.2f} px  from {', '.join(c['regions'])}")
    else:
        console.print("Motion-based AU candidates: none")
    console.print()
    console.print(result["text"])
