"""mpt_core.describe: region motion and motion-based AU candidates on clips with known motion."""

import math

import cv2
import numpy as np
import pytest

from mpt_core.describe import AU_FAMILIES, DescribeError, au_families, describe_motion, region_boxes

EYES = ((80.0, 90.0), (144.0, 90.0))  # level eyes, inter-ocular distance 64 px, midline x = 112
N = 9
APEX = 5


# helpers


def texture(seed=0, size=224):
    """A smooth random RGB texture with detail at several scales: something optical flow can track."""
    rng = np.random.default_rng(seed)
    grey = sum(cv2.GaussianBlur(rng.standard_normal((size, size)).astype(np.float32), (0, 0), s) * s for s in (1.5, 4, 10))
    grey = 128 + 45 * grey / grey.std()
    rgb = np.stack([grey, grey * 0.9 + 10, grey * 0.8 + 20], -1)
    return np.clip(rgb, 0, 255).astype(np.float32)


def blob_field(centres, direction, amp, sigma=11.0, size=224):
    """(2, H, W) displacement: Gaussian windows at ``centres``, ``direction`` = (outward, down)."""
    gy, gx = np.mgrid[0:size, 0:size].astype(np.float32)
    field = np.zeros((2, size, size), np.float32)
    for cx, cy in centres:
        w = np.exp(-((gx - cx) ** 2 + (gy - cy) ** 2) / (2 * sigma**2))
        field[0] += amp * direction[0] * (1 if cx > 112 else -1) * w
        field[1] += amp * direction[1] * w
    return field


def clip(base, field=None, shift=(0.0, 0.0), noise=0.0, seed=1):
    """N frames: content moved by envelope(t) * field plus a global shift growing to ``shift``."""
    rng = np.random.default_rng(seed)
    size = base.shape[0]
    gy, gx = np.mgrid[0:size, 0:size].astype(np.float32)
    env = np.sin(np.pi * np.arange(N) / (2 * APEX)).clip(0) ** 2  # 0 at the onset, 1 at the apex
    env[APEX + 1 :] = env[APEX - 1 :: -1][: N - APEX - 1]
    frames = []
    for t in range(N):
        f = np.float32(env[t]) * field if field is not None else np.zeros((2, size, size), np.float32)
        s = np.float32(t / (N - 1))
        map_x, map_y = gx - f[0] - s * np.float32(shift[0]), gy - f[1] - s * np.float32(shift[1])
        img = cv2.remap(base, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        frames.append(np.clip(img + rng.normal(0, noise, img.shape), 0, 255).astype(np.uint8))
    return np.stack(frames)


def box_centre(name):
    x0, y0, x1, y1 = region_boxes(EYES)[name]
    return (x0 + x1) / 2, (y0 + y1) / 2


def box_mean(field, name):
    x0, y0, x1, y1 = region_boxes(EYES)[name]
    return field[:, y0:y1, x0:x1].mean((1, 2))


def aus(description):
    return {c.au for c in description.au_candidates}


# tests


@pytest.mark.parametrize("noise", [0.0, 2.0])
def test_static_clip_has_no_candidates(noise):
    d = describe_motion(clip(texture(), noise=noise), eyes=EYES, apex_index=APEX)
    assert d.au_candidates == ()
    assert all(r.direction == "still" for r in d.regions)
    assert max(r.magnitude for r in d.regions) < 0.1
    assert "Candidate AUs: none" in d.text


def test_lip_corners_up_and_outward_give_au12():
    corners = [box_centre("lip_corner_left"), box_centre("lip_corner_right")]
    field = blob_field(corners, (0.6, -0.8), amp=1.2)
    d = describe_motion(clip(texture(), field, noise=1.0), eyes=EYES, apex_index=APEX, numbers=range(100, 100 + N))
    regions = {r.name: r for r in d.regions}
    assert regions["lip_corner_left"].direction == "up and outward"
    assert regions["lip_corner_right"].direction == "up and outward"
    assert aus(d) == {"AU12"}
    au12 = d.au_candidates[0]
    true = np.mean([math.hypot(*box_mean(field, n)) for n in ("lip_corner_left", "lip_corner_right")])
    assert abs(au12.evidence_px - true) <= 0.3 * true
    assert set(au12.regions) == {"lip_corner_left", "lip_corner_right"}
    assert (d.onset, d.apex, d.offset, d.apex_chosen) == (100, 100 + APEX, 100 + N - 1, "given")
    assert "AU12 (lip corner puller" in d.text and "not a trained AU detector" in d.text


def test_global_translation_is_removed():
    d = describe_motion(clip(texture(2), shift=(1.4, -0.9), noise=1.0), eyes=EYES, apex_index=APEX)
    assert d.au_candidates == ()
    assert max(r.magnitude for r in d.regions) < 0.15


def test_global_rotation_with_local_motion_keeps_only_the_local_motion():
    """A 0.8 degree roll about the frame centre moves the brows ~1 px; only the lip corners moved."""
    base = texture(3)
    corners = [box_centre("lip_corner_left"), box_centre("lip_corner_right")]
    moved = clip(base, blob_field(corners, (0.0, 1.0), amp=1.2), noise=1.0)
    rot = cv2.getRotationMatrix2D((112.0, 112.0), 0.8, 1.0)
    frames = moved.copy()
    frames[APEX - 1 : APEX + 2] = [cv2.warpAffine(f, rot, (224, 224), borderMode=cv2.BORDER_REFLECT) for f in moved[APEX - 1 : APEX + 2]]
    d = describe_motion(frames, eyes=EYES, apex_index=APEX)
    assert aus(d) == {"AU15"}


def test_brows_up_give_au1_and_au2():
    brows = [box_centre(n) for n in ("brow_inner_left", "brow_inner_right", "brow_outer_left", "brow_outer_right")]
    d = describe_motion(clip(texture(4), blob_field(brows, (0.0, -1.0), amp=1.0, sigma=9.0), noise=1.0),
                        eyes=EYES, apex_index=APEX)
    assert {"AU1", "AU2"} <= aus(d)
    assert au_families([c.au for c in d.au_candidates]) == {0}
    assert "the inner brows moved up" in d.text


def test_no_apex_finds_the_peak_and_says_so():
    corners = [box_centre("lip_corner_left"), box_centre("lip_corner_right")]
    d = describe_motion(clip(texture(5), blob_field(corners, (0.0, 1.0), amp=1.2), noise=1.0), eyes=EYES)
    assert d.apex_chosen == "max motion energy"
    assert abs(d.apex - APEX) <= 1
    assert "maximum motion energy" in d.text
    assert aus(d) == {"AU15"}
    out = d.to_dict()
    assert set(out) == {"onset", "apex", "offset", "regions", "au_candidates", "text"}
    assert set(out["regions"][0]) == {"name", "dx", "dy", "magnitude", "direction"}
    assert out["au_candidates"] == [{"au": "AU15", "evidence_px": out["au_candidates"][0]["evidence_px"],
                                     "regions": ["lip_corner_left", "lip_corner_right"]}]


def test_frames_of_another_size_are_resized():
    """The same motion on a 448 px clip (eyes in its pixels) reads in pixels at 224."""
    corners = [box_centre("lip_corner_left"), box_centre("lip_corner_right")]
    small = clip(texture(6), blob_field(corners, (0.0, 1.0), amp=1.2), noise=1.0)
    big = np.stack([cv2.resize(f, (448, 448), interpolation=cv2.INTER_CUBIC) for f in small])
    a = describe_motion(small, eyes=EYES, apex_index=APEX)
    b = describe_motion(big, eyes=tuple((2 * x, 2 * y) for x, y in EYES), apex_index=APEX)
    assert aus(a) == aus(b) == {"AU15"}
    assert b.au_candidates[0].evidence_px == pytest.approx(a.au_candidates[0].evidence_px, rel=0.25)


def test_region_boxes_inside_and_mirrored():
    boxes = region_boxes(EYES)
    assert len(boxes) == 18
    for x0, y0, x1, y1 in boxes.values():
        assert 0 <= x0 < x1 <= 224 and 0 <= y0 < y1 <= 224
    mid = (EYES[0][0] + EYES[1][0]) / 2
    for name, (x0, y0, x1, y1) in boxes.items():
        if name.endswith("_left"):
            rx0, ry0, rx1, ry1 = boxes[name.replace("_left", "_right")]
            assert abs((x0 + rx1) / 2 - mid) <= 1 and abs((x1 + rx0) / 2 - mid) <= 1
            assert (y0, y1) == (ry0, ry1)
            assert x1 <= mid + 1
        elif not name.endswith("_right"):
            assert abs((x0 + x1) / 2 - mid) <= 1
    # brows above the eyes, mouth below the nose, chin lowest
    assert boxes["brow_inner_left"][3] <= EYES[0][1] and boxes["chin"][1] > boxes["upper_lip"][3]


def test_au_families_parses_annotation_strings():
    assert AU_FAMILIES[1] == {4} and AU_FAMILIES[4] == {9, 10} and AU_FAMILIES[5] == {12}
    assert au_families("4+L10") == {1, 4}
    assert au_families("R12") == {5}
    assert au_families("AU12") == {5}
    assert au_families(12) == {5}
    assert au_families("1+2+4") == {0, 1}
    assert au_families("1A+2B+L14C") == {0, 6}
    assert au_families("(R6 or R12)+R15") == {3, 5, 7}
    assert au_families("T28+14") == {6}
    assert au_families(["AU45", "AU17", "AU24"]) == {2, 8, 9}
    assert au_families("?") == set() and au_families("25+26") == set() and au_families("") == set()


def test_bad_input_is_a_one_line_value_error():
    frames = clip(texture())
    with pytest.raises(DescribeError, match="outside the 224 x 224 frame"):
        describe_motion(frames, eyes=((80, 90), (300, 90)))
    with pytest.raises(ValueError, match="expected"):
        describe_motion(frames[..., 0], eyes=EYES)
    with pytest.raises(ValueError, match="equals onset_index"):
        describe_motion(frames, eyes=EYES, apex_index=0)


def test_landmark_regions_sit_on_the_hand_measured_face():
    """Regions placed from dlib's 68 points on the astronaut photo: the lip-corner boxes hold the lip
    corners and the brow boxes lie above the eyes read by hand (not from the landmarks), pairs
    mirror each other about the eyes' midpoint, and the regions run brows > eyes > nose > lips > chin."""
    skimage_data = pytest.importorskip("skimage.data")
    pytest.importorskip("dlib")
    from mpt_core.describe import landmark_boxes
    from preprocess.face.detect import detect
    from preprocess.face.landmarks import to_gray

    eyes = np.array([(203.0, 99.6), (246.0, 102.7)])  # irises, by hand (tests/facescenes.py)
    lips = np.array([(204.0, 140.5), (242.0, 142.0)])  # mouth-opening ends, by hand (test_describe_cli.py)
    photo = skimage_data.astronaut()
    boxes = landmark_boxes(detect(to_gray(photo)).points, size=512)
    centre = {n: ((x0 + x1) / 2, (y0 + y1) / 2) for n, (x0, y0, x1, y1) in boxes.items()}
    for (x, y), side in zip(lips, ("left", "right")):
        x0, y0, x1, y1 = boxes[f"lip_corner_{side}"]
        assert x0 <= x <= x1 and y0 <= y <= y1, side
    for side, eye in (("left", eyes[0]), ("right", eyes[1])):
        assert centre[f"brow_inner_{side}"][1] < eye[1] - 5 and centre[f"brow_outer_{side}"][1] < eye[1] - 5
        assert abs(centre[f"upper_eyelid_{side}"][0] - eye[0]) < 6 and centre[f"upper_eyelid_{side}"][1] < eye[1]
        assert centre[f"lower_eyelid_{side}"][1] > eye[1]
    mid = eyes.mean(axis=0)[0]
    for stem in ("brow_inner", "brow_outer", "upper_eyelid", "lower_eyelid", "cheek", "nose_side", "lip_corner"):
        (lx, ly), (rx, ry) = centre[f"{stem}_left"], centre[f"{stem}_right"]
        assert lx < mid < rx and abs((mid - lx) - (rx - mid)) < 0.25 * (rx - lx) and abs(ly - ry) < 8, stem
    ys = [centre[n][1] for n in ("glabella", "nose_side_left", "upper_lip", "lower_lip", "chin")]
    assert ys == sorted(ys)


def face_68(eyes=EYES) -> np.ndarray:
    """68 points in dlib's scheme, laid out with human proportions around level ``eyes`` (only the
    points the regions use are placed; the image-right half mirrors the left about x = 111.5)."""
    from mpt_core.regions import mirror_68

    (lx, ly), (rx, _) = eyes
    d, mid = rx - lx, (lx + rx) / 2
    left = {  # image-left side (and the midline): (across from the midline, down from the eyes) in d
        17: (-0.8, -0.3), 18: (-0.65, -0.35), 20: (-0.35, -0.35), 21: (-0.2, -0.3), 2: (-0.95, 0.7),
        36: (-0.7, 0.0), 37: (-0.57, -0.07), 38: (-0.43, -0.07), 39: (-0.3, 0.0), 40: (-0.43, 0.07),
        41: (-0.57, 0.07), 31: (-0.17, 0.65), 48: (-0.45, 1.0), 50: (-0.12, 0.86), 61: (-0.1, 0.95),
        58: (-0.12, 1.18), 67: (-0.1, 1.0), 6: (-0.3, 1.6), 7: (-0.15, 1.65),
        51: (0.0, 0.85), 62: (0.0, 0.95), 57: (0.0, 1.2), 66: (0.0, 1.0), 8: (0.0, 1.7),
    }
    points = np.zeros((68, 2))
    for i, (across, down) in left.items():
        points[i] = (mid + across * d, ly + down * d)
        points[mirror_68(i)] = (mid - across * d, ly + down * d)
    return points


def test_landmarks_place_the_regions_of_the_kernel():
    """The same lip-corner motion named AU12 with regions from 68 points as from the eyes; a wrong
    landmark array is one error."""
    points = face_68()
    field = blob_field(points[[48, 54]], (0.6, -0.8), 1.5)
    d_landmarks = describe_motion(clip(texture(), field), landmarks=points, apex_index=APEX)
    d_eyes = describe_motion(clip(texture(), field), eyes=EYES, apex_index=APEX)
    assert "AU12" in aus(d_landmarks) and "AU12" in aus(d_eyes)
    assert d_landmarks.placed_by == "landmarks" and d_eyes.placed_by == "eyes"
    with pytest.raises(DescribeError, match="5-point model places no regions"):
        describe_motion(clip(texture()), landmarks=points[:5], apex_index=APEX)
