"""dlib landmarks on a real photograph: the model files, detection, sub-pixel points, roll."""

import sys

import numpy as np
import pytest

skimage_data = pytest.importorskip("skimage.data")
pytest.importorskip("dlib")

from facescenes import ASTRO_EYES, scene, true_roll  # noqa: E402
from preprocess.face.detect import detect  # noqa: E402
from preprocess.face.geometry import roll_deg  # noqa: E402
from preprocess.face.landmarks import (  # noqa: E402
    detect_faces,
    eye_centres,
    fit_landmarks,
    landmark_model_path,
    to_gray,
)


@pytest.fixture(scope="module")
def astro():
    return skimage_data.astronaut()


def test_model_files_are_found_without_importing_the_package():
    for kind, name in (("68", "shape_predictor_68"), ("5", "shape_predictor_5"), ("cnn", "mmod_human")):
        path = landmark_model_path(kind)
        assert path.is_file() and path.name.startswith(name) and path.stat().st_size > 500_000
    assert "face_recognition_models" not in sys.modules  # its __init__ needs pkg_resources
    with pytest.raises(ValueError, match="choose one of"):
        landmark_model_path("98")


def test_detect_and_fit_on_the_photograph(astro):
    gray = to_gray(astro)
    found = detect_faces(gray, 1)
    assert len(found) == 1
    (x, y, w, h), score = found[0]
    assert x < ASTRO_EYES[:, 0].min() and ASTRO_EYES[:, 0].max() < x + w and y < ASTRO_EYES[:, 1].min() < y + h
    points = fit_landmarks(gray, found[0][0])
    assert points.shape == (68, 2)
    left, right = eye_centres(points)
    # the eye outlines' centres are within 2.5 px of the hand-measured irises (IOD about 43 px)
    assert np.hypot(*(left - ASTRO_EYES[0])) < 2.5 and np.hypot(*(right - ASTRO_EYES[1])) < 2.5
    # mouth below the nose below the eyes; brows above the eyes; jaw spans the face
    assert points[17:27, 1].mean() < points[36:48, 1].mean() < points[30, 1] < points[48:68, 1].min()
    assert points[0, 0] < left[0] < right[0] < points[16, 0]


def test_five_points_align_the_same_eyes(astro):
    d68, d5 = detect(to_gray(astro)), detect(to_gray(astro), kind="5")
    assert d5.points.shape == (5, 2)
    for a, b in zip(eye_centres(d68.points), eye_centres(d5.points)):
        assert np.hypot(*(a - b)) < 3.0


def test_refined_points_are_sub_pixel(astro):
    points = detect(to_gray(astro)).points
    assert np.abs(points - np.round(points)).max() > 0.05  # dlib alone returns whole pixels


@pytest.mark.parametrize("scale, offset", [(0.6, (200, 120)), (1.0, (150, 60)), (1.6, (40, 0))])
def test_roll_from_minus_25_to_25_degrees(astro, scale, offset):
    """The photograph rotated from -25 to +25 degrees in 5-degree steps, at three face sizes
    (IOD about 26, 43 and 69 px). The landmark eye line of this photo sits about 1 degree from the
    line through the hand-measured irises (the astronaut looks slightly aside), so the error is
    taken against that line with a bound of 1.5, and the spread of the errors (how well the roll
    follows the rotation) must stay within +-0.5 degree."""
    errors = []
    for angle in range(-25, 30, 5):
        frame, eyes = scene(astro, angle=angle, scale=scale, offset=offset)
        found = detect(to_gray(frame))
        assert found is not None, angle
        errors.append(roll_deg(*eye_centres(found.points)) - true_roll(eyes))
    errors = np.array(errors)
    assert np.abs(errors).max() <= 1.5
    assert np.abs(errors - np.median(errors)).max() <= 0.5


@pytest.mark.parametrize("kind", ["blank", "smooth noise"])
def test_no_face_is_none(kind):
    frame = np.full((480, 640), 128, dtype=np.uint8)
    if kind == "smooth noise":
        import cv2

        noise = np.random.default_rng(0).integers(0, 256, frame.shape, dtype=np.uint8)
        frame = cv2.GaussianBlur(noise, (0, 0), 3)
    assert detect(frame) is None
