"""Face detection and alignment on a real photograph with known eye centres and known rotations."""

import json

import cv2
import numpy as np
import pytest

skimage_data = pytest.importorskip("skimage.data")

from facescenes import ASTRO_EYES, GREY, paste, scene, true_roll  # noqa: E402
from preprocess.face import CANONICAL_EYES, FaceError, FaceTransform, find_face  # noqa: E402


@pytest.fixture(scope="module")
def astro():
    return skimage_data.astronaut()


def to_crop(transform, points, size):
    """Crop pixels of input points; pixel centres at integers, so the crop spans -0.5 .. size - 0.5."""
    m = transform.crop_matrix(size)
    return np.asarray(points) @ m[:, :2].T + m[:, 2]


def canonical_px(size):
    return np.array(CANONICAL_EYES) * size - 0.5


def box_contains(box, points) -> bool:
    x, y, w, h = box
    return all(x <= px <= x + w and y <= py <= y + h for px, py in points)


def test_hard_coded_eyes_are_on_the_irises(astro):
    """Guards the constants: both points are dark iris pixels, the skin between them is light."""
    gray = cv2.cvtColor(astro, cv2.COLOR_RGB2GRAY).astype(float)
    for x, y in ASTRO_EYES:
        assert gray[round(y) - 1 : round(y) + 2, round(x) - 2 : round(x) + 3].min() < 50
    mid = ASTRO_EYES.mean(axis=0).round().astype(int)
    assert gray[mid[1], mid[0]] > 150
    assert true_roll(ASTRO_EYES) == pytest.approx(-4.1, abs=0.1)


@pytest.mark.parametrize(
    "angle, scale",
    [(0, 1.0), (-12, 1.0), (-8, 1.0), (-4, 1.0), (4, 1.0), (8, 1.0), (12, 1.0), (-14, 1.0),
     (0, 0.6), (8, 0.6), (-9, 1.6)],
)
def test_roll_and_level_crop(astro, angle, scale):
    """scale 0.6: a face about 60 px wide in 640x480; angle -14: a roll of -18 deg, past the
    upright eye cascade (found on the counter-rotated copies)."""
    offset = (150, 60) if scale < 1.5 else (40, 0)
    frame, eyes = scene(astro, angle=angle, scale=scale, offset=offset)
    face = find_face(frame)

    assert face.warnings == ()
    assert face.eyes is not None
    assert box_contains(face.box, eyes)
    assert face.angle_deg == pytest.approx(true_roll(eyes), abs=2.0)
    crop_eyes = to_crop(face, eyes, 224)
    assert abs(true_roll(crop_eyes)) < 3.0
    # the true eyes land where the crop promises them, to a few % of the side
    assert np.abs(crop_eyes - canonical_px(224)).max() < 0.03 * 224


def test_apply_shows_the_face_where_the_transform_says(astro):
    """Irises are dark and the nose bridge light in the crop, at every size (both resize paths)."""
    frame, eyes = scene(astro, angle=10)
    face = find_face(frame)
    for size in (224, 64):
        crop = cv2.cvtColor(face.apply(frame, size)[0], cv2.COLOR_RGB2GRAY).astype(float)
        (lx, ly), (rx, ry) = np.round(to_crop(face, eyes, size)).astype(int)
        r = max(1, size // 100)
        for x, y in ((lx, ly), (rx, ry)):
            assert crop[y - r : y + r + 1, x - r : x + r + 1].min() < 70, size
        assert crop[(ly + ry) // 2, (lx + rx) // 2] > 140, size


def test_apply_same_transform_for_every_frame(astro):
    frame, _ = scene(astro, angle=-6)
    face = find_face(frame)
    frames = np.stack([frame, frame, frame])
    crops = face.apply(frames, 112)
    assert crops.shape == (3, 112, 112, 3) and crops.dtype == np.uint8
    assert (crops == crops[0]).all()
    assert (face.apply(frame, 112)[0] == crops[0]).all()  # one (H, W, 3) frame works too
    with pytest.raises(ValueError, match="found on 640x480"):
        face.apply(frame[:240], 112)


def test_small_face_found_in_large_frame(astro):
    frame = np.full((480, 640, 3), GREY, dtype=np.uint8)
    eyes = paste(frame, astro, scale=0.5, offset=(420, 250))  # face box about 50 px
    face = find_face(frame)
    assert box_contains(face.box, eyes)
    assert face.angle_deg == pytest.approx(true_roll(eyes), abs=2.0)


@pytest.mark.parametrize("kind", ["blank", "smooth noise"])
def test_no_face_names_the_frame(kind):
    frame = np.full((480, 640, 3), 128, dtype=np.uint8)
    if kind == "smooth noise":
        noise = np.random.default_rng(0).integers(0, 256, frame.shape, dtype=np.uint8)
        frame = cv2.GaussianBlur(noise, (0, 0), 3)
    with pytest.raises(FaceError, match=r"^clip\.mp4: frame 7: no face found; use --face none"):
        find_face(frame, where="clip.mp4: frame 7")


def test_two_faces_takes_the_larger_with_a_warning(astro):
    frame = np.full((480, 640, 3), GREY, dtype=np.uint8)
    big = paste(frame, astro, scale=1.0, offset=(20, 100))
    small = paste(frame, astro, scale=0.6, offset=(420, 150))
    face = find_face(frame, where="frame 3")
    assert box_contains(face.box, big) and not box_contains(face.box, small)
    assert any("faces found" in w and "frame 3" in w for w in face.warnings)


def test_eyes_hidden_falls_back_to_the_box(astro):
    """Blurred-out eyes: the face is still found; the crop is a square around the box, unrotated."""
    hidden = astro.copy()
    for x, y in ASTRO_EYES.astype(int):
        hidden[y - 9 : y + 9, x - 14 : x + 14] = cv2.GaussianBlur(hidden[y - 20 : y + 20, x - 25 : x + 25], (0, 0), 6)[
            11:29, 11:39
        ]
    frame, eyes = scene(hidden)
    face = find_face(frame)
    assert face.eyes is None and face.angle_deg == 0.0
    assert any("eyes not found" in w for w in face.warnings)
    m = np.asarray(face.matrix)
    assert m[0, 1] == 0.0 and m[1, 0] == 0.0  # unrotated
    x, y, w, h = face.box
    corners = to_crop(face, [(x, y), (x + w, y + h)], 100)  # the box lies inside the crop
    assert corners.min() > -0.5 and corners.max() < 99.5
    assert np.abs(to_crop(face, eyes, 100) - canonical_px(100)).max() < 8


def test_dict_round_trip(astro):
    frame, _ = scene(astro, angle=5)
    face = find_face(frame)
    data = json.loads(json.dumps(face.to_dict()))
    assert FaceTransform.from_dict(data) == face
    assert (FaceTransform.from_dict(data).apply(frame, 64) == face.apply(frame, 64)).all()
    with pytest.raises(FaceError, match="keys"):
        FaceTransform.from_dict({**data, "extra": 1})
    with pytest.raises(FaceError, match="2x3"):
        FaceTransform.from_dict({**data, "matrix": [[1.0, 0.0], [0.0, 1.0]]})


def test_eyes_in_crop_are_canonical(astro):
    frame, _ = scene(astro, angle=-3)
    face = find_face(frame)
    got = np.array(face.eyes_in_crop(200))
    assert np.abs(got - canonical_px(200)).max() < 1e-6
    assert got[0, 0] < got[1, 0]  # image-left eye first
