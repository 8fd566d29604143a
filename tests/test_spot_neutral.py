"""The spotter's neutral face from the calmest stretch: clips that are mostly expression, clips of
1-3 s (shorter than the 8 s reference window), a clip that starts mid-expression, and the real smile
clip (``realmedia``). Onsets within 0.1 s of the truth."""

import numpy as np
import pytest

from mpt_core.describe import REGION_ORDER
from mpt_core.spot_neutral import calm_stretches, motion_energy, neutral_reference, window_energy
from mpt_core.spotting import scores, spot

skimage_data = pytest.importorskip("skimage.data")
pytest.importorskip("dlib")

from expression_clips import FPS, smile_clip  # noqa: E402
from facescenes import scene, write_video  # noqa: E402
from mpt.spot.run import spot_inputs  # noqa: E402
from preprocess.face.detect import detect  # noqa: E402
from preprocess.face.landmarks import to_gray  # noqa: E402
from realmedia import SMILE_ONSET_FRAME, video_or_skip  # noqa: E402

R = {name: i for i, name in enumerate(REGION_ORDER)}


@pytest.fixture(scope="module")
def photo():
    frame, _ = scene(skimage_data.astronaut())
    return frame, detect(to_gray(frame)).points


def spot_clip(tmp_path, frames, name="clip.avi"):
    path = tmp_path / name
    write_video(path, frames, FPS)
    return spot_inputs([path], progress=False)


# the clips: (seconds, onset s, offset s or None = held to the end), each 80 % expression or more
# except the last, a short expression inside a 1.5 s clip
CLIPS = [(3.0, 0.45, None), (2.0, 0.3, 1.9), (1.0, 0.2, None), (1.5, 0.5, 1.1)]


@pytest.mark.parametrize("seconds,onset_s,offset_s", CLIPS)
def test_onset_within_a_tenth_of_a_second(photo, tmp_path, seconds, onset_s, offset_s):
    frame, points = photo
    frames = smile_clip(frame, points, seconds, onset_s, offset_s, seed=int(seconds * 10 + onset_s * 100))
    expression = ((offset_s or seconds) - onset_s) / seconds
    result = spot_clip(tmp_path, frames)
    assert result["lost"] == []
    assert result["intervals"], f"nothing spotted in a {seconds} s clip, {expression:.0%} expression"
    best = max(result["intervals"], key=lambda i: i["score"])
    assert abs(best["onset"] / FPS - onset_s) <= 0.1, (best, onset_s)
    assert not best.get("starts_before")
    if offset_s is not None:
        assert abs(best["offset"] / FPS - offset_s) <= 0.15, (best, offset_s)
    # nothing is spotted in the neutral part before the onset
    assert all(i["onset"] / FPS >= onset_s - 0.1 for i in result["intervals"]), result["intervals"]


def test_clip_starting_mid_expression_says_so(photo, tmp_path):
    """Smiling from before the first frame, relaxing at 1.0-1.25 s, neutral to 2.5 s: the interval
    starts at frame 0, is marked ``starts_before``, and the result says why in a note."""
    frame, points = photo
    frames = smile_clip(frame, points, 2.5, -1.0, 1.25, seed=7)
    result = spot_clip(tmp_path, frames)
    first = min(result["intervals"], key=lambda i: i["onset"])
    assert first["onset"] == 0 and first["starts_before"] is True
    assert abs(first["offset"] / FPS - 1.25) <= 0.15, first
    assert any("mid-expression" in note for note in result["notes"]), result["notes"]


def test_real_smile_onset(tmp_path):
    """The real clip: neutral, then a broad smile from frame 17 (0.57 s, annotated by eye) to the end.
    The onset is found at 0.5-0.8 s and nothing is spotted in the neutral part."""
    path = video_or_skip("single_face.mp4")
    result = spot_inputs([path], progress=False)
    best = max(result["intervals"], key=lambda i: i["score"])
    onset_s = best["onset"] / result["fps"]
    assert 0.5 <= onset_s <= 0.8, best
    assert abs(best["onset"] - SMILE_ONSET_FRAME) <= 3
    assert best["offset"] >= 65  # held to the end
    assert all(i["onset"] >= best["onset"] for i in result["intervals"]), result["intervals"]


def held_positions(n=90, onset=20, seed=0, tremor=0.05):
    """Made-up positions: noise 0.03 px, the lip corners 2 px up from ``onset`` (a 6-frame raised
    cosine) to the end, with ``tremor`` px of frame-to-frame jitter while held."""
    rng = np.random.default_rng(seed)
    pos = rng.normal(0, 0.03, (n, len(REGION_ORDER), 2))
    t = np.arange(n)
    level = 0.5 * (1 - np.cos(np.pi * np.clip((t - onset) / 6, 0, 1)))
    for name in ("lip_corner_left", "lip_corner_right"):
        pos[:, R[name], 1] -= 2.0 * level + tremor * rng.standard_normal(n) * (t >= onset + 6)
    return pos


def test_neutral_is_the_calm_start_not_the_median():
    """Three quarters expression: the median of the video would be the smile; the calm stretch is
    the neutral start, so the score is low there and high in the smile."""
    pos = held_positions()
    sc = scores(pos, FPS)
    assert sc.neutral and sc.neutral[0][1] <= 22  # the ramp's first frames barely move
    assert np.nanmedian(sc.face[:15]) * 5 < np.nanmedian(sc.face[30:])
    found, _ = spot(sc, FPS, 0.3)
    assert len(found) == 1 and abs(found[0].onset - 20) <= 3 and found[0].offset == 89


def test_energy_windows_and_lost_frames():
    pos = held_positions()
    pos[40:43] = np.nan
    e = motion_energy(pos)
    assert np.isnan(e[40:44]).all() and np.isfinite(e[:40]).all()
    w = window_energy(e, 5)
    assert np.isinf(w[36:44]).all() and np.isinf(w[-4:]).all() and np.isfinite(w[:36]).all()
    stretches = calm_stretches(w, 0, 90, 5, 1.5)
    assert stretches and all(b < 40 or a > 42 for a, b in stretches)
    neutral = neutral_reference(pos, 5, 240, 1.5)  # shorter than the window: one stretch, the earliest
    assert len(neutral.stretches) == 1 and neutral.stretches[0][0] < 20
    assert neutral.mask.sum() == neutral.stretches[0][1] - neutral.stretches[0][0] + 1


def test_face_found_again_mid_expression_is_marked():
    """Lost over the smile's onset (frames 15-34): the interval found after the loss starts at the
    first frame seen again and is marked as not having seen its onset; the neutral start is not."""
    pos = held_positions()
    pos[15:35] = np.nan
    found, _ = spot(scores(pos, FPS), FPS, 0.3)
    assert len(found) == 1 and found[0].onset == 35 and found[0].starts_before
    clean, _ = spot(scores(held_positions(), FPS), FPS, 0.3)
    assert not clean[0].starts_before
