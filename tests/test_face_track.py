"""Tracking and stabilisation on videos made from a real photograph with known head motion."""

import cv2
import numpy as np
import pytest

skimage_data = pytest.importorskip("skimage.data")
pytest.importorskip("dlib")

from facescenes import GREY, head_motion, local_bump, noisy, scene  # noqa: E402
from preprocess.face.detect import detect  # noqa: E402
from preprocess.face.geometry import invert, transform_points  # noqa: E402
from preprocess.face.landmarks import STABLE_68, to_gray  # noqa: E402
from preprocess.face.track import Track, TrackSettings, track_frames  # noqa: E402

FPS = 30.0


@pytest.fixture(scope="module")
def base():
    """The photograph in a 640 x 480 frame and its landmarks: the points whose true motion the
    videos below define (where they sit on the face matters, not how exactly dlib found them)."""
    frame, _ = scene(skimage_data.astronaut())
    return frame, detect(to_gray(frame)).points


def rms(deviations) -> float:
    return float(np.sqrt((np.asarray(deviations) ** 2).sum(-1).mean()))


def compose(a, b):
    """(2, 3) affine a after b."""
    return np.vstack([a, [0, 0, 1]])[:2] @ np.vstack([b, [0, 0, 1]])


def test_contract_and_still_face_jitter(base):
    """One frame repeated with sensor noise: at most 0.2 px RMS landmark jitter at 224 px."""
    frame, _ = base
    rng = np.random.default_rng(0)
    calls = []
    track = track_frames((noisy(frame, rng) for _ in range(60)), fps=FPS, progress=calls.append)
    assert calls == [1] * 60
    assert track.status[0] == "detected" and set(track.status[1:]) <= {"tracked", "detected"}
    assert track.lost == []
    assert track.landmarks.shape == (60, 68, 2) and track.landmarks.dtype == np.float32
    assert track.boxes.shape == (60, 4) and track.roll_deg.shape == (60,) and track.matrices.shape == (60, 2, 3)
    assert track.matrices.dtype == np.float64
    in_crop = np.array([track.landmarks_in_crop(i, 224) for i in range(60)])
    assert rms(in_crop - in_crop.mean(axis=0)) <= 0.2
    crop = track.stabilise(frame, 5, 112)
    assert crop.shape == (112, 112, 3) and crop.dtype == np.uint8
    # the stabilised crop is levelled with the eyes where CANONICAL_EYES puts them
    eyes = np.array([in_crop[5, 36:42].mean(axis=0), in_crop[5, 42:48].mean(axis=0)])
    from preprocess.face import CANONICAL_EYES

    assert np.abs(eyes - (np.array(CANONICAL_EYES) * 224 - 0.5)).max() < 2.0


def test_head_motion_removed_local_motion_kept(base):
    """Head motion (translation +-30 px, roll +-10 deg, scale +-5 %) over 3 s and a small motion at
    both lip corners (1.5 px up and outward, frames 40-50): the stable points' residual motion in
    the stabilised crop is at most 0.3 px RMS at 224, and optical flow on the stabilised crops sees
    at least 80 % of the lip-corner motion it sees on perfectly stabilised ones."""
    frame, points = base
    rng = np.random.default_rng(1)
    left, right = points[48], points[54]

    def face(i):
        amount = np.clip((i - 40) / 10, 0, 1)  # the expression: ramps up over frames 40-50 and stays
        moved = local_bump(frame, left, (-1.5 * amount, -1.5 * amount))
        return local_bump(moved, right, (1.5 * amount, -1.5 * amount))

    frames = [noisy(cv2.warpAffine(face(i), head_motion(i, FPS), (640, 480), flags=cv2.INTER_LINEAR,
                                   borderValue=GREY), rng) for i in range(90)]
    track = track_frames(frames, fps=FPS)
    assert track.lost == []
    stable = points[list(STABLE_68)]
    in_crop = np.array([transform_points(track.crop_matrix(i, 224),
                                         transform_points(head_motion(i, FPS), stable)) for i in range(90)])
    assert rms(in_crop - in_crop.mean(axis=0)) <= 0.3

    # perfect stabilisation: frame 0's crop undoing the known head motion
    perfect = [compose(track.crop_matrix(0, 224), invert(head_motion(i, FPS))) for i in range(90)]
    dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)

    def lip_flow(matrices):
        a, b = (cv2.cvtColor(cv2.warpAffine(frames[i], matrices[i], (224, 224), flags=cv2.INTER_LINEAR), cv2.COLOR_RGB2GRAY)
                for i in (38, 52))
        flow = dis.calc(a, b, None)
        corners = transform_points(track.crop_matrix(0, 224), [left, right]).round().astype(int)
        return np.array([flow[y - 2 : y + 3, x - 2 : x + 3].reshape(-1, 2).mean(axis=0) for x, y in corners])

    tracked = lip_flow([track.crop_matrix(i, 224) for i in range(90)])
    truth = lip_flow(perfect)
    assert truth[0, 0] < 0 < truth[1, 0] and (truth[:, 1] < 0).all()  # up and outward on both sides
    kept = (tracked * truth).sum(axis=1) / (truth * truth).sum(axis=1)  # projection on the true motion
    assert (kept >= 0.8).all(), kept


def test_occluded_lower_face_is_lost_not_moved(base):
    """A flat occluder over the lower half of the face in frames 20-39 of a slowly moving face:
    those frames are lost or keep the true geometry; the track never jumps; it resumes after."""
    frame, points = base
    rng = np.random.default_rng(2)
    x0, x1 = int(points[3, 0]) - 5, int(points[13, 0]) + 5
    y0, y1 = int(points[30, 1]), int(points[8, 1]) + 10
    texture = cv2.GaussianBlur(rng.normal(0, 25, (y1 - y0, x1 - x0, 3)), (0, 0), 4)
    hand = np.clip(np.array([205, 160, 135]) + texture, 0, 255).astype(np.uint8)
    frames, shifts = [], []
    for i in range(60):
        f = frame.copy()
        if 20 <= i < 40:
            f[y0:y1, x0:x1] = hand
        shift = np.array([i * 0.5, 0.0])  # 15 px/s to the right
        frames.append(noisy(cv2.warpAffine(f, np.float64([[1, 0, shift[0]], [0, 1, 0]]), (640, 480),
                                           borderValue=GREY), rng))
        shifts.append(shift)
    track = track_frames(frames, fps=FPS)
    eyes_true = np.array([points[36:42].mean(axis=0), points[42:48].mean(axis=0)])
    for i, status in enumerate(track.status):
        if status == "lost":
            assert 20 <= i < 40, f"frame {i} lost without an occluder"
            assert np.isnan(track.landmarks[i]).all() and np.isnan(track.matrices[i]).all()
            continue
        eyes = np.array([track.landmarks[i, 36:42].mean(axis=0), track.landmarks[i, 42:48].mean(axis=0)])
        assert np.abs(eyes - (eyes_true + shifts[i])).max() < 3.0, f"frame {i} ({status}) moved off the face"
    assert len([i for i in track.lost if 20 <= i < 40]) >= 15  # the occluded frames are reported
    assert all(s != "lost" for s in track.status[45:])


def test_face_appearing_later_and_no_face(base):
    frame, _ = base
    blank = np.full_like(frame, 90)
    track = track_frames([blank] * 8 + [frame] * 5, fps=FPS)
    assert track.lost == list(range(8)) and track.status[8] == "detected"
    assert any("first face at frame 8" in note for note in track.notes)
    nothing = track_frames([blank] * 4, fps=FPS)
    assert nothing.lost == [0, 1, 2, 3] and np.isnan(nothing.landmarks).all()
    assert nothing.notes == ["no face found in any of the 4 frames"]


def test_save_load_round_trip(base, tmp_path):
    frame, _ = base
    track = track_frames([np.full_like(frame, 90), frame, frame], fps=25.0, settings=TrackSettings(landmarks="5"))
    assert track.landmarks.shape == (3, 5, 2)
    track.save(tmp_path / "t.npz")
    back = Track.load(tmp_path / "t.npz")
    assert back.status == track.status and back.fps == 25.0 and back.frame_size == (640, 480)
    np.testing.assert_array_equal(back.matrices, track.matrices)
    np.testing.assert_array_equal(back.landmarks, track.landmarks)
    assert back.notes == track.notes


def test_bad_frames_and_settings(base):
    frame, _ = base
    with pytest.raises(ValueError, match="frame 1: 320x240, the first frame was 640x480"):
        track_frames([frame, frame[:240, :320]], fps=FPS)
    with pytest.raises(ValueError, match="fps"):
        track_frames([frame], fps=0)
    with pytest.raises(ValueError, match="landmarks"):
        TrackSettings(landmarks="98")
