"""Motion-based Action Unit candidates: rules on the directions of region motions, and the text.

These are motion-based candidates, not a trained AU detector.

A region "moves" when its mean displacement reaches the clip's threshold (``mpt_core.describe``: above
the flow's noise and a multiple of the face's own background motion in this clip, the median motion of
its 18 regions), so evidence is always relative to how much this face moves anyway. "Up" etc. means the
region's direction contains that word; a rule's evidence is the mean magnitude of the regions that fired,
in pixels at 224. Neighbouring skin is dragged along and a nodding head moves the whole upper face, so the
eyelid and lip rules compare a region with the one that could have moved it ("relative" below: the
difference of the two regions' vertical motions, which must itself reach ``REL_K`` times the threshold):

- AU1 inner brow raiser: an inner brow moves up.
- AU2 outer brow raiser: an outer brow moves up.
- AU4 brow lowerer: an inner brow moves down and/or inward (not up), or the glabella moves down (the three
  also move together from less than the threshold: ``mpt_core.describe.region_motions``'s group).
- AU5 upper lid raiser: an upper eyelid moves up, and up relative to its brows.
- AU45 blink (lid closing): an upper eyelid moves down, down relative to its brows, and its lower eyelid
  does not rise; AU7 lid tightener: a lower eyelid moves up, and up relative to its cheek (a cheek raiser
  lifts the lid with the cheek), or the upper lid closes while the lower lid rises. A head that pitches
  moves brows and lids alike, which no relative rule takes for an eyelid AU.
- AU6 cheek raiser: a cheek moves up by the threshold on its own (not only with its pair), more than half as much as its lip corner rises (a lip corner
  puller drags the cheek up behind it) and at least three quarters as much as its lower eyelid (a lid
  tightener lifts the lid more than the cheek).
- AU9 nose wrinkler: a nose side moves up.
- AU10 upper lip raiser: the upper lip moves up, and more than the lower lip.
- AU12 lip corner puller: a lip corner moves up or up and outward, and more up than the upper lip.
- AU14 dimpler (FACS: the lip corners are pulled back and tightened, not up): a lip corner moves sideways,
  neither up nor down (pulled back around the face it shows outward in a frontal view, tightened inward).
- AU15 lip corner depressor: a lip corner moves down (alone or with inward/outward).
- AU17 chin raiser: the chin moves up; or the lower lip moves up, more than the upper lip, while the upper
  lip does not move down and the lips do not press together (AU24 below: the lower lip rising toward a
  descending upper lip is the pressor).
- AU24 lip pressor (FACS: the lips press together): the lips move toward each other by the threshold or
  more, the upper lip down (by a quarter of that at least) and the lower lip not down.

``AU_FAMILIES`` groups AUs whose motion looks alike at this resolution; ``au_families``
parses annotation AU strings into those groups for evaluation. These are motion-based
candidates, not a trained AU detector.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from .flow import SIZE
from .regions import REGION_ORDER, Region

AU_NAMES = {
    1: "inner brow raiser", 2: "outer brow raiser", 4: "brow lowerer", 5: "upper lid raiser",
    6: "cheek raiser", 7: "lid tightener", 9: "nose wrinkler", 10: "upper lip raiser",
    12: "lip corner puller", 14: "dimpler", 15: "lip corner depressor", 17: "chin raiser",
    24: "lip pressor", 45: "blink",
}
REL_K = 0.5  # an eyelid's motion relative to its brow or cheek counts from this fraction of the threshold
AU_FAMILIES = [{1, 2}, {4}, {5, 7, 45}, {6}, {9, 10}, {12}, {14}, {15}, {17}, {24}]


@dataclass(frozen=True)
class AUCandidate:
    au: str  # "AU12"
    name: str  # "lip corner puller"
    evidence_px: float  # mean magnitude of the regions that fired, pixels at 224
    regions: tuple[str, ...]


def au_families(aus) -> set[int]:
    """Indices into ``AU_FAMILIES`` named by an annotation AU string ("4+L10", "R12", "AU12",
    "1A+2B", "(R6 or R12)+R15", an int) or a list of them; side, intensity and unknown AUs are ignored."""
    items = aus if isinstance(aus, (list, tuple, set)) else [aus]
    numbers = {int(n) for item in items for n in re.findall(r"\d+", str(item))}
    return {i for i, family in enumerate(AU_FAMILIES) if family & numbers}


def fire_rules(regions: dict[str, Region], threshold: float = 0.0) -> list[AUCandidate]:
    """The AU candidates of one clip's ``regions`` (directions already set by ``threshold``, the clip's
    moving threshold in pixels at 224, which the relative rules also use)."""
    moving = {n: r for n, r in regions.items() if r.direction != "still"}

    def has(name, *words):
        r = moving.get(name)
        return r is not None and any(w in r.direction.split(" and ") for w in words)

    def up_px(name):
        return -regions[name].dy

    fired: dict[int, list[str]] = {}
    for s in ("_left", "_right"):
        brow_up = (up_px("brow_inner" + s) + up_px("brow_outer" + s)) / 2
        lid, low, cheek, corner = "upper_eyelid" + s, "lower_eyelid" + s, "cheek" + s, "lip_corner" + s
        if has("brow_inner" + s, "up"):
            fired.setdefault(1, []).append("brow_inner" + s)
        if has("brow_outer" + s, "up"):
            fired.setdefault(2, []).append("brow_outer" + s)
        if has("brow_inner" + s, "down", "inward") and not has("brow_inner" + s, "up"):
            fired.setdefault(4, []).append("brow_inner" + s)
        # an eyelid counts only where it moves relative to the skin it hangs from (brow, cheek) by the
        # threshold: a nod or a brow lowerer moves brows and lids together
        if has(lid, "up") and up_px(lid) - brow_up >= REL_K * threshold:
            fired.setdefault(5, []).append(lid)
        # the cheek is dragged by the lids and the lip corners: it needs the full threshold on its own
        if (has(cheek, "up") and regions[cheek].magnitude >= threshold and up_px(cheek) > 0.5 * max(up_px(corner), 0.0)
                and up_px(cheek) >= 0.75 * up_px(low)):
            fired.setdefault(6, []).append(cheek)
        lower_up = has(low, "up") and up_px(low) - max(up_px(cheek), 0.0) >= REL_K * threshold
        if lower_up:
            fired.setdefault(7, []).append(low)
        if has(lid, "down") and brow_up - up_px(lid) >= REL_K * threshold and not has(low, "down"):
            fired.setdefault(7 if lower_up else 45, []).append(lid)
        if has("nose_side" + s, "up"):
            fired.setdefault(9, []).append("nose_side" + s)
        if has(corner, "up") and not has(corner, "inward") and up_px(corner) > up_px("upper_lip"):
            fired.setdefault(12, []).append(corner)
        if moving.get(corner) is not None and moving[corner].direction in ("outward", "inward"):
            fired.setdefault(14, []).append(corner)
        if has(corner, "down"):
            fired.setdefault(15, []).append(corner)
    if has("glabella", "down"):
        fired.setdefault(4, []).append("glabella")
    # the lips drag each other: of two rising lips, the one that rose more was pulled
    if has("upper_lip", "up") and up_px("upper_lip") > up_px("lower_lip"):
        fired.setdefault(10, []).append("upper_lip")
    if has("chin", "up"):
        fired.setdefault(17, []).append("chin")
    closing = up_px("lower_lip") - up_px("upper_lip")  # the lips' approach, px
    if (closing >= max(threshold, 1e-9) and -up_px("upper_lip") >= 0.25 * closing and up_px("lower_lip") >= 0
            and ("upper_lip" in moving or "lower_lip" in moving)):
        fired.setdefault(24, []).extend(n for n in ("upper_lip", "lower_lip") if n in moving)
    # a lower lip rising toward a descending upper lip is the pressor (AU24); the chin raiser lifts it alone
    if (has("lower_lip", "up") and up_px("lower_lip") > up_px("upper_lip") and not has("upper_lip", "down")
            and 24 not in fired):
        fired.setdefault(17, []).append("lower_lip")
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


def describe_text(regions, candidates, apex_chosen, apex, threshold, offset=None) -> str:
    """``offset``: the offset frame the motion is relative to the drift toward (None: from the onset)."""
    parts = _sentence(regions)
    lead = "Relative to the head" + ("" if offset is None else f" and to its drift from the onset to the offset (frame {offset})")
    if parts:
        motion = f"{lead}, " + ", ".join(parts[:-1]) + (" and " if len(parts) > 1 else "") + parts[-1] + "."
    else:
        motion = f"{lead}, no facial region moved {threshold:.2f} px or more."
    aus = ", ".join(f"{c.au} ({c.name}, {c.evidence_px:.1f} px)" for c in candidates) or "none"
    where = (f"The apex is frame {apex}, as given." if apex_chosen == "given" else
             f"No apex was given: frame {apex}, the frame of maximum motion energy relative to the onset, is used as the apex.")
    return (f"{motion} Candidate AUs: {aus}. {where} A region counts as moving from {threshold:.2f} px "
            f"(pixels at {SIZE} x {SIZE}). These are motion-based candidates, not a trained AU detector.")
