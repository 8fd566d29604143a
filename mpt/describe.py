"""``mpt describe``: how the regions of a face moved in a raw clip, in numbers and in words.

raw frames (onset..offset) -> face crop at 224 (one transform, found on the onset frame) ->
``mpt_core.describe.describe_motion`` (dense optical flow from the onset to the apex, head motion
removed, 18 regions placed from the eyes) -> region motions, motion-based AU candidates, a paragraph.

Where the eyes are, which places the regions:

- ``face="auto"``: the crop puts the eyes at ``CANONICAL_EYES`` by construction, so the eyes are
  the detected eyes mapped into the crop (``FaceTransform.eyes_in_crop``; where the eyes were not
  found, the face box's usual eye places, with a warning from ``find_face``).
- ``face="none"``: the frames are already a face crop, but not necessarily one made by ``mpt``:
  dataset crops (CASME II's ``Cropped``, SAMM's) are framed in their own way. So the eyes are
  detected on the onset frame with the same Haar cascades; where no face or no plausible eye pair
  is found, the canonical positions scaled to the frame are used, and the result says which
  (``"eyes": {"from": "detected" | "canonical"}``). A wrong guess of a tenth of the inter-ocular
  distance moves each region by about half its size, so detection is worth its ~50 ms.

The AU candidates are motion-based: rules on the directions of region motions
(``mpt_core.describe``), not a trained AU detector; the text and the CLI say so.

Every expected failure raises a ValueError subclass with one line: what, where, why.
"""

from __future__ import annotations

import time

import numpy as np

from mpt_core.names import FACE_MODES

from .rawclip import add_time, align_face

SIZE = 224  # the crop side: describe_motion measures every figure in pixels at 224


class DescribeInputError(ValueError):
    """A face mode, apex or clip that ``mpt describe`` cannot use; the message says which and why."""


# helpers


def canonical_eyes(width: int, height: int) -> tuple[tuple[float, float], tuple[float, float]]:
    """``CANONICAL_EYES`` in the pixels of a ``width`` x ``height`` frame (pixel centres at integers,
    as ``FaceTransform`` places them: a fraction f of the side is pixel f * side - 0.5)."""
    from preprocess.face import CANONICAL_EYES

    (lx, ly), (rx, ry) = CANONICAL_EYES
    return (lx * width - 0.5, ly * height - 0.5), (rx * width - 0.5, ry * height - 0.5)


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


def describe_clip_frames(frames, *, eyes=None, onset_index: int = 0, apex_index: int | None = None, numbers=None):
    """``describe_motion`` on any aligned face frames (N, H, W, 3) uint8 RGB, e.g. a cache's T
    normalised frames; returns the kernel's ``Description`` (``.text``, ``.to_dict()``).

    ``eyes``: None (the canonical positions of an ``mpt`` crop: right for caches built with face
    alignment), "detect" (Haar on the onset frame, else canonical: for dataset crops), or
    ((x, y), (x, y)) in the frames' pixels. On a cache's *magnified* frames the displacements are
    those of the magnified motion (larger than the face's own by up to about alpha), so there the
    figures say where and which way the face moved more than how far.
    """
    from mpt_core.describe import describe_motion

    frames = np.asarray(frames)
    if frames.ndim != 4:
        raise DescribeInputError(f"frames {frames.shape}: expected (N, H, W, 3) uint8 RGB")
    h, w = frames.shape[1:3]
    if eyes is None:
        eyes = canonical_eyes(w, h)
    elif isinstance(eyes, str):
        if eyes != "detect":
            raise DescribeInputError(f"eyes {eyes!r}: pass None, 'detect' or ((x, y), (x, y))")
        eyes = detected_eyes(frames[onset_index]) or canonical_eyes(w, h)
    return describe_motion(frames, eyes=eyes, onset_index=onset_index, apex_index=apex_index, numbers=numbers)


# the workflow


def describe(input, *, onset: int | None = None, apex: int | None = None, offset: int | None = None,
             fps: float | None = None, face: str = "auto", timings: dict | None = None) -> dict:
    """Region motion and motion-based AU candidates of one raw clip (a video file or a frame folder).

    ``onset``/``apex``/``offset``: frame numbers as in the file names (a video's 0-based indices);
    default onset and offset: the whole input; default apex: the frame of maximum motion energy
    relative to the onset (the text says so). ``fps``: default the video's; required for a folder
    (it is reported, not used by the flow). ``face``: "auto" (find the face on the onset frame, level
    and crop it at 224) or "none" (the frames are a face crop already). ``timings`` (if given)
    accumulates seconds per stage: decode, face, describe.

    Returns ``{"input", "onset", "apex", "offset", "regions": [{"name", "dx", "dy", "magnitude",
    "direction"}], "au_candidates": [{"au", "evidence_px", "regions"}], "text"}`` plus ``"fps"``,
    ``"apex_chosen"`` ("given" or "max motion energy"), ``"threshold_px"`` (a region moved from
    this magnitude), ``"face"`` ({"box": [x, y, w, h], "angle_deg"} or None) and ``"eyes"``
    ({"from": "aligned" | "detected" | "canonical", "points": [[x, y], [x, y]]}, in the pixels of
    the described frames). Pixel figures are at 224 x 224; dx right, dy down.
    """
    from preprocess.inputs import load_input

    if face not in FACE_MODES:
        raise DescribeInputError(f"face mode {face!r}: choose {' or '.join(FACE_MODES)}")
    t0 = time.perf_counter()
    clip = load_input(input, onset=onset, offset=offset, fps=fps)  # frames (N, H, W, 3) uint8 RGB
    t0 = add_time(timings, "decode", t0)
    apex_index = None
    if apex is not None:
        if apex not in clip.numbers:
            raise DescribeInputError(f"{clip.source}: apex {apex} is outside the clip "
                                     f"(frames {clip.numbers[0]}..{clip.numbers[-1]})")
        apex_index = clip.numbers.index(apex)
        if apex_index == 0:
            raise DescribeInputError(f"{clip.source}: apex {apex} is the onset; the apex must come after it")
    frames, box = clip.frames, None
    if face == "auto":
        frames, transform, box = align_face(frames, size=SIZE, where=f"{clip.source}: onset frame {clip.onset}")
        eyes, source = transform.eyes_in_crop(SIZE), "aligned"
    else:
        h, w = frames.shape[1:3]
        eyes = detected_eyes(frames[0], where=f"{clip.source}: onset frame {clip.onset}")
        source = "detected" if eyes is not None else "canonical"
        eyes = eyes or canonical_eyes(w, h)
    t0 = add_time(timings, "face", t0)
    d = describe_clip_frames(frames, eyes=eyes, apex_index=apex_index, numbers=clip.numbers)
    add_time(timings, "describe", t0)
    out = d.to_dict()
    return {
        "input": str(input), "onset": out["onset"], "apex": out["apex"], "offset": out["offset"],
        "regions": out["regions"], "au_candidates": out["au_candidates"], "text": out["text"],
        "fps": clip.fps, "apex_chosen": d.apex_chosen, "threshold_px": round(d.threshold_px, 3), "face": box,
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
    console.print(f"region motion relative to the head, pixels at {SIZE} x {SIZE} (dx right, dy down); "
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
