"""Describe a micro-expression in words: how facial regions moved, and which Action Units fit.

The kernel behind ``mpt describe``. It measures motion; it does not recognise expressions. Its
parts live by concern: ``mpt_core.flow`` (optical flow and the head's motion removed from it),
``mpt_core.regions`` (where the 18 regions are: from 68 landmarks, or from the eyes) and
``mpt_core.au_rules`` (the AU rules on region motions, and the text).

Motion. Frames are converted to grey and resized to 224 x 224, then dense optical flow is
computed from the onset frame to the apex frame with OpenCV's DIS optical flow at its MEDIUM
preset (``cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)``) with one change:
its finest scale is 0 (full 224 resolution) instead of 1, which measures sub-pixel local
motion about twice as faithfully (see ``flow.dis_flow``). DIS ships with ``opencv-python-headless``;
TV-L1, the usual choice in micro-expression papers, needs opencv-contrib. To depend less on
one frame's noise, the flow is the mean of the flows from the onset to the apex and to its
two neighbours (where the clip has them). Without an apex, the apex is the frame, among 16
spread over the clip, whose region displacements relative to the onset have the largest sum
of squares (the motion energy); that search uses the preset as it is, at a quarter the cost.

The transient part. A micro-expression comes and goes: at its annotated offset the face is back at
rest, while what moves the face besides it (an out-of-plane head rotation the similarity fit below leaves,
a slow change of posture or skin) builds up steadily over the 0.2-0.5 s. Given the offset
(``offset_index``, at least two frame numbers after the apex), each region's motion is taken relative to the
straight line from the onset to the offset: apex motion minus ``w`` times the motion from the onset to
the offset, ``w`` = (apex - onset) / (offset - onset) in frame numbers. An expression that is back at
rest at the offset keeps its whole apex motion; steady drift cancels. Without an offset (``mpt
describe`` given no ``--offset``: the clip's last frame need not be at rest) the motion is from the onset.

Head motion. A similarity transform (scale, rotation, translation) is fitted to the flow
over the whole face by iteratively reweighted least squares with Tukey weights, so the few
pixels that carry the expression do not pull the fit; the fitted field is subtracted and
what is left is motion relative to the head. (``mpt describe`` stabilises the frames first, by
tracking the landmarks: this fit then removes what the stabilisation left.)

Regions. 18 boxes placed from the onset frame's 68 landmarks (``regions.LANDMARK_REGIONS``), or,
without landmarks, relative to the eyes (``regions.REGIONS``). ``left`` and ``right`` are the
image's left and right (the viewer's, so ``_left`` is the subject's right side). Each region
reports its mean residual displacement (dx, dy) in pixels at 224 (image axes, y down), its
magnitude, and a direction in words from eight 45-degree sectors in the face frame: up, down,
inward (toward the face's vertical midline), outward, and combinations such as "up and outward".
Regions on the midline say left/right instead of inward/outward. A region below the threshold
is "still".

Threshold. A region moves when its magnitude is at least ``max(MIN_PX, NOISE_K * noise,
BACKGROUND_K * background)``.
``noise`` is the robust spread (1.4826 x MAD per axis, combined) of region-sized means of the
residual flow across the face between the onset and the next frame, where the face has not
yet moved: what a region mean looks like when nothing moves. ``background`` is the median
magnitude of the 18 regions from the onset to the apex: how much this face moves anyway (a real
face moves 0.2-0.8 px everywhere between onset and apex, skin, other muscles, head rotations a
similarity fit leaves; an expression moves a few of the 18 regions, so the median stays with the rest).
``MIN_PX`` covers what both miss (the error of the flow itself grows with motion). A static clip
therefore yields no candidates, and a noisy or restless face needs more motion to yield one.

AU candidates: the rules in ``mpt_core.au_rules`` (documented there). ``AU_FAMILIES`` groups AUs
whose motion looks alike at this resolution; ``au_families`` parses annotation AU strings into
those groups for evaluation. These are motion-based candidates, not a trained AU detector.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace

import numpy as np

from .au_rules import AU_FAMILIES, AU_NAMES, AUCandidate, au_families, describe_text, fire_rules
from .flow import SIZE, dis_flow, grey_at_size, noise_floor, remove_head_motion
from .regions import (
    LANDMARK_REGIONS,
    REGION_ORDER,
    REGIONS,
    DescribeError,
    Region,
    eye_frame,
    landmark_boxes,
    landmark_eyes,
    region_boxes,
    words,
)

__all__ = [
    "AU_FAMILIES", "AU_NAMES", "LANDMARK_REGIONS", "REGIONS", "REGION_ORDER", "SIZE", "AUCandidate",
    "DescribeError", "Description", "Region", "au_families", "describe_motion", "dis_flow", "landmark_boxes",
    "region_boxes", "remove_head_motion",
]

MIN_PX = 0.25  # absolute floor on a moving region's mean displacement, pixels at 224
NOISE_K = 4.0  # ... and this many times the region-level noise spread
BACKGROUND_K = 2.0  # ... and this many times the median motion of the face's 18 regions (its background)
PAIR_K = 0.5  # both regions of a left/right pair moving alike: each moves from this fraction of the threshold
GROUP_K = 0.6  # the inner brows and the glabella all moving down: they move from this mean, x the threshold
BROW_LOWERER_GROUP = ("brow_inner_left", "brow_inner_right", "glabella")
APEX_CANDIDATES = 16  # frames sampled when searching the apex by motion energy


@dataclass(frozen=True)
class Description:
    onset: int
    apex: int
    offset: int
    apex_chosen: str  # "given" or "max motion energy"
    regions: tuple[Region, ...]
    au_candidates: tuple[AUCandidate, ...]
    text: str
    threshold_px: float = 0.0  # a region moved when its magnitude reached this
    placed_by: str = "eyes"  # "landmarks" or "eyes": what placed the regions
    to_offset: bool = False  # motion relative to the line from the onset to the offset (the transient part)

    def to_dict(self) -> dict:
        return {
            "onset": self.onset, "apex": self.apex, "offset": self.offset,
            "regions": [{k: round(v, 3) if isinstance(v, float) else v for k, v in asdict(r).items()}
                        for r in self.regions],
            "au_candidates": [{"au": c.au, "evidence_px": round(c.evidence_px, 3), "regions": list(c.regions)}
                              for c in self.au_candidates],
            "text": self.text,
        }


# helpers


def _face_box(eyes) -> tuple[slice, slice]:
    """Rows and columns of the face area the head motion and the noise are measured on."""
    mid, _, _, d = eye_frame(eyes)
    x0, x1 = np.clip(np.rint([mid[0] - 1.1 * d, mid[0] + 1.1 * d]), 0, SIZE).astype(int)
    y0, y1 = np.clip(np.rint([mid[1] - 0.6 * d, mid[1] + 1.5 * d]), 0, SIZE).astype(int)
    return slice(y0, y1), slice(x0, x1)


def region_motions(means: dict, u, v, threshold: float) -> dict[str, Region]:
    """{name: Region} from each region's mean displacement ``means[name] = (dx, dy)`` (pixels at 224) and
    the face frame (``u`` along the eyes, ``v`` down). A region moves from ``threshold``; the two regions of
    a left/right pair also move from ``PAIR_K * threshold`` (and ``MIN_PX``) when they move alike, mirrored (within 45
    degrees): the background motion of a real face is not symmetric, most AUs are, so agreeing sides are
    evidence. The same holds for the brow lowerer's three regions (``BROW_LOWERER_GROUP``, AU4): when all three
    move down (image y) by ``GROUP_K * threshold`` on average, all three move, though each alone stays within the
    face's background (three regions' background motion does not agree in direction, and its mean spreads less)."""
    local = {}  # name -> (across, down, side) in the face frame
    for name, (dx, dy) in means.items():
        side = -1 if name.endswith("_left") else 1 if name.endswith("_right") else 0
        local[name] = (dx * u[0] + dy * u[1], dx * v[0] + dy * v[1], side)
    regions = {}
    for name, (dx, dy) in means.items():
        across, down, side = local[name]
        mag = math.hypot(dx, dy)
        moving = mag >= threshold
        if not moving and side:
            other = name.rsplit("_", 1)[0] + ("_right" if side < 0 else "_left")
            o_across, o_down, _ = local.get(other, (0.0, 0.0, 0))
            o_mag = math.hypot(o_across, o_down)
            # mirrored: the other side's sideways motion flips sign
            cosine = (-across * o_across + down * o_down) / max(mag * o_mag, 1e-12)
            moving = min(mag, o_mag) >= max(PAIR_K * threshold, MIN_PX) and cosine >= math.cos(math.radians(45))
        regions[name] = Region(name, dx, dy, mag, words(across, down, side) if moving else "still")
    downs = [means[n][1] for n in BROW_LOWERER_GROUP if n in means]
    if len(downs) == 3 and min(downs) > 0 and float(np.mean(downs)) >= GROUP_K * threshold > 0:
        for name in BROW_LOWERER_GROUP:
            if regions[name].direction == "still":
                across, down, side = local[name]
                regions[name] = replace(regions[name], direction=words(across, down, side))
    return regions


# the kernel


def describe_motion(frames, *, eyes=None, landmarks=None, onset_index: int = 0, apex_index: int | None = None,
                    offset_index: int | None = None, numbers=None) -> Description:
    """Describe one aligned face clip ``frames`` (N, H, W, 3) uint8 RGB. The regions are placed from
    ``landmarks`` (68, 2) of the onset frame when given, else from ``eyes`` = ((x, y), (x, y)); both
    in the frames' pixels. ``numbers`` (N,) are frame numbers for reporting (default 0..N-1).
    Without ``apex_index`` the apex is the frame of maximum motion energy relative to the onset.
    ``offset_index``: the annotated offset, where the face is back at rest; when it is at least two frame
    numbers after the apex, motion is measured relative to the line from the onset to it (the module's docstring)."""
    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8 or len(frames) < 2:
        raise DescribeError(f"frames {frames.shape} {frames.dtype}: expected (N >= 2, H, W, 3) uint8 RGB")
    n, h, w = frames.shape[:3]
    numbers = list(range(n)) if numbers is None else [int(x) for x in numbers]
    if len(numbers) != n:
        raise DescribeError(f"numbers: {len(numbers)} frame numbers for {n} frames")
    for what, i in (("onset_index", onset_index), ("apex_index", apex_index), ("offset_index", offset_index)):
        if i is not None and not 0 <= i < n:
            raise DescribeError(f"{what} {i}: outside the clip's {n} frames")
    if apex_index == onset_index:
        raise DescribeError(f"apex_index {apex_index} equals onset_index: there is no motion to describe")
    if landmarks is not None:
        points = np.asarray(landmarks, dtype=np.float64)
        if points.shape != (68, 2):
            raise DescribeError(f"landmarks {points.shape}: expected (68, 2) points of dlib's scheme (the 5-point "
                                f"model places no regions)")
        eyes = landmark_eyes(points)
    elif eyes is None:
        raise DescribeError("pass the onset frame's 68 landmarks or its eyes ((left x, left y), (right x, right y))")
    try:
        (lx, ly), (rx, ry) = eyes
    except (TypeError, ValueError):
        raise DescribeError(f"eyes {eyes!r}: expected ((left x, left y), (right x, right y))") from None
    if not all(0 <= x < w and 0 <= y < h for x, y in ((lx, ly), (rx, ry))):
        raise DescribeError(f"eyes {eyes}: outside the {w} x {h} frame")
    eyes224 = ((lx * SIZE / w, ly * SIZE / h), (rx * SIZE / w, ry * SIZE / h))
    if landmarks is not None:
        boxes = landmark_boxes(points * (SIZE / w, SIZE / h))
    else:
        boxes = region_boxes(eyes224)
    face = _face_box(eyes224)
    window = max(3, int(round(np.median([min(x1 - x0, y1 - y0) for x0, y0, x1, y1 in boxes.values()]))))
    grey = [None] * n
    fine, coarse = dis_flow(full_resolution=True), dis_flow(full_resolution=False)

    def residual(t, dis=fine):
        for i in (onset_index, t):
            if grey[i] is None:
                grey[i] = grey_at_size(frames[i])
        flow = dis.calc(grey[onset_index], grey[t], None)  # (224, 224, 2): content motion at onset pixels
        return remove_head_motion(flow, face)

    def box_means(field) -> dict:
        """{region: its mean displacement (dx, dy)} of a (224, 224, 2) field."""
        return {name: field[y0:y1, x0:x1].mean((0, 1)) for name, (x0, y0, x1, y1) in boxes.items()}

    if apex_index is None:
        apex_chosen = "max motion energy"
        others = [t for t in range(n) if t != onset_index]
        step = max(1, math.ceil(len(others) / APEX_CANDIDATES))

        def energy(t):
            return sum(float(np.sum(m**2)) for m in box_means(residual(t, coarse)).values())

        apex_index = max(others[::step], key=energy)
    else:
        apex_chosen = "given"
    near = [t for t in (apex_index - 1, apex_index, apex_index + 1) if 0 <= t < n and t != onset_index]
    res = np.mean([residual(t) for t in near], 0)  # (224, 224, 2)
    # the noise: the onset's neighbour, where the face has barely moved yet (or, for a clip
    # too short to have one apart from the apex, the apex field itself; robust, but less clean)
    quiet = next((t for t in (onset_index + 1, onset_index - 1) if 0 <= t < n and t not in near), None)
    noise = noise_floor(residual(quiet) if quiet is not None else res, face, window=window)
    means = {name: tuple(float(c) for c in m) for name, m in box_means(res).items()}
    to_offset = (offset_index is not None and offset_index > apex_index
                 and numbers[offset_index] - numbers[apex_index] >= 2 and numbers[apex_index] > numbers[onset_index])
    if to_offset:
        # the transient part: minus the drift along the line from the onset to the offset, at the apex's time
        w = (numbers[apex_index] - numbers[onset_index]) / (numbers[offset_index] - numbers[onset_index])
        end = box_means(residual(offset_index))
        means = {name: (dx - w * float(end[name][0]), dy - w * float(end[name][1])) for name, (dx, dy) in means.items()}
    background = float(np.median([math.hypot(dx, dy) for dx, dy in means.values()]))
    threshold = max(MIN_PX, NOISE_K * noise, BACKGROUND_K * background)

    _, u, v, _ = eye_frame(eyes224)
    regions = region_motions(means, u, v, threshold)
    candidates = fire_rules(regions, threshold)
    apex = numbers[apex_index]
    return Description(
        onset=numbers[onset_index], apex=apex, offset=numbers[-1], apex_chosen=apex_chosen,
        regions=tuple(regions.values()), au_candidates=tuple(candidates),
        text=describe_text(regions, candidates, apex_chosen, apex, threshold, numbers[offset_index] if to_offset else None),
        threshold_px=threshold, placed_by="eyes" if landmarks is None else "landmarks", to_offset=to_offset,
    )
