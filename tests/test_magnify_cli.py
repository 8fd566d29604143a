"""`mpt magnify`: a side-by-side video (original | magnified) with one frame per input frame, where the
magnified half shows the motion of a moving clip and equals the original on a static one; --gif."""

import cv2
import numpy as np
import pytest
from typer.testing import CliRunner

skimage_data = pytest.importorskip("skimage.data")

from mpt.cli import app  # noqa: E402
from preprocess.face import CANONICAL_EYES  # noqa: E402
from test_describe_cli import (  # noqa: E402
    FPS, N, crop_to_canonical, one_error_line, smile_frames, write_folder, write_video)

runner = CliRunner()
# a band around the mouth of a 224 canonical crop, 0.75 to 1.15 inter-ocular distances below the eyes (the
# astronaut's lip corners are 0.93 below), and one on the forehead, where nothing moves
IOD_224 = (CANONICAL_EYES[1][0] - CANONICAL_EYES[0][0]) * 224
EYE_Y = CANONICAL_EYES[0][1] * 224
MOUTH = (slice(round(EYE_Y + 0.75 * IOD_224), round(EYE_Y + 1.15 * IOD_224)),
         slice(round(112 - 0.7 * IOD_224), round(112 + 0.7 * IOD_224)))
FOREHEAD = (slice(round(EYE_Y - 0.9 * IOD_224), round(EYE_Y - 0.5 * IOD_224)), MOUTH[1])
BODY = slice(40, 224)  # rows below the labels


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("magnify")
    moving, eyes = smile_frames()
    static = crop_to_canonical(np.repeat(moving[:1], N, axis=0), eyes)
    # frame folders (PNG): alpha 20 would also magnify a compressed input's codec noise, hiding what is tested
    return {"moving": write_folder(tmp / "smile", moving), "video": write_video(tmp / "smile.mp4", moving),
            "static": write_folder(tmp / "static", static), "tmp": tmp}


def invoke(*args):
    return runner.invoke(app, ["magnify", *map(str, args)])


def read_video(path):
    cap = cv2.VideoCapture(str(path))
    fps = cap.get(cv2.CAP_PROP_FPS)
    frames = []
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        frames.append(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))
    cap.release()
    return np.stack(frames), fps


def halves(frames):
    w = frames.shape[2] // 2
    return frames[:, :, :w].astype(np.float32), frames[:, :, w:].astype(np.float32)


def test_moving_clip_side_by_side_and_gif(clips):
    out = clips["tmp"] / "out" / "smile-magnified.mp4"
    result = invoke(clips["moving"], "-o", out, "--fps", FPS, "--slow", 10, "--gif")
    assert result.exit_code == 0, result.output
    frames, fps = read_video(out)
    assert frames.shape == (N, 224, 448, 3)  # one frame per input frame, two 224 squares side by side
    assert fps == pytest.approx(FPS / 10)
    assert f"{N / (FPS / 10):.1f} s" in result.stdout and str(out) in result.stdout
    original, magnified = halves(frames)
    assert np.abs(magnified[0] - original[0])[BODY].mean() < 2  # the filter starts at rest on frame 0
    diff = np.abs(magnified - original)[N // 2:].mean(axis=(0, 3))  # (224, 224): frames where the lips move
    assert diff[MOUTH].mean() > 4 * diff[FOREHEAD].mean()
    assert diff[MOUTH].mean() > 3  # grey levels: the magnified lip corners moved visibly more
    change = [np.abs(half[8] - half[0]).mean(axis=2)[MOUTH].mean() for half in (original, magnified)]
    assert change[1] > 3 * change[0]  # the right half is the magnified one

    from PIL import Image

    gif = out.with_suffix(".gif")
    assert str(gif) in result.stdout
    with Image.open(gif) as im:
        assert (im.n_frames, im.size) == (N, (448, 224))


def test_static_clip_magnifies_to_itself(clips):
    out = clips["tmp"] / "static.mp4"
    result = invoke(clips["static"], "-o", out, "--fps", 200, "--face", "none", "--alpha", 50)
    assert result.exit_code == 0, result.output
    frames, fps = read_video(out)
    assert frames.shape == (N, 224, 448, 3) and fps == pytest.approx(20)
    original, magnified = halves(frames)
    assert np.abs(magnified - original)[:, BODY].mean() < 1.5  # codec noise only
    assert np.abs(original[:, BODY] - original[:1, BODY]).mean() < 1.5  # the original half is the static frame


def test_python_api(clips):
    from mpt.magnify import magnify_video

    r = magnify_video(clips["static"], clips["tmp"] / "api.avi", fps=100, face="none", slow=1000, size=112)
    assert (r["frames"], r["width"], r["height"], r["playback_fps"], r["gif"]) == (N, 224, 112, 1.0, None)
    assert r["duration_s"] == pytest.approx(N)


def test_errors_give_one_line(clips):
    tmp = clips["tmp"]
    video = clips["video"]
    assert "not found" in one_error_line(invoke(tmp / "nope.mp4", "-o", tmp / "x.mp4"))
    assert "--out" in one_error_line(invoke(video, "-o", tmp / "x.gif"))
    assert "--alpha" in one_error_line(invoke(video, "-o", tmp / "x.mp4", "--alpha", 0))
    assert "half the frame rate" in one_error_line(invoke(video, "-o", tmp / "x.mp4", "--f-hi", 20))
    assert "after" in one_error_line(invoke(video, "-o", tmp / "x.mp4", "--onset", 5, "--offset", 2))
    assert "--fps" in one_error_line(invoke(clips["moving"], "-o", tmp / "x.mp4"))  # a folder has no frame rate
    assert not (tmp / "x.mp4").exists()


def test_tracked_and_haar_alignment(clips):
    """--track stabilises every frame (the still head's crop stays put, the lips still magnify more
    than the forehead; its sub-pixel frame-to-frame jitter is magnified too, so less so than with
    one transform: README); --face haar keeps the method before landmarks; --track needs landmarks."""
    tmp = clips["tmp"]
    for extra, ratio in ((["--track"], 2.0), (["--face", "haar"], 3.0)):
        out = tmp / f"{extra[-1]}.mp4"
        result = invoke(clips["moving"], "-o", out, "--fps", FPS, *extra)
        assert result.exit_code == 0, result.output
        frames, _ = read_video(out)
        assert frames.shape == (N, 224, 448, 3)
        original, magnified = halves(frames)
        assert np.abs(original[1, BODY] - original[0, BODY]).mean() < 2  # frames 0 and 1 are the same face
        diff = np.abs(magnified - original)[N // 2:].mean(axis=(0, 3))
        assert diff[MOUTH].mean() > ratio * diff[FOREHEAD].mean(), extra
    line = one_error_line(invoke(clips["moving"], "-o", tmp / "y.mp4", "--fps", FPS, "--face", "haar", "--track"))
    assert "--track needs landmarks" in line
