"""`mpt track` on videos and frame folders made from a real photograph: the JSON, the .npz, the
side-by-side video, and each bad input as a named warning or one error line."""

import json

import cv2
import numpy as np
import pytest
from typer.testing import CliRunner

skimage_data = pytest.importorskip("skimage.data")
pytest.importorskip("dlib")

from facescenes import GREY, head_motion, noisy, scene, true_roll, write_video  # noqa: E402
from mpt.cli import app  # noqa: E402

runner = CliRunner()


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("track")
    astro = skimage_data.astronaut()
    frame, eyes = scene(astro, angle=10)  # counter-clockwise on screen: the image-right eye is higher
    rng = np.random.default_rng(0)
    write_video(tmp / "rolled.avi", [noisy(frame, rng) for _ in range(12)], fps=30)
    still, _ = scene(astro)
    moving = [noisy(cv2.warpAffine(still, head_motion(i, 30), (640, 480), borderValue=GREY), rng) for i in range(30)]
    write_video(tmp / "moving.avi", moving, fps=30)
    blank = np.full_like(still, 90)
    write_video(tmp / "later.avi", [blank] * 8 + [still] * 6, fps=30)
    write_video(tmp / "none.avi", [blank] * 5, fps=30)
    full = tmp / "full.avi"
    write_video(full, [noisy(still, rng, 8.0) for _ in range(40)], fps=30)
    data = full.read_bytes()
    (tmp / "truncated.avi").write_bytes(data[: len(data) * 4 // 10])
    folder = tmp / "frames"
    folder.mkdir()
    for n in range(101, 109):
        cv2.imwrite(str(folder / f"img{n}.jpg"), cv2.cvtColor(still, cv2.COLOR_RGB2BGR))
    (folder / "img104.jpg").write_bytes(b"\xff\xd8 not a jpeg")
    return tmp, eyes


def invoke(*args):
    return runner.invoke(app, ["track", *map(str, args)])


def test_json_is_one_object_with_the_documented_fields(clips):
    tmp, eyes = clips
    r = invoke(tmp / "rolled.avi", "--json")
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)  # exactly one JSON object on stdout
    assert set(out) == {"input", "fps", "frames", "lost"} and out["fps"] == 30 and out["lost"] == []
    assert [f["index"] for f in out["frames"]] == list(range(12))
    first = out["frames"][0]
    assert set(first) == {"index", "status", "box", "roll_deg", "landmarks"} and first["status"] == "detected"
    assert {f["status"] for f in out["frames"][1:]} <= {"tracked", "detected"}
    assert len(first["landmarks"]) == 68 and len(first["box"]) == 4
    x, y, w, h = first["box"]
    assert all(x < ex < x + w and y < ey < y + h for ex, ey in eyes)
    # positive: the image-right eye is higher, as mpt predict's angle_deg (the photo's own roll is -4.1)
    assert first["roll_deg"] > 0 and first["roll_deg"] == pytest.approx(true_roll(eyes), abs=1.5)


def test_npz_video_and_python_api(clips, tmp_path):
    from mpt import track as track_api
    from preprocess.face.track import Track

    tmp, _ = clips
    r = invoke(tmp / "moving.avi", "--out", tmp_path / "t.npz", "--video", tmp_path / "v.mp4", "--no-progress")
    assert r.exit_code == 0, r.output
    assert "30 frames at 30 fps" in r.stdout and "0 lost" in r.stdout
    saved = Track.load(tmp_path / "t.npz")
    assert len(saved) == 30 and saved.lost == [] and saved.matrices.shape == (30, 2, 3)
    cap = cv2.VideoCapture(str(tmp_path / "v.mp4"))
    count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
    ok, pair = cap.read()
    cap.release()
    assert ok and count == 30 and pair.shape == (360, 480 + 360, 3)  # original scaled to 360 high | face
    result = track_api(tmp / "moving.avi")
    np.testing.assert_allclose(result["track"].landmarks, saved.landmarks, atol=1e-4)
    assert result["lost"] == [] and result["notes"] == []


def test_face_appearing_later_is_tracked_from_there(clips):
    tmp, _ = clips
    r = invoke(tmp / "later.avi", "--json")
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert out["lost"] == list(range(8)) and out["frames"][8]["status"] == "detected"
    assert out["frames"][0]["box"] is None and out["frames"][0]["landmarks"] is None
    assert "first face at frame 8 (0.27 s in); tracking starts there" in r.stderr


def test_unreadable_frame_is_lost_and_named(clips):
    tmp, _ = clips
    r = invoke(tmp / "frames", "--fps", 25, "--json")
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert [f["index"] for f in out["frames"]] == list(range(101, 109))  # numbers from the file names
    assert out["lost"] == [104]
    assert "frame 104: corrupt JPEG" in r.stderr and "it is lost" in r.stderr
    assert out["frames"][4]["status"] != "lost"  # the track resumes after it


def test_truncated_video_says_how_many_frames_were_unreadable(clips):
    tmp, _ = clips
    r = invoke(tmp / "truncated.avi", "--json")
    assert r.exit_code == 0, r.output
    n = len(json.loads(r.stdout)["frames"])
    assert 2 <= n < 40
    assert f"only {n} of the 40 frames the container states could be decoded ({40 - n} unreadable" in r.stderr


@pytest.mark.parametrize("case, expected", [
    ("none.avi", "no face found in any of its 5 frames"),
    ("missing.avi", "not found"),
    ("rolled.avi --video out.gif", "--video out.gif: must end in .mp4"),
    ("rolled.avi --landmarks 98", "--landmarks '98' is not one of 68, 5"),
    ("frames", "pass --fps"),
])
def test_bad_input_is_one_error_line(clips, case, expected):
    tmp, _ = clips
    name, *rest = case.split()
    r = invoke(tmp / name, *rest, "--no-progress")
    assert r.exit_code == 1 and r.stdout == ""
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and expected in lines[0], r.stderr
