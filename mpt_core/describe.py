"""Describe a micro-expression in words: how facial regions moved, and which Action Units fit.

The kernel behind ``mpt describe``. It measures motion; it does not recognise expressions.

Motion. Frames are converted to grey and resized to 224 x 224, then dense optical flow is
computed from the onset frame to the apex frame with OpenCV's DIS optical flow at its MEDIUM
preset (``cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)``) with one change:
its finest scale is 0 (full 224 resolution) instead of 1, which measures sub-pixel local
motion about twice as faithfully (see ``dis_flow``). DIS ships with ``opencv-python-headless``;
TV-L1, the usual choice in micro-expression papers, needs opencv-contrib. To depend less on
one frame's noise, the flow is the mean of the flows from the onset to the apex and to its
two neighbours (where the clip has them). Without an apex, the apex is the frame, among 16
spread over the clip, whose region displacements relative to the onset have the largest sum
of squares (the motion energy); that search uses the preset as it is, at a quarter the cost.

Head motion. A similarity transform (scale, rotation, translation) is fitted to the flow
over the whole face by iteratively reweighted least squares with Tukey weights, so the few
pixels that carry the expression do not pull the fit; the fitted field is subtracted and
what is left is motion relative to the head.

Regions. ``REGIONS`` places 18 boxes relative to the eyes, in units of the inter-ocular
distance ``d`` (from the eye midpoint: across along the eye line, down perpendicular to it),
with human proportions: brows 0.3 d above the eyes, the nose sides 0.45 d below, the mouth
corners 1.0 d below and 0.45 d to the side. ``left`` and ``right`` are the image's left and
right (the viewer's, so ``_left`` is the subject's right side). Each region reports its mean
residual displacement (dx, dy) in pixels at 224 (image axes, y down), its magnitude, and a
direction in words from eight 45-degree sectors in the face frame: up, down, inward (toward
the face's vertical midline), outward, and combinations such as "up and outward". Regions on
the midline say left/right instead of inward/outward. A region below the threshold is "still".

Threshold. A region moves when its magnitude is at least ``max(MIN_PX, NOISE_K * noise)``.
``noise`` is the robust spread (1.4826 x MAD per axis, combined) of region-sized means of the
residual flow across the face between the onset and the next frame, where the face has not
yet moved: what a region mean looks like when nothing moves. ``MIN_PX`` covers what that
misses (the error of the flow itself grows with motion). A static clip therefore yields no
candidates, and a noisy clip needs more motion to yield one.

Action Unit rules (on moving regions only; "up" etc. means the region's direction contains
that word; evidence = mean magnitude of the regions that fired, in pixels at 224). Neighbouring
skin is dragged along, so some rules compare a region with the one that could have dragged it:

- AU1 inner brow raiser: an inner brow moves up.
- AU2 outer brow raiser: an outer brow moves up.
- AU4 brow lowerer: an inner brow moves down and/or inward (not up), or the glabella moves down.
- AU5 upper lid raiser: an upper eyelid moves up, and more than the brows on its side.
- AU6 cheek raiser: a cheek moves up.
- AU7 lid tightener: a lower eyelid moves up while its cheek is still or rises less than half
  as much; or an upper eyelid moves down (more than its brows) while its lower eyelid moves up.
- AU45 blink: an upper eyelid moves down, more than its brows, while its lower eyelid does not
  move up.
- AU9 nose wrinkler: a nose side moves up.
- AU10 upper lip raiser: the upper lip moves up, and more than the lower lip.
- AU12 lip corner puller: a lip corner moves up or up and outward, and more up than the upper lip.
- AU14 dimpler: a lip corner moves inward or up and inward.
- AU15 lip corner depressor: a lip corner moves down (alone or with inward/outward).
- AU17 chin raiser: the chin moves up; or the lower lip moves up, more than the upper lip,
  while the upper lip does not move down.
- AU24 lip pressor: the upper lip moves down and the lower lip up (the lips press together).

``AU_FAMILIES`` groups AUs whose motion looks alike at this resolution; ``au_families``
parses annotation AU strings into those groups for evaluation. These are motion-based
candidates, not a trained AU detector.
"""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass

import cv2
import numpy as np

SIZE = 224  # frames are resized to SIZE x SIZE; every pixel figure is at this size
MIN_PX = 0.25  # absolute floor on a moving region's mean displacement, pixels at 224
NOISE_K = 4.0  # ... and this many times the region-level noise spread
APEX_CANDIDATES = 16  # frames sampled when searching the apex by motion energy

# name: (across, down, width, height) in inter-ocular distances; across > 0 is away from the
# midline on the region's side (the _right box mirrors the _left one about the eye midpoint).
REGIONS = {
    "brow_inner": (0.22, -0.30, 0.26, 0.22),
    "brow_outer": (0.62, -0.30, 0.30, 0.22),
    "glabella": (0.0, -0.22, 0.16, 0.20),
    "upper_eyelid": (0.5, -0.10, 0.32, 0.10),
    "lower_eyelid": (0.5, 0.12, 0.32, 0.10),
    "cheek": (0.55, 0.40, 0.30, 0.26),
    "nose_side": (0.20, 0.45, 0.20, 0.36),
    "upper_lip": (0.0, 0.88, 0.40, 0.14),
    "lip_corner": (0.45, 0.98, 0.22, 0.22),
    "lower_lip": (0.0, 1.08, 0.40, 0.14),
    "chin": (0.0, 1.30, 0.50, 0.24),
}
PAIRED = ("brow_inner", "brow_outer", "upper_eyelid", "lower_eyelid", "cheek", "nose_side", "lip_corner")
REGION_ORDER = (
    "brow_inner_left", "brow_inner_right", "brow_outer_left", "brow_outer_right", "glabella",
    "upper_eyelid_left", "upper_eyelid_right", "lower_eyelid_left", "lower_eyelid_right",
    "cheek_left", "cheek_right", "nose_side_left", "nose_side_right", "upper_lip",
    "lip_corner_left", "lip_corner_right", "lower_lip", "chin",
)
AU_NAMES = {
    1: "inner brow raiser", 2: "outer brow raiser", 4: "brow lowerer", 5: "upper lid raiser",
    6: "cheek raiser", 7: "lid tightener", 9: "nose wrinkler", 10: "upper lip raiser",
    12: "lip corner puller", 14: "dimpler", 15: "lip corner depressor", 17: "chin raiser",
    24: "lip pressor", 45: "blink",
}
AU_FAMILIES = [{1, 2}, {4}, {5, 7, 45}, {6}, {9, 10}, {12}, {14}, {15}, {17}, {24}]


class DescribeError(ValueError):
    """Input that cannot be described (wrong shape, eyes outside the frame, bad indices)."""


@dataclass(frozen=True)
class Region:
    name: str
    dx: float  # mean displacement relative to the head, pixels at 224, image x (right)
    dy: float  # ... image y (down)
    magnitude: float
    direction: str  # "up", "down and inward", ... or "still"


@dataclass(frozen=True)
class AUCandidate:
    au: str  # "AU12"
    name: str  # "lip corner puller"
    evidence_px: float  # mean magnitude of the regions that fired, pixels at 224
    regions: tuple[str, ...]


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


def au_families(aus) -> set[int]:
    """Indices into ``AU_FAMILIES`` named by an annotation AU string ("4+L10", "R12", "AU12",
    "1A+2B", "(R6 or R12)+R15", an int) or a list of them; side, intensity and unknown AUs are ignored."""
    items = aus if isinstance(aus, (list, tuple, set)) else [aus]
    numbers = {int(n) for item in items for n in re.findall(r"\d+", str(item))}
    return {i for i, family in enumerate(AU_FAMILIES) if family & numbers}


def _eye_frame(eyes):
    """Eye midpoint, unit vector along the eye line (left to right), unit 'down', distance."""
    (lx, ly), (rx, ry) = sorted((tuple(map(float, e)) for e in eyes))
    d = math.hypot(rx - lx, ry - ly)
    if not d > 0:
        raise DescribeError(f"eyes {eyes}: both eyes at the same point; pass ((left x, left y), (right x, right y))")
    u = np.array([rx - lx, ry - ly]) / d
    return np.array([(lx + rx) / 2, (ly + ry) / 2]), u, np.array([-u[1], u[0]]), d


def region_boxes(eyes, size: int = SIZE) -> dict[str, tuple[int, int, int, int]]:
    """{region name: (x0, y0, x1, y1)} in pixels of a ``size`` frame (x1, y1 exclusive), placed
    from ``REGIONS`` relative to ``eyes`` = ((x, y), (x, y)) and clipped to the frame."""
    mid, u, v, d = _eye_frame(eyes)
    boxes = {}
    for stem, (across, down, w, h) in REGIONS.items():
        for side, suffix in ((-1, "_left"), (1, "_right")) if stem in PAIRED else ((0, ""),):
            cx, cy = mid + (side * across) * d * u + down * d * v
            x0, x1 = np.clip(np.rint([cx - w * d / 2, cx + w * d / 2]), 0, size).astype(int)
            y0, y1 = np.clip(np.rint([cy - h * d / 2, cy + h * d / 2]), 0, size).astype(int)
            if x1 - x0 < 1 or y1 - y0 < 1:
                raise DescribeError(f"eyes {eyes}: region {stem}{suffix} falls outside the {size} px frame; "
                                    "are the eye positions in this frame's pixels?")
            boxes[stem + suffix] = (int(x0), int(y0), int(x1), int(y1))
    return {name: boxes[name] for name in REGION_ORDER}


def _grey224(frame: np.ndarray) -> np.ndarray:
    grey = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)
    shrink = grey.shape[0] > SIZE or grey.shape[1] > SIZE
    return cv2.resize(grey, (SIZE, SIZE), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)


def _face_box(eyes) -> tuple[slice, slice]:
    """Rows and columns of the face area the head motion and the noise are measured on."""
    mid, _, _, d = _eye_frame(eyes)
    x0, x1 = np.clip(np.rint([mid[0] - 1.1 * d, mid[0] + 1.1 * d]), 0, SIZE).astype(int)
    y0, y1 = np.clip(np.rint([mid[1] - 0.6 * d, mid[1] + 1.5 * d]), 0, SIZE).astype(int)
    return slice(y0, y1), slice(x0, x1)


def remove_head_motion(flow: np.ndarray, box: tuple[slice, slice], *, step: int = 2, iterations: int = 6) -> np.ndarray:
    """``flow`` (H, W, 2) minus the similarity transform fitted robustly (Tukey IRLS) inside ``box``.

    The field of a small similarity is ``d_x = a x - b y + t_x``, ``d_y = b x + a y + t_y``:
    linear in (a, b, t_x, t_y), so each reweighting is a 4 x 4 weighted least-squares solve.
    """
    h, w = flow.shape[:2]
    ys, xs = np.mgrid[box[0].start : box[0].stop : step, box[1].start : box[1].stop : step]
    x, y = xs.ravel() - w / 2.0, ys.ravel() - h / 2.0  # centred for conditioning
    f = flow[box[0].start : box[0].stop : step, box[1].start : box[1].stop : step].reshape(-1, 2).astype(np.float64)
    one, zero = np.ones_like(x), np.zeros_like(x)
    ax = np.stack([x, -y, one, zero], 1)  # (P, 4): rows of d_x
    ay = np.stack([y, x, zero, one], 1)  # (P, 4): rows of d_y
    weight = np.ones(len(x))
    for _ in range(iterations):
        normal = (ax * weight[:, None]).T @ ax + (ay * weight[:, None]).T @ ay  # (4, 4)
        rhs = (ax * weight[:, None]).T @ f[:, 0] + (ay * weight[:, None]).T @ f[:, 1]  # (4,)
        p = np.linalg.solve(normal + 1e-9 * np.eye(4), rhs)
        r = np.hypot(f[:, 0] - ax @ p, f[:, 1] - ay @ p)
        scale = max(1.4826 * np.median(r), 0.01)
        weight = np.clip(1 - (r / (4.685 * scale)) ** 2, 0, None) ** 2
    gx = np.arange(w, dtype=np.float32) - np.float32(w / 2.0)
    gy = np.arange(h, dtype=np.float32)[:, None] - np.float32(h / 2.0)
    model = np.stack([p[0] * gx - p[1] * gy + p[2], p[1] * gx + p[0] * gy + p[3]], -1)  # (H, W, 2)
    return flow - model.astype(flow.dtype)


def noise_floor(residual: np.ndarray, box: tuple[slice, slice], *, window: int) -> float:
    """Robust spread of region-sized means of the residual flow across the face, pixels."""
    means = cv2.blur(residual, (window, window))[box].reshape(-1, 2)  # (P, 2)
    mad = np.median(np.abs(means - np.median(means, 0)), 0)
    return float(np.hypot(*(1.4826 * mad)))


def _words(across: float, down: float, side: int) -> str:
    """Eight 45-degree sectors: a component counts when it is at least tan(22.5 deg) of the other."""
    k = math.tan(math.radians(22.5))
    vert = ("down" if down > 0 else "up") if abs(down) >= k * abs(across) else ""
    if abs(across) < k * abs(down):
        horiz = ""
    elif side == 0:
        horiz = "right" if across > 0 else "left"
    else:
        horiz = "outward" if across * side > 0 else "inward"
    return " and ".join(w for w in (vert, horiz) if w)


def dis_flow(*, full_resolution: bool = True):
    """DIS at the MEDIUM preset; ``full_resolution`` lowers its finest scale from 1 to 0.

    At the preset's finest scale (1) the flow is computed at 112 x 112 and upsampled, which
    on a 224 face smooths a 1 px brow or lip-corner movement over its static surroundings:
    on warped photographs it measured 20-60 % of the true regional displacement. At scale 0
    it measured 75-100 %, for about 4x the time. The apex search, which only ranks frames,
    keeps the cheaper preset as it is.
    """
    dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
    if full_resolution:
        dis.setFinestScale(0)
    return dis


# the AU rules (the module docstring states them) and the text


def _fire(regions: dict[str, Region]) -> list[AUCandidate]:
    moving = {n: r for n, r in regions.items() if r.direction != "still"}

    def has(name, *words):
        r = moving.get(name)
        return r is not None and any(w in r.direction.split(" and ") for w in words)

    def up_px(name):
        return -regions[name].dy

    fired: dict[int, list[str]] = {}
    for s in ("_left", "_right"):
        brow_up = (up_px("brow_inner" + s) + up_px("brow_outer" + s)) / 2
        if has("brow_inner" + s, "up"):
            fired.setdefault(1, []).append("brow_inner" + s)
        if has("brow_outer" + s, "up"):
            fired.setdefault(2, []).append("brow_outer" + s)
        if has("brow_inner" + s, "down", "inward") and not has("brow_inner" + s, "up"):
            fired.setdefault(4, []).append("brow_inner" + s)
        # an eyelid counts only where it moves more than the skin it hangs from (brow, cheek)
        if has("upper_eyelid" + s, "up") and up_px("upper_eyelid" + s) > brow_up:
            fired.setdefault(5, []).append("upper_eyelid" + s)
        if has("cheek" + s, "up"):
            fired.setdefault(6, []).append("cheek" + s)
        lower_up = has("lower_eyelid" + s, "up")
        if lower_up and ("cheek" + s not in moving or up_px("lower_eyelid" + s) > 2 * up_px("cheek" + s)):
            fired.setdefault(7, []).append("lower_eyelid" + s)
        if has("upper_eyelid" + s, "down") and -up_px("upper_eyelid" + s) > -brow_up:
            fired.setdefault(7 if lower_up else 45, []).append("upper_eyelid" + s)
        if has("nose_side" + s, "up"):
            fired.setdefault(9, []).append("nose_side" + s)
        if has("lip_corner" + s, "up") and not has("lip_corner" + s, "inward") and up_px("lip_corner" + s) > up_px("upper_lip"):
            fired.setdefault(12, []).append("lip_corner" + s)
        if has("lip_corner" + s, "inward") and not has("lip_corner" + s, "down"):
            fired.setdefault(14, []).append("lip_corner" + s)
        if has("lip_corner" + s, "down"):
            fired.setdefault(15, []).append("lip_corner" + s)
    if has("glabella", "down"):
        fired.setdefault(4, []).append("glabella")
    # the lips drag each other: of two rising lips, the one that rose more was pulled
    if has("upper_lip", "up") and up_px("upper_lip") > up_px("lower_lip"):
        fired.setdefault(10, []).append("upper_lip")
    if has("chin", "up"):
        fired.setdefault(17, []).append("chin")
    if has("lower_lip", "up") and up_px("lower_lip") > up_px("upper_lip") and not has("upper_lip", "down"):
        fired.setdefault(17, []).append("lower_lip")
    if has("upper_lip", "down") and has("lower_lip", "up"):
        fired.setdefault(24, []).extend(["upper_lip", "lower_lip"])
    return [AUCandidate(f"AU{au}", AU_NAMES[au], float(np.mean([regions[n].magnitude for n in names])), tuple(names))
            for au, names in sorted(fired.items())]


def _sentence(regions: dict[str, Region]) -> list[str]:
    """'the inner brows moved up 0.8 px' for pairs moving alike, else one phrase per region."""
    parts, done = [], set()
    for name in REGION_ORDER:
        r = regions[name]
        if name in done or r.direction == "still":
            continue
        stem = name.rsplit("_", 1)[0] if name.endswith(("_left", "_right")) else name
        nice = {"brow_inner": "inner brow", "brow_outer": "outer brow"}.get(stem, stem.replace("_", " "))
        other = regions.get(stem + "_right") if name.endswith("_left") else None
        if other is not None and other.direction == r.direction:
            done.add(other.name)
            parts.append(f"the {nice}s moved {r.direction} {(r.magnitude + other.magnitude) / 2:.1f} px")
        else:
            side = f"{name.rsplit('_', 1)[1]} " if stem != name else ""
            parts.append(f"the {side}{nice} moved {r.direction} {r.magnitude:.1f} px")
    return parts


def _text(regions, candidates, apex_chosen, apex, threshold) -> str:
    parts = _sentence(regions)
    if parts:
        motion = "Relative to the head, " + ", ".join(parts[:-1]) + (" and " if len(parts) > 1 else "") + parts[-1] + "."
    else:
        motion = f"Relative to the head, no facial region moved {threshold:.2f} px or more."
    aus = ", ".join(f"{c.au} ({c.name}, {c.evidence_px:.1f} px)" for c in candidates) or "none"
    where = (f"The apex is frame {apex}, as given." if apex_chosen == "given" else
             f"No apex was given: frame {apex}, the frame of maximum motion energy relative to the onset, is used as the apex.")
    return (f"{motion} Candidate AUs: {aus}. {where} A region counts as moving from {threshold:.2f} px "
            f"(pixels at {SIZE} x {SIZE}). These are motion-based candidates, not a trained AU detector.")


# the kernel


def describe_motion(frames, *, eyes, onset_index: int = 0, apex_index: int | None = None, numbers=None) -> Description:
    """Describe one aligned face clip ``frames`` (N, H, W, 3) uint8 RGB; ``eyes`` = ((x, y), (x, y))
    in that frame's pixels; ``numbers`` (N,) are frame numbers for reporting (default 0..N-1).
    Without ``apex_index`` the apex is the frame of maximum motion energy relative to the onset."""
    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8 or len(frames) < 2:
        raise DescribeError(f"frames {frames.shape} {frames.dtype}: expected (N >= 2, H, W, 3) uint8 RGB")
    n, h, w = frames.shape[:3]
    numbers = list(range(n)) if numbers is None else [int(x) for x in numbers]
    if len(numbers) != n:
        raise DescribeError(f"numbers: {len(numbers)} frame numbers for {n} frames")
    for what, i in (("onset_index", onset_index), ("apex_index", apex_index)):
        if i is not None and not 0 <= i < n:
            raise DescribeError(f"{what} {i}: outside the clip's {n} frames")
    if apex_index == onset_index:
        raise DescribeError(f"apex_index {apex_index} equals onset_index: there is no motion to describe")
    try:
        (lx, ly), (rx, ry) = eyes
    except (TypeError, ValueError):
        raise DescribeError(f"eyes {eyes!r}: expected ((left x, left y), (right x, right y))") from None
    if not all(0 <= x < w and 0 <= y < h for x, y in ((lx, ly), (rx, ry))):
        raise DescribeError(f"eyes {eyes}: outside the {w} x {h} frame")
    eyes224 = ((lx * SIZE / w, ly * SIZE / h), (rx * SIZE / w, ry * SIZE / h))
    boxes = region_boxes(eyes224)
    face = _face_box(eyes224)
    window = max(3, int(round(np.median([min(x1 - x0, y1 - y0) for x0, y0, x1, y1 in boxes.values()]))))
    grey = [None] * n
    fine, coarse = dis_flow(full_resolution=True), dis_flow(full_resolution=False)

    def residual(t, dis=fine):
        for i in (onset_index, t):
            if grey[i] is None:
                grey[i] = _grey224(frames[i])
        flow = dis.calc(grey[onset_index], grey[t], None)  # (224, 224, 2): content motion at onset pixels
        return remove_head_motion(flow, face)

    if apex_index is None:
        apex_chosen = "max motion energy"
        others = [t for t in range(n) if t != onset_index]
        step = max(1, math.ceil(len(others) / APEX_CANDIDATES))

        def energy(t):
            res = residual(t, coarse)
            return sum(float(np.sum(res[y0:y1, x0:x1].mean((0, 1)) ** 2)) for x0, y0, x1, y1 in boxes.values())

        apex_index = max(others[::step], key=energy)
    else:
        apex_chosen = "given"
    near = [t for t in (apex_index - 1, apex_index, apex_index + 1) if 0 <= t < n and t != onset_index]
    res = np.mean([residual(t) for t in near], 0)  # (224, 224, 2)
    # the noise: the onset's neighbour, where the face has barely moved yet (or, for a clip
    # too short to have one apart from the apex, the apex field itself; robust, but less clean)
    quiet = next((t for t in (onset_index + 1, onset_index - 1) if 0 <= t < n and t not in near), None)
    noise = noise_floor(residual(quiet) if quiet is not None else res, face, window=window)
    threshold = max(MIN_PX, NOISE_K * noise)

    _, u, v, _ = _eye_frame(eyes224)
    regions = {}
    for name, (x0, y0, x1, y1) in boxes.items():
        dx, dy = (float(c) for c in res[y0:y1, x0:x1].mean((0, 1)))
        mag = math.hypot(dx, dy)
        side = -1 if name.endswith("_left") else 1 if name.endswith("_right") else 0
        direction = _words(dx * u[0] + dy * u[1], dx * v[0] + dy * v[1], side) if mag >= threshold else "still"
        regions[name] = Region(name, dx, dy, mag, direction)
    candidates = _fire(regions)
    apex = numbers[apex_index]
    return Description(
        onset=numbers[onset_index], apex=apex, offset=numbers[-1], apex_chosen=apex_chosen,
        regions=tuple(regions.values()), au_candidates=tuple(candidates),
        text=_text(regions, candidates, apex_chosen, apex, threshold), threshold_px=threshold,
    )
