"""Tracking through head roll and pitch: a face the detector can see is never lost for its pose; a
hand over the mouth still is. Synthetic videos (the astronaut photograph rolled up to +-30 deg and
pitched up to +-20 deg, ``facescenes.pose_frame``) and real stock footage (``realmedia``)."""

import numpy as np
import pytest

skimage_data = pytest.importorskip("skimage.data")
pytest.importorskip("dlib")

from facescenes import pose_video, scene, true_roll  # noqa: E402
from preprocess.face.track import track_frames  # noqa: E402
from realmedia import HAND_OVER_MOUTH, VISIBLE, read_frames, video_or_skip  # noqa: E402

FPS = 30.0


@pytest.fixture(scope="module")
def photo():
    frame, eyes = scene(skimage_data.astronaut())
    return frame, true_roll(eyes)


@pytest.mark.parametrize("roll,pitch", [(30, 20), (-30, -20), (-30, 20), (30, -20)])
def test_roll_and_pitch_are_not_losses(photo, roll, pitch):
    """The head turns from upright to (roll, pitch) in 0.4 s (as fast as the real bowed laugh's
    turn), holds it 1.1 s (past one periodic re-detection): no frame is lost and the measured roll
    follows the true one within 3 deg."""
    frame, base_roll = photo
    ramp = np.clip((np.arange(50) - 6) / 12.0, 0, 1)
    frames = pose_video(frame, roll * ramp, pitch * ramp, np.random.default_rng(abs(roll) + pitch + 50))
    track = track_frames(frames, fps=FPS)
    assert track.lost == [], track.notes
    # the roll of a pitched sphere's eyes is the roll applied (pitch moves both eyes alike)
    expected = base_roll + roll * ramp
    assert np.abs(track.roll_deg - expected).max() < 3.0, (track.roll_deg - expected)


@pytest.fixture(scope="module")
def laughing_track():
    frames, fps = read_frames(video_or_skip("WolfgangLanger_Pexels.mp4"))
    assert len(frames) == 472 and abs(fps - 23.976) < 0.01
    return track_frames(frames, fps=fps)


def test_real_footage_visible_face_kept(laughing_track):
    """At least 95 % of the frames where the face is in view and unoccluded (annotated by eye,
    including her head rolled about 30 deg and bowed at the end) are kept (before this rule the
    bowed end, frames 454-471, was lost: 94 %)."""
    status = laughing_track.status
    kept = sum(status[i] != "lost" for i in VISIBLE) / len(VISIBLE)
    assert kept >= 0.95, [i for i in VISIBLE if status[i] == "lost"]
    assert all(status[i] != "lost" for i in range(450, 472))  # the bowed, rolled end


def test_real_footage_hand_over_mouth_lost(laughing_track):
    """At least 80 % of the frames with her hand over her mouth are lost."""
    status = laughing_track.status
    lost = sum(status[i] == "lost" for i in HAND_OVER_MOUTH) / len(HAND_OVER_MOUTH)
    assert lost >= 0.8, lost
