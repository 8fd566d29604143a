"""The framing record (mpt_core.framing) and landmarks on tight face crops (preprocess.face.framing):
JSON round trips, the crop geometry against independent constructions, and landmarks found on at
least 99 % of tight crops in CASME II's framing, synthetic and a real photograph."""

import math

import cv2
import numpy as np
import pytest

from mpt_core.framing import CANONICAL, PRESETS, Framing, FramingError, measure, reframe, typical, unit_matrix

CASME2 = PRESETS["casme2"]


def tight_crop(image, eyes, framing: Framing, size=(230, 280)):
    """An upright crop of ``image`` in ``framing``, built from the eye centres by hand: the crop's
    width is width_per_iod x the eye distance, the eye midpoint at (eye_x, eye_height) of it."""
    (lx, ly), (rx, ry) = eyes
    iod = math.hypot(rx - lx, ry - ly)
    w_src = framing.width_per_iod * iod
    h_src = w_src / framing.aspect
    x0 = (lx + rx) / 2 + 0.5 - framing.eye_x * w_src
    y0 = (ly + ry) / 2 + 0.5 - framing.eye_height * h_src
    sx, sy = size[0] / w_src, size[1] / h_src
    # pixel k spans k - 0.5 .. k + 0.5 on both sides: (x0, y0) is the crop's outer corner in the image
    m = np.array([[sx, 0, -x0 * sx - 0.5], [0, sy, -y0 * sy - 0.5]])
    return cv2.warpAffine(image, m, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def test_framing_json_round_trip_and_errors():
    for f in (CANONICAL, CASME2, Framing(1.9, 0.3, 0.48, 0.8, (200, 250), "measured")):
        assert Framing.from_dict(f.to_dict()) == f
    with pytest.raises(FramingError, match="expected keys"):
        Framing.from_dict({**CASME2.to_dict(), "extra": 1})
    with pytest.raises(FramingError, match="eye_height"):
        Framing(eye_height=1.5)
    with pytest.raises(FramingError, match="kind"):
        Framing(kind="guessed")
    assert CANONICAL.is_canonical and not CASME2.is_canonical
    assert "1.80 x the inter-ocular distance" in CASME2.describe() and "28 %" in CASME2.describe()


def test_unit_matrix_puts_the_eyes_where_the_framing_says():
    from preprocess.face.geometry import CANONICAL_EYES, align_matrix, transform_points

    left, right = (210.3, 140.2), (305.9, 128.7)  # rolled eyes
    assert np.allclose(unit_matrix(left, right, CANONICAL), align_matrix(left, right), atol=1e-12)
    assert np.allclose(transform_points(align_matrix(left, right), [left, right]), CANONICAL_EYES, atol=1e-12)
    m = unit_matrix(left, right, CASME2)
    iod_unit_x = 1 / CASME2.width_per_iod  # the eyes are one IOD apart: 1/1.8 of the crop's width
    expected = [(0.5 - iod_unit_x / 2, 0.28), (0.5 + iod_unit_x / 2, 0.28)]
    assert np.allclose(transform_points(m, [left, right]), expected, atol=1e-12)
    # the same crop reached from the canonical one by a per-axis scale and shift
    assert np.allclose(reframe(align_matrix(left, right), CASME2), m, atol=1e-12)


def test_measure_recovers_a_framing_and_typical_is_the_median():
    f = measure((80.0, 77.9), (207.8, 77.9), 230, 280)  # pixel centres at integers
    assert f.width_per_iod == pytest.approx(230 / 127.8) and f.eye_height == pytest.approx(78.4 / 280)
    assert f.eye_x == pytest.approx(144.4 / 230) and f.aspect == pytest.approx(230 / 280)
    t = typical([Framing(1.7, 0.27, 0.5, 0.8), Framing(1.8, 0.28, 0.5, 0.8), Framing(2.5, 0.4, 0.5, 0.8)])
    assert (t.width_per_iod, t.eye_height, t.kind) == (1.8, 0.28, "measured")


def test_warp_face_squeezes_a_non_square_framing_like_the_cache():
    """A frame cut in the CASME II framing through warp_face equals the hand-made 230 x 280 crop squeezed
    to 64 x 64 by the cache's frame loader."""
    from preprocess.face.transform import warp_face
    from preprocess.frames import resize_rgb

    rng = np.random.default_rng(0)
    frame = cv2.GaussianBlur(rng.integers(0, 255, (480, 640, 3), dtype=np.uint8), (0, 0), 3)
    left, right = (300.0, 200.0), (427.8, 200.0)  # 127.8 px apart: the framing's crop is 230 x 280 px
    ours = warp_face(frame, unit_matrix(left, right, CASME2), 64)
    bgr = np.ascontiguousarray(tight_crop(frame, (left, right), CASME2)[..., ::-1])  # as a decoded JPEG
    theirs = resize_rgb(bgr, 64)
    assert ours.shape == (64, 64, 3)
    assert np.abs(ours.astype(int) - theirs.astype(int)).mean() < 1.0


def test_border_check_warns_then_refuses_with_how_much():
    from preprocess.face import FaceError
    from preprocess.face.framing import border_check

    inside = unit_matrix((300.0, 200.0), (400.0, 200.0), CASME2)
    assert border_check(inside, (640, 480), where="x", framing=CASME2) == []
    # IOD 100: the crop is 180 px wide, centred on the eye midpoint; the frame's edge is at x = -0.5
    near = unit_matrix((30.0, 200.0), (130.0, 200.0), CASME2)  # crop from x = -10: 9.5 px (5 %) past the left edge
    warnings = border_check(near, (640, 480), where="clip", framing=CASME2)
    assert len(warnings) == 1 and "10 px beyond the left edge" in warnings[0]
    assert "edge pixels are repeated" in warnings[0]
    cut = unit_matrix((0.0, 200.0), (100.0, 200.0), CASME2)  # from x = -40: 39.5 of 180 px (22 %) outside
    with pytest.raises(FaceError, match=r"cut by the frame's border: 22 % of the crop .*\(40 px beyond the left edge;"):
        border_check(cut, (640, 480), where="clip", framing=CASME2)


def test_a_framing_other_than_canonical_is_another_cache_key():
    from preprocess.face.align import FaceOptions

    assert FaceOptions(framing=CANONICAL).identity() == FaceOptions().identity() == "landmarks68"
    assert FaceOptions(method="haar", framing=CANONICAL).identity() == "auto"  # Haar caches keep their key
    other = FaceOptions(framing=CASME2).identity()
    assert other != "landmarks68" and other["framing"] == CASME2.to_dict()


# landmarks on tight crops


def _synthetic_crops(n_faces: int):
    from preprocess.synth.face import render_face

    rng = np.random.default_rng(5)
    for s in range(n_faces):
        face = render_face(np.random.default_rng([7, 1, s]), 224)
        image = np.clip(face.image, 0, 255).astype(np.uint8)
        for _ in range(5):  # the real corpus's spread: width 1.74-1.88 IOD, eyes at 27-29 %
            f = Framing(rng.uniform(1.74, 1.88), rng.uniform(0.27, 0.29), 0.5, 230 / 280, (230, 280), "preset")
            yield tight_crop(image, (face.points["eye_l"], face.points["eye_r"]), f), f


def test_landmarks_on_tight_synthetic_crops_in_casme2_framing():
    """At least 99 % of tight synthetic crops get 68 plausible landmarks (fallbacks counted), and the
    framing measured from them is the one the crop was cut in."""
    from preprocess.face.framing import fit_crop

    fits = [(fit_crop(crop), f) for crop, f in _synthetic_crops(20)]
    found = [(r, f) for r, f in fits if r.points is not None]
    assert len(found) >= 0.99 * len(fits), f"{len(fits) - len(found)} of {len(fits)} fell back"
    ways = {how: sum(r.how == how for r, _ in found) for how in ("image", "detector", "prior")}
    print(f"{len(found)} of {len(fits)} tight crops with landmarks: {ways}")
    # the detector's box first (dlib's fit from it is right at any framing), the whole image where it finds none
    assert sum(ways.values()) == len(found) and ways["detector"] + ways["image"] == len(found), ways
    # the synthetic eye points are the sclera centres, dlib's the mean of six lid points: close, not equal
    wpi_err = np.array([r.framing.width_per_iod - f.width_per_iod for r, f in found])
    eh_err = np.array([r.framing.eye_height - f.eye_height for r, f in found])
    assert np.median(np.abs(wpi_err)) < 0.08 and np.median(np.abs(eh_err)) < 0.01


def test_landmarks_on_a_real_photograph_cropped_as_tightly():
    skimage_data = pytest.importorskip("skimage.data")
    from facescenes import ASTRO_EYES

    from preprocess.face.framing import fit_crop

    astro = skimage_data.astronaut()
    results = []
    for wpi in (1.74, 1.8, 1.88):
        for eh in (0.27, 0.28, 0.29):
            f = Framing(wpi, eh, 0.5, 230 / 280, (230, 280), "preset")
            results.append((fit_crop(tight_crop(astro, ASTRO_EYES, f)), f))
    found = [(r, f) for r, f in results if r.points is not None]
    assert len(found) == len(results)  # >= 99 % of 9
    # the hand-measured iris centres vs dlib's eye centres: within 6 % and 1.5 points of height
    for r, f in found:
        assert r.framing.width_per_iod == pytest.approx(f.width_per_iod, rel=0.06)
        assert r.framing.eye_height == pytest.approx(f.eye_height, abs=0.015)
