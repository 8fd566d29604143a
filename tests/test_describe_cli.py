"""`mpt describe` on a real face: a smile-like warp of the astronaut photo's lip corners is named AU12,
a static clip gets no candidates, already-cropped frames work with --face none, and bad inputs give
one error line."""

import json

import cv2
import numpy as np
import pytest
from typer.testing import CliRunner

skimage_data = pytest.importorskip("skimage.data")

import clierrors  # noqa: E402
from mpt.cli import app  # noqa: E402
from preprocess.face import CANONICAL_EYES  # noqa: E402
from facescenes import HEAD, scene  # noqa: E402

runner = CliRunner()
FPS = 30.0
N = 12  # frames: still for 0..2, the lip corners rise over 3..7, then hold
# Lip corners (x, y) of skimage.data.astronaut(), read by hand from a 12x zoom: the dark ends of the
# mouth opening.
ASTRO_LIPS = np.array([(204.0, 140.5), (242.0, 142.0)])
AMP_224 = 1.5  # peak displacement at the lip corners, pixels of a 224 face crop
KEYS = {"input", "onset", "apex", "offset", "regions", "au_candidates", "text"}


# helpers


def smile_frames(*, amp_224=AMP_224, n=N):
    """n RGB 640x480 frames of the pasted photo; the lip corners move up and outward (0.8 up, 0.6
    outward, times ``amp_224`` at 224-crop scale) under a smooth Gaussian warp, ramping in over frames
    3..7. Returns the frames and the true eye centres."""
    frame, eyes = scene(skimage_data.astronaut())
    lips = ASTRO_LIPS - HEAD[:2] + (150, 60)  # scene()'s default paste offset, no rotation
    iod = float(np.hypot(*(eyes[1] - eyes[0])))
    amp = amp_224 * 2.8 * iod / 224  # the aligned crop's side is 2.8 inter-ocular distances
    gy, gx = np.mgrid[0:480, 0:640].astype(np.float32)
    field = np.zeros((2, 480, 640), np.float32)
    for cx, cy in lips:
        w = np.exp(-((gx - cx) ** 2 + (gy - cy) ** 2) / (2 * (0.2 * iod) ** 2))
        field[0] += amp * 0.6 * np.sign(cx - lips[:, 0].mean()) * w
        field[1] -= amp * 0.8 * w
    ramp = 0.5 - 0.5 * np.cos(np.pi * np.clip((np.arange(n) - 2) / 5, 0, 1))
    base = frame.astype(np.float32)
    out = [cv2.remap(base, gx - np.float32(e) * field[0], gy - np.float32(e) * field[1], cv2.INTER_LINEAR,
                     borderMode=cv2.BORDER_REPLICATE) for e in ramp]
    return np.clip(np.rint(out), 0, 255).astype(np.uint8), eyes


def write_video(path, frames, fps=FPS):
    h, w = frames.shape[1:3]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (w, h))
    assert writer.isOpened()
    for f in frames:
        writer.write(cv2.cvtColor(f, cv2.COLOR_RGB2BGR))
    writer.release()
    return path


def crop_to_canonical(frames, eyes, size=224):
    """Crops with the true eyes moved to CANONICAL_EYES (a similarity from the two eye points):
    what a dataset's or another tool's aligned face crop looks like."""
    src = np.asarray(eyes, np.float64)
    dst = np.array(CANONICAL_EYES) * size - 0.5
    s_vec, d_vec = src[1] - src[0], dst[1] - dst[0]
    z = complex(*d_vec) / complex(*s_vec)  # rotation and scale as one complex number
    linear = np.array([[z.real, -z.imag], [z.imag, z.real]])
    m = np.hstack([linear, (dst[0] - linear @ src[0])[:, None]])
    return np.stack([cv2.warpAffine(f, m, (size, size), flags=cv2.INTER_LINEAR) for f in frames])


def write_folder(folder, frames, first=1):
    folder.mkdir(parents=True)
    for i, f in enumerate(frames):
        cv2.imwrite(str(folder / f"reg_img{first + i}.png"), cv2.cvtColor(f, cv2.COLOR_RGB2BGR))
    return folder


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("describe")
    moving, eyes = smile_frames()
    static = np.repeat(moving[:1], N, axis=0)
    return {
        "moving": write_video(tmp / "smile.mp4", moving),
        "static": write_video(tmp / "static.mp4", static),
        "cropped": write_folder(tmp / "cropped", crop_to_canonical(moving, eyes), first=101),
        "static_cropped": write_folder(tmp / "static_cropped", crop_to_canonical(static, eyes)),
        "tmp": tmp,
    }


def invoke(*args):
    return runner.invoke(app, ["describe", *map(str, args)])


def ok_json(*args) -> dict:
    result = invoke(*args, "--json")
    assert result.exit_code == 0, result.output
    assert len(result.stdout.strip().splitlines()) == 1
    return json.loads(result.stdout)  # exactly one JSON object: anything else on stdout fails here


def aus(result) -> set:
    return {c["au"] for c in result["au_candidates"]}


def one_error_line(result) -> str:
    return clierrors.one_error_line(result, quiet=True)


# tests


def test_smile_video_gives_au12(clips):
    r = ok_json(clips["moving"], "--fps", FPS)
    assert KEYS <= set(r)
    assert "AU12" in aus(r)
    assert (r["onset"], r["offset"]) == (0, N - 1)
    assert r["apex_chosen"] == "max motion energy" and 3 <= r["apex"] <= N - 1  # the apex is where it moved
    regions = {x["name"]: x for x in r["regions"]}
    assert len(regions) == 18 and set(regions["chin"]) == {"name", "dx", "dy", "magnitude", "direction"}
    for side, sign in (("left", -1), ("right", 1)):  # up (dy < 0) and away from the face's midline
        corner = regions[f"lip_corner_{side}"]
        assert corner["direction"] == "up and outward", corner
        assert corner["dy"] < 0 and sign * corner["dx"] > 0
    for name in ("brow_inner_left", "brow_outer_right", "glabella", "upper_eyelid_left"):
        assert regions[name]["direction"] == "still"
    au12 = next(c for c in r["au_candidates"] if c["au"] == "AU12")
    assert 0.5 * AMP_224 <= au12["evidence_px"] <= 1.5 * AMP_224  # the warp's peak, averaged over a box
    assert "AU12" in r["text"] and "candidates" in r["text"]


def test_static_video_has_no_candidates(clips):
    r = ok_json(clips["static"])  # the video's own frame rate
    assert r["au_candidates"] == []
    assert all(x["direction"] == "still" for x in r["regions"])
    assert r["fps"] == pytest.approx(FPS)


def test_cropped_folder_with_face_none_and_a_given_apex(clips):
    r = ok_json(clips["cropped"], "--fps", FPS, "--face", "none", "--apex", 108, "--onset", 101)
    assert "AU12" in aus(r)
    assert (r["onset"], r["apex"], r["offset"], r["apex_chosen"]) == (101, 108, 100 + N, "given")
    assert r["face"] is None
    # wherever the eyes came from, they are close to where the crop put the true eyes
    want = np.array(CANONICAL_EYES) * 224 - 0.5
    assert np.abs(np.array(r["eyes"]["points"]) - want).max() < 6
    s = ok_json(clips["static_cropped"], "--fps", FPS, "--face", "none")
    assert s["au_candidates"] == []


def test_python_api_matches_the_cli(clips):
    from mpt.describe import describe

    r = describe(clips["moving"], fps=FPS, apex=7)
    assert json.loads(json.dumps(r)) == ok_json(clips["moving"], "--fps", FPS, "--apex", 7)


def test_table_output(clips):
    result = invoke(clips["moving"], "--fps", FPS, "--apex", 7)
    assert result.exit_code == 0, result.output
    assert "lip_corner_left" in result.stdout and "up and outward" in result.stdout
    assert "AU12" in result.stdout and "candidates" in result.stdout
    assert "not a trained AU detector" in result.stdout


def test_describe_clip_frames_on_cropped_arrays():
    from mpt.describe import describe_clip_frames

    moving, eyes = smile_frames()
    crops = crop_to_canonical(moving, eyes)  # canonical eyes: the default
    d = describe_clip_frames(crops, apex_index=7)
    assert "AU12" in {c.au for c in d.au_candidates}
    small = np.stack([cv2.resize(f, (32, 32), interpolation=cv2.INTER_AREA) for f in crops])  # a 32 px cache
    assert describe_clip_frames(small, apex_index=7).text


def test_errors_give_one_line(clips):
    assert "not found" in one_error_line(invoke(clips["tmp"] / "nope.mp4"))
    assert "after" in one_error_line(invoke(clips["moving"], "--onset", 5, "--offset", 3))
    assert "outside" in one_error_line(invoke(clips["moving"], "--apex", 40))
    assert "--apex" in one_error_line(invoke(clips["moving"], "--onset", 4, "--apex", 4))
    assert "--face" in one_error_line(invoke(clips["moving"], "--face", "maybe"))
    assert "--fps" in one_error_line(invoke(clips["cropped"]))  # a folder has no frame rate
    blank = write_video(clips["tmp"] / "blank.mp4", np.full((3, 120, 160, 3), 90, np.uint8))
    assert "no face found" in one_error_line(invoke(blank))


def test_moving_head_and_strong_roll_still_give_au12(clips):
    """The smile under head motion (translation +-30 px, roll +-10 deg, scale +-5 % over 2 s), and on
    the video rotated by -20 and +20 degrees: tracked and stabilised, the lip corners still name AU12
    and nothing fires in the upper face (where head motion used to make brow and lid AUs up). The
    warp drags the lips' middle a little too (0.3 px): AU10 may join AU12 there."""
    from facescenes import head_motion

    tmp, n = clips["tmp"], 60
    base, _ = smile_frames(n=n)  # the smile rises over base frames 3..7
    moving = [cv2.warpAffine(base[min(max(i - 25, 0), n - 1)], head_motion(i, FPS), (640, 480),
                             borderMode=cv2.BORDER_REPLICATE) for i in range(n)]
    # lossless frames: a codec's artefacts at this size are as large as the 1.5 px smile
    r = ok_json(write_folder(tmp / "moving-head", np.stack(moving)), "--fps", FPS)
    assert aus(r) == {"AU12"}, r["au_candidates"]
    assert r["eyes"]["from"] == "landmarks" and r["face"]["aligner"] == "tracked" and r["face"]["lost"] == []
    smile, _ = smile_frames()
    for angle in (-20, 20):
        m = cv2.getRotationMatrix2D((320.0, 240.0), angle, 1.0)
        rolled = [cv2.warpAffine(f, m, (640, 480), borderMode=cv2.BORDER_REPLICATE) for f in smile]
        r = ok_json(write_folder(tmp / f"roll{angle}", np.stack(rolled)), "--fps", FPS)
        assert "AU12" in aus(r) and aus(r) <= {"AU12", "AU10"}, (angle, r["au_candidates"])
        assert np.sign(r["face"]["angle_deg"]) == np.sign(angle)


def test_five_landmarks_are_refused_and_haar_still_works(clips):
    assert "places no regions" in one_error_line(invoke(clips["moving"], "--landmarks", "5"))
    r = ok_json(clips["moving"], "--fps", FPS, "--face", "haar", "--apex", 7)
    assert "AU12" in aus(r) and r["face"]["aligner"] == "haar" and r["eyes"]["from"] == "aligned"
