"""`mpt predict` on raw clips: the same probabilities as the run's own evaluation, final and ensemble
models, a real face in a video, and one error line for each bad input."""

import json
import shutil

import cv2
import numpy as np
import pytest
from typer.testing import CliRunner

skimage_data = pytest.importorskip("skimage.data")

import clierrors  # noqa: E402
from mpt.cli import app  # noqa: E402
from test_face_align import box_contains, scene, true_roll  # noqa: E402

runner = CliRunner()
FPS = 200  # the synthetic data is read as CASME II


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """Synthetic data (3 subjects x 4 clips), its cache at 32 px, a backbone weights file, and one
    LOSO run with a final model, trained in fp32 on the CPU."""
    import torch
    from safetensors.torch import save_file

    from mpt_core.cache import read_cache_index
    from mpt_core.clip import PreprocessSettings
    from mpt_core.compat import import_timm
    from mpt_core.model import ModelSettings
    from preprocess.pipeline import build_cache
    from preprocess.synth import generate_synthetic
    from train.loop import run_loso
    from train.settings import TrainSettings

    tmp = tmp_path_factory.mktemp("predict")
    data = tmp / "data"
    generate_synthetic(data, subjects=3, clips_per_subject=4, seed=0, size=64, progress=False)
    cache = build_cache("casme2", data, data / "CASME2-coding-synth.xlsx", settings=PreprocessSettings(size=32),
                        cache_dir=tmp / "cache", jobs=1, progress=False)
    torch.manual_seed(3)
    vit = import_timm().create_model("vit_tiny_patch16_224", pretrained=False, num_classes=0, img_size=32, depth=1)
    weights = tmp / "vit.safetensors"
    save_file(dict(vit.state_dict()), str(weights))
    other = tmp / "other.safetensors"
    save_file({k: v + 1 for k, v in vit.state_dict().items()}, str(other))
    run = run_loso(cache, train_settings=TrainSettings(epochs=2, batch_size=4, device="cpu", precision="fp32"),
                   model_settings=ModelSettings(backbone="vit_tiny_patch16_224", depth=1, img_size=32),
                   out=tmp / "run", weights=weights, final=True, progress=False)
    return {"tmp": tmp, "data": data, "index": read_cache_index(cache), "run": run, "weights": weights,
            "other": other}


def invoke(*args):
    return runner.invoke(app, ["predict", *map(str, args)])


def ok_json(*args) -> dict:
    result = invoke(*args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)  # exactly one JSON object: anything else on stdout fails here


def clip_args(world, subject, clip):
    """A cached clip's raw frame folder with its annotated onset and offset."""
    ix = world["index"]
    row = int(np.flatnonzero((ix.subjects == subject) & (ix.clips == clip))[0])
    folder = world["data"] / "Cropped" / subject / clip
    return [folder, "--onset", ix.onset[row], "--offset", ix.offset[row], "--fps", FPS, "--face", "none"]


def one_error_line(result) -> str:
    return clierrors.one_error_line(result, quiet=True)


def test_online_equals_offline(world):
    """Every clip of a held-out subject, from its raw frames, gets the probabilities its fold
    recorded when the run evaluated it from the cache."""
    record = json.loads((world["run"] / "folds" / "sub02.json").read_text())
    classes = json.loads((world["run"] / "config.json").read_text())["classes"]
    assert len(record["clips"]) == 4
    for clip, probs in zip(record["clips"], record["probabilities"]):
        out = ok_json(*clip_args(world, "sub02", clip), "--run", world["run"], "--model", "sub02")
        assert out["model"] == "sub02" and out["classes"] == classes
        (entry,) = out["clips"]
        assert entry["face"] is None and entry["fps"] == FPS
        assert entry["frames"] == entry["offset"] - entry["onset"] + 1
        assert list(entry["probabilities"]) == classes
        np.testing.assert_allclose(list(entry["probabilities"].values()), probs, atol=1e-5)
        assert entry["prediction"] == classes[int(np.argmax(probs))]


def test_final_default_and_ensemble_is_the_mean_of_the_folds(world, monkeypatch):
    import mpt_core.model
    from mpt import predict

    args = clip_args(world, "sub01", world["index"].clips[0])
    folder, options = args[0], dict(onset=int(args[2]), offset=int(args[4]), fps=FPS, face="none")
    final = ok_json(*args, "--run", world["run"], "--model", "final")
    default = ok_json(*args, "--run", world["run"])
    assert final["model"] == default["model"] == "final"
    assert final["clips"][0]["probabilities"] == default["clips"][0]["probabilities"]
    assert sum(final["clips"][0]["probabilities"].values()) == pytest.approx(1.0, abs=1e-5)

    folds = [predict(folder, world["run"], model=s, **options)["clips"][0]["probabilities"]
             for s in ("sub01", "sub02", "sub03")]
    ensemble = ok_json(*args, "--run", world["run"], "--model", "ensemble")
    assert ensemble["model"] == "ensemble" and ensemble["members"] == ["sub01", "sub02", "sub03"]
    mean = np.mean([list(p.values()) for p in folds], axis=0)
    np.testing.assert_allclose(list(ensemble["clips"][0]["probabilities"].values()), mean, atol=1e-6)
    assert not np.allclose(list(folds[0].values()), list(folds[1].values()), atol=1e-4)  # members differ

    # the models are loaded once per call, whatever the number of inputs
    real, calls = mpt_core.model.load_checkpoint, []
    monkeypatch.setattr(mpt_core.model, "load_checkpoint", lambda *a, **k: calls.append(a) or real(*a, **k))
    twice = predict([folder, folder], world["run"], model="ensemble", **options)
    assert len(calls) == 1 and len(twice["clips"]) == 2
    assert twice["clips"][1]["probabilities"] == pytest.approx(ensemble["clips"][0]["probabilities"], abs=1e-6)


@pytest.fixture(scope="module")
def video(world):
    """12 frames of 640x480 at 25 fps: the astronaut photo rolled by 8 degrees, drifting 0.1 px a frame."""
    frame, eyes = scene(skimage_data.astronaut(), angle=8)
    path = world["tmp"] / "astronaut.mp4"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 25.0, (640, 480))
    assert writer.isOpened(), "OpenCV cannot write mp4v here"
    for k in range(12):
        shifted = cv2.warpAffine(frame, np.float32([[1, 0, 0.1 * k], [0, 1, 0]]), (640, 480),
                                 borderMode=cv2.BORDER_REPLICATE)
        writer.write(cv2.cvtColor(shifted, cv2.COLOR_RGB2BGR))
    writer.release()
    return path, eyes


def test_video_with_face_auto_and_saved_crops(world, video, tmp_path):
    path, eyes = video
    out = ok_json(path, "--run", world["run"], "--save-crops", tmp_path / "crops")
    (entry,) = out["clips"]
    assert entry["fps"] == 25 and (entry["onset"], entry["offset"], entry["frames"]) == (0, 11, 12)
    assert box_contains(entry["face"]["box"], eyes)
    assert entry["face"]["angle_deg"] == pytest.approx(true_roll(eyes), abs=3.0)
    saved = {p.name: cv2.imread(str(p)) for p in (tmp_path / "crops").glob("*.png")}
    assert {n: im.shape for n, im in saved.items()} == {
        "astronaut-onset.png": (32, 32, 3), "astronaut-rank.png": (32, 32, 3),
        "astronaut-motion.png": (32, 16 * 32, 3),
        "astronaut-compare.png": (224, 2 * 224 + 8, 3),  # predict's first frame | a training clip's, at 224
    }
    assert all(im.std() > 5 for im in saved.values())  # pictures, not blanks

    table = invoke(path, "--run", world["run"], "--onset", 2, "--offset", 9)  # the human-readable form
    assert table.exit_code == 0, table.output
    assert "model final" in table.stdout and "frames 2..9 (8 frames at 25 fps)" in table.stdout
    assert sum(line.startswith("  * ") for line in table.stdout.splitlines()) == 1  # one top class


def test_bad_inputs_give_one_error_line(world, video, tmp_path):
    run, clip = world["run"], clip_args(world, "sub01", world["index"].clips[0])
    folder, onset, offset = clip[0], int(clip[2]), int(clip[4])
    garbage = tmp_path / "garbage.mp4"
    garbage.write_bytes(b"not a video" * 100)
    empty_run = tmp_path / "empty-run"
    empty_run.mkdir()
    no_models = tmp_path / "no-models"
    no_models.mkdir()
    shutil.copy(run / "config.json", no_models / "config.json")
    blank = tmp_path / "blank"  # grey frames: no face anywhere
    blank.mkdir()
    for n in range(1, 4):
        cv2.imwrite(str(blank / f"img{n}.png"), np.full((120, 160, 3), 128, np.uint8))
    folds_only = tmp_path / "folds-only"
    shutil.copytree(run / "folds", folds_only / "folds")
    shutil.copy(run / "config.json", folds_only / "config.json")
    cases = {
        "cannot open": (garbage, "--run", run),
        "2 or more frames": (folder, "--fps", FPS, "--onset", onset, "--offset", onset, "--run", run),
        f"onset {offset} is after offset {onset}": (folder, "--fps", FPS, "--onset", offset, "--offset", onset,
                                                    "--run", run),
        "outside the input": (folder, "--fps", FPS, "--offset", 99999, "--run", run),
        "outside the input (frames 0..11)": (video[0], "--onset", 12, "--run", run),
        "pass --fps": (folder, "--run", run),
        "no config.json": (folder, "--fps", FPS, "--run", empty_run),
        "no trained models": (folder, "--fps", FPS, "--run", no_models),
        "no final model": (folder, "--fps", FPS, "--face", "none", "--run", folds_only, "--model", "final"),
        "'sub99' is not final, ensemble or a fold's subject": (folder, "--fps", FPS, "--run", run, "--model", "sub99"),
        "no such file": (folder, "--fps", FPS, "--run", run, "--weights", tmp_path / "missing.safetensors"),
        "differ from the ones trained with": (folder, "--fps", FPS, "--face", "none", "--run", run, "--weights",
                                              world["other"]),
        "no face found in any frame of the clip; use --face none": (blank, "--fps", FPS, "--run", run),
        "--face 'yes' is not one of auto, haar, none": (folder, "--run", run, "--face", "yes"),
    }
    for expected, args in cases.items():
        line = one_error_line(invoke(*args))
        assert expected in line, (expected, line)

    moved = world["weights"].with_suffix(".moved")  # the weights the run recorded are gone
    world["weights"].rename(moved)
    try:
        line = one_error_line(invoke(folder, "--fps", FPS, "--face", "none", "--run", run))
    finally:
        moved.rename(world["weights"])
    assert "needs the backbone weights" in line


def test_face_lost_part_way_later_face_and_truncated_video(world, tmp_path):
    """Real failures: a face that leaves for a cartoon part-way (the clip is trimmed, with a warning,
    never classified whole); a face that appears only later (the error names the onset to use);
    a truncated video (says how many frames could not be decoded)."""
    from facescenes import cartoon, noisy, write_video

    still, _ = scene(skimage_data.astronaut())
    rng = np.random.default_rng(5)
    write_video(tmp_path / "leaves.avi", [noisy(still, rng) for _ in range(10)] + [cartoon(rng) for _ in range(8)],
                fps=25)
    r = invoke(tmp_path / "leaves.avi", "--run", world["run"], "--json")
    assert r.exit_code == 0, r.output
    (entry,) = json.loads(r.stdout)["clips"]
    assert (entry["onset"], entry["offset"], entry["frames"]) == (0, 9, 10)
    assert "the face is no longer where the onset frame had it from frame 10; using frames 0..9 only" in r.stderr
    r = invoke(tmp_path / "leaves.avi", "--run", world["run"], "--json", "--track")  # per frame: lost from 10
    assert r.exit_code == 0, r.output
    (entry,) = json.loads(r.stdout)["clips"]
    assert entry["frames"] == 10 and entry["face"]["aligner"] == "tracked"
    assert "the face is lost from frame 10; using frames 0..9 only" in r.stderr

    write_video(tmp_path / "later.avi", [cartoon(rng) for _ in range(7)] + [still] * 5, fps=25)
    line = one_error_line(invoke(tmp_path / "later.avi", "--run", world["run"]))
    assert "no face found; the first frame with a face is 7: pass --onset 7" in line
    assert "--face none" not in line

    write_video(tmp_path / "full.avi", [noisy(still, rng, 8.0) for _ in range(40)], fps=25)
    data = (tmp_path / "full.avi").read_bytes()
    (tmp_path / "cut.avi").write_bytes(data[: len(data) * 4 // 10])
    r = invoke(tmp_path / "cut.avi", "--run", world["run"], "--json")
    assert r.exit_code == 0, r.output
    n = json.loads(r.stdout)["clips"][0]["frames"]
    assert f"only {n} of the 40 frames the container states could be decoded" in r.stderr
