"""The AU rules of issue 26: FACS directions for AU14 and AU24, eyelid AUs not taken from a nod, and
evidence relative to the face's own background motion (a restless face needs more motion)."""

import cv2
import numpy as np

from mpt_core.describe import BACKGROUND_K, describe_motion
from test_describe import APEX, EYES, aus, blob_field, box_centre, clip, texture


def centres(*names):
    return [box_centre(n) for n in names]


def test_dimpler_pulls_the_lip_corners_back_not_up():
    # FACS AU14: lip corners pulled back (outward in a frontal view) and tightened
    field = blob_field(centres("lip_corner_left", "lip_corner_right"), (1.0, 0.0), amp=1.2)
    d = describe_motion(clip(texture(6), field, noise=1.0), eyes=EYES, apex_index=APEX)
    assert aus(d) == {"AU14"}
    up = blob_field(centres("lip_corner_left", "lip_corner_right"), (0.6, -0.8), amp=1.2)
    assert "AU14" not in aus(describe_motion(clip(texture(6), up, noise=1.0), eyes=EYES, apex_index=APEX))
    down = blob_field(centres("lip_corner_left", "lip_corner_right"), (0.3, 1.0), amp=1.2)
    assert "AU14" not in aus(describe_motion(clip(texture(6), down, noise=1.0), eyes=EYES, apex_index=APEX))


def test_lip_pressor_moves_the_lips_toward_each_other():
    field = (blob_field([box_centre("upper_lip")], (0.0, 1.0), amp=0.9, sigma=8.0)
             + blob_field([box_centre("lower_lip")], (0.0, -1.0), amp=0.9, sigma=8.0))
    d = describe_motion(clip(texture(7), field, noise=1.0), eyes=EYES, apex_index=APEX)
    assert "AU24" in aus(d)
    # both lips moving up together is no pressing
    both_up = (blob_field([box_centre("upper_lip")], (0.0, -1.0), amp=0.9, sigma=8.0)
               + blob_field([box_centre("lower_lip")], (0.0, -1.0), amp=0.9, sigma=8.0))
    assert "AU24" not in aus(describe_motion(clip(texture(7), both_up, noise=1.0), eyes=EYES, apex_index=APEX))


def test_a_nod_moving_brows_and_lids_alike_is_no_eyelid_au():
    # the upper face moves down as one (head pitch the similarity fit leaves): brows and lids together
    upper = centres("brow_inner_left", "brow_inner_right", "brow_outer_left", "brow_outer_right",
                    "upper_eyelid_left", "upper_eyelid_right", "lower_eyelid_left", "lower_eyelid_right")
    field = blob_field(upper, (0.0, 1.0), amp=0.6, sigma=14.0)
    d = describe_motion(clip(texture(8), field, noise=1.0), eyes=EYES, apex_index=APEX)
    assert not aus(d) & {"AU5", "AU7", "AU45"}, d.text


def test_lids_closing_under_still_brows_is_the_eyelid_family():
    field = blob_field(centres("upper_eyelid_left", "upper_eyelid_right"), (0.0, 1.0), amp=1.2, sigma=6.0)
    d = describe_motion(clip(texture(9), field, noise=1.0), eyes=EYES, apex_index=APEX)
    assert aus(d) & {"AU45", "AU7"} and not aus(d) & {"AU1", "AU2", "AU4"}


def restless(seed: int, amp: float) -> np.ndarray:
    """Smooth random displacement over the whole face: skin moving everywhere by about ``amp`` px."""
    rng = np.random.default_rng(seed)
    f = np.stack([cv2.GaussianBlur(rng.standard_normal((224, 224)).astype(np.float32), (0, 0), 12) for _ in range(2)])
    return f * np.float32(amp / np.median(np.hypot(f[0], f[1])))


def test_evidence_is_relative_to_the_face_s_own_background_motion():
    corners = blob_field(centres("lip_corner_left", "lip_corner_right"), (0.6, -0.8), amp=0.7)
    still = describe_motion(clip(texture(10), corners, noise=1.0), eyes=EYES, apex_index=APEX)
    assert "AU12" in aus(still)
    evidence = next(c.evidence_px for c in still.au_candidates if c.au == "AU12")
    busy = describe_motion(clip(texture(10), corners + restless(3, 1.0), noise=1.0), eyes=EYES, apex_index=APEX)
    # every region moves: the threshold follows the median region, and what was evidence on a still face
    # is not on this one
    background = np.median([r.magnitude for r in busy.regions])
    assert busy.threshold_px >= BACKGROUND_K * background > still.threshold_px
    assert busy.threshold_px > evidence


def test_both_sides_moving_alike_count_below_the_threshold_one_side_does_not():
    from mpt_core.describe import PAIR_K, region_motions
    from mpt_core.regions import REGION_ORDER

    u, v, threshold = np.array([1.0, 0.0]), np.array([0.0, 1.0]), 0.8
    weak = (PAIR_K + 1) / 2 * threshold  # between the pair's threshold and the single region's
    still = {n: (0.0, 0.0) for n in REGION_ORDER}

    def direction(means, name="lip_corner_left"):
        return region_motions({**still, **means}, u, v, threshold)[name].direction

    assert direction({"lip_corner_left": (0.0, weak), "lip_corner_right": (0.0, weak)}) == "down"
    assert direction({"lip_corner_left": (0.0, weak)}) == "still"  # one side alone
    # mirrored: both corners outward (image left and image right) agree; both toward image left do not
    assert direction({"lip_corner_left": (-weak, 0.0), "lip_corner_right": (weak, 0.0)}) == "outward"
    assert direction({"lip_corner_left": (-weak, 0.0), "lip_corner_right": (-weak, 0.0)}) == "still"
    assert direction({"lip_corner_left": (0.0, threshold)}) == "down"  # the full threshold alone
    # a midline region has no pair
    assert direction({"upper_lip": (0.0, weak)}, "upper_lip") == "still"


# the transient part (motion relative to the face's drift from the onset to the offset)


def come_and_go(base, expression, drift, n=13, apex=5, noise=1.0, seed=2):
    """Frames 0..n-1: ``expression`` rises to the apex and is back at rest at the last frame (the
    offset); ``drift`` grows steadily from the onset to the last frame."""
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    env = np.where(t <= apex, 0.5 * (1 - np.cos(np.pi * t / apex)), 0.5 * (1 + np.cos(np.pi * (t - apex) / (n - 1 - apex))))
    gy, gx = np.mgrid[0:224, 0:224].astype(np.float32)
    frames = []
    for i in range(n):
        f = np.float32(env[i]) * expression + np.float32(i / (n - 1)) * drift
        img = cv2.remap(base, gx - f[0], gy - f[1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        frames.append(np.clip(img + rng.normal(0, noise, img.shape), 0, 255).astype(np.uint8))
    return np.stack(frames)


def test_steady_drift_cancels_against_the_offset_and_the_expression_stays():
    smile = blob_field(centres("lip_corner_left", "lip_corner_right"), (0.6, -0.8), amp=1.0)
    # the brows rise steadily through the clip (posture, a slow raise): 2.4 px by the offset, about 1 px at the apex
    brows = blob_field(centres("brow_inner_left", "brow_inner_right", "brow_outer_left", "brow_outer_right"),
                       (0.0, -1.0), amp=2.4, sigma=9.0)
    frames = come_and_go(texture(11), smile, brows)
    from_onset = describe_motion(frames, eyes=EYES, apex_index=5)
    transient = describe_motion(frames, eyes=EYES, apex_index=5, offset_index=12)
    assert {"AU1", "AU2"} & aus(from_onset), from_onset.text  # the drift reads as a brow raise from the onset
    assert not from_onset.to_offset and transient.to_offset
    assert "AU12" in aus(transient) and not {"AU1", "AU2"} & aus(transient), transient.text
    assert "offset (frame 12)" in transient.text


def test_an_expression_back_at_rest_keeps_its_motion_against_the_offset():
    smile = blob_field(centres("lip_corner_left", "lip_corner_right"), (0.6, -0.8), amp=1.0)
    frames = come_and_go(texture(12), smile, np.zeros_like(smile))
    a = {r.name: r.magnitude for r in describe_motion(frames, eyes=EYES, apex_index=5).regions}
    b = {r.name: r.magnitude for r in describe_motion(frames, eyes=EYES, apex_index=5, offset_index=12).regions}
    for name in ("lip_corner_left", "lip_corner_right"):
        assert a[name] > 0.5 and abs(b[name] - a[name]) <= 0.1 * a[name]


def test_an_offset_next_to_the_apex_is_not_used():
    smile = blob_field(centres("lip_corner_left", "lip_corner_right"), (0.6, -0.8), amp=1.0)
    frames = come_and_go(texture(12), smile, np.zeros_like(smile))
    assert not describe_motion(frames, eyes=EYES, apex_index=5, offset_index=6).to_offset


# rules on region motions


def fired(means: dict, threshold: float) -> set:
    from mpt_core.au_rules import fire_rules
    from mpt_core.describe import region_motions
    from mpt_core.regions import REGION_ORDER

    still = {n: (0.0, 0.0) for n in REGION_ORDER}
    regions = region_motions({**still, **means}, np.array([1.0, 0.0]), np.array([0.0, 1.0]), threshold)
    return {c.au for c in fire_rules(regions, threshold)}


def test_inner_brows_and_glabella_lowering_together_are_a_brow_lowerer():
    from mpt_core.describe import GROUP_K, region_motions
    from mpt_core.regions import REGION_ORDER

    thr = 0.8
    # each region alone is under the threshold, the pair under its share of it; together they agree
    weak = {"brow_inner_left": (0.0, 0.38), "brow_inner_right": (0.0, 0.38), "glabella": (0.0, 0.7)}
    assert np.mean([0.38, 0.38, 0.7]) >= GROUP_K * thr
    assert "AU4" in fired(weak, thr)
    # the three count as moving, so the text and mpt instruct's answers name the motion behind AU4
    regions = region_motions({**{n: (0.0, 0.0) for n in REGION_ORDER}, **weak}, np.array([1.0, 0.0]),
                             np.array([0.0, 1.0]), thr)
    assert all(regions[n].direction == "down" for n in weak)
    assert "AU4" not in fired({**weak, "brow_inner_right": (0.0, -0.05)}, thr)  # one of the three rises
    assert "AU4" not in fired({k: (0.0, 0.5 * dy) for k, (_, dy) in weak.items()}, thr)  # too little together


def test_a_lower_lip_rising_toward_a_descending_upper_lip_is_the_pressor_not_the_chin_raiser():
    pressing = {"lower_lip": (0.0, -0.3), "upper_lip": (0.0, 0.15)}
    assert fired(pressing, 0.25) >= {"AU24"} and "AU17" not in fired(pressing, 0.25)
    assert "AU17" in fired({"lower_lip": (0.0, -0.3)}, 0.25)  # the lower lip rising alone
