"""A model trained on a corpus's tight crops, applied to raw whole frames of the same clips: `mpt predict`
cuts the face the way the run's cache framed it, and gives the fold records' answers (issue 25).

The data: ``preprocess.synth.framing``: every clip as CASME II-style crops (1.8 x the inter-ocular
distance wide, eyes at 28 %, 230 x 280 px) and as 640 x 480 whole frames (rolled, off-centre, hair and
backdrop around the face). Before framings were recorded, predict cut raw faces in mpt's canonical
frame: that baseline is measured here too, and must be clearly worse (the test would have caught it).
"""

import contextlib
import io
import json
import shutil

import cv2
import numpy as np
import pytest
from typer.testing import CliRunner

from mpt.cli import app

runner = CliRunner()
SUBJECTS, CLIPS, EPOCHS = 4, 6, 20  # demo-like: 64 px, alpha 60, random ViT-Ti (1 block), lr 3e-3, fp32


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    import torch
    from safetensors.torch import save_file

    from mpt_core.cache import read_cache_meta
    from mpt_core.clip import PreprocessSettings
    from mpt_core.compat import import_timm
    from mpt_core.model import ModelSettings
    from preprocess.pipeline import build_cache
    from preprocess.synth.framing import generate_framing_pair
    from train.loop import run_loso
    from train.settings import TrainSettings

    tmp = tmp_path_factory.mktemp("framing")
    coding, whole = generate_framing_pair(tmp / "data", subjects=SUBJECTS, clips_per_subject=CLIPS, seed=0, jobs=1)
    cache = build_cache("casme2", coding.parent, coding, settings=PreprocessSettings(size=64, alpha=60.0),
                        cache_dir=tmp / "cache", jobs=1, progress=False)
    torch.manual_seed(3)
    vit = import_timm().create_model("vit_tiny_patch16_224", pretrained=False, num_classes=0, img_size=64, depth=1)
    weights = tmp / "vit.safetensors"
    save_file(dict(vit.state_dict()), str(weights))
    run = run_loso(cache, train_settings=TrainSettings(epochs=EPOCHS, batch_size=8, lr=3e-3, device="cpu",
                                                       precision="fp32", seed=0),
                   model_settings=ModelSettings(backbone="vit_tiny_patch16_224", depth=1, img_size=64, motion_size=16),
                   out=tmp / "run", weights=weights, progress=False)
    return {"tmp": tmp, "coding": coding, "whole": whole, "cache": cache, "meta": read_cache_meta(cache), "run": run}


def predict_whole(pair, framing=None) -> dict:
    """Each clip's whole frames through its fold's model: agreement and |dp| against the fold records."""
    from mpt.inference import predict
    from train.runs import RunFolder

    agree, diffs = 0, []
    for rec in RunFolder(pair["run"]).fold_records():
        inputs = [pair["whole"] / rec["subject"] / clip for clip in rec["clips"]]
        with contextlib.redirect_stderr(io.StringIO()):
            result = predict(inputs, pair["run"], model=rec["subject"], fps=200, device="cpu", framing=framing,
                             spot="off")
        for clip, probs, pred in zip(result["clips"], rec["probabilities"], rec["predictions"]):
            p = np.array(list(clip["probabilities"].values()))
            agree += int(np.argmax(p) == int(pred))
            diffs.append(np.abs(p - np.array(probs)))
    d = np.array(diffs)
    return {"agree": agree / len(d), "mean_dp": float(d.mean()), "clip_max_dp": float(np.median(d.max(axis=1)))}


def test_the_cache_records_the_crops_framing_and_the_run_copies_it(pair):
    framing = pair["meta"].framing
    record = framing["sources"]["casme2"]
    assert record["clips"] == SUBJECTS * CLIPS and record["landmarks_found"] == SUBJECTS * CLIPS
    assert record["fell_back"] == 0 and sum(record["landmarks_from"].values()) == SUBJECTS * CLIPS
    typical = framing["typical"]
    # cut at 1.8 x the synthetic sclera centres' distance; dlib's eye centres sit a little closer together
    assert 1.75 < typical["width_per_iod"] < 1.95 and 0.26 < typical["eye_height"] < 0.30
    assert typical["source_size"] == [230, 280] and typical["aspect"] == pytest.approx(230 / 280, abs=1e-3)
    config = json.loads((pair["run"] / "config.json").read_text())
    assert config["face"] == {"mode": "none", "landmarks": None, "track": False, "aligner": None, "framing": typical}


def test_predict_on_whole_frames_gives_the_fold_records_answers(pair):
    ours = predict_whole(pair)
    before = predict_whole(pair, framing="canonical")  # how a crop-trained run was applied before
    print(f"run's framing: {ours}; canonical: {before}")
    assert ours["agree"] >= 0.9
    assert ours["mean_dp"] < 0.07 and ours["mean_dp"] < 0.6 * before["mean_dp"]
    assert before["agree"] < ours["agree"]


def test_landmarks_and_regions_in_predicts_crop_match_the_training_crops(pair):
    """The 68 points fitted on each training crop (at its own size, squeezed to 224) against the raw
    frame's points through predict's transform (at 224), and describe's region centres from each."""
    from mpt.rawclip import run_framing
    from mpt_core.regions import LANDMARK_REGIONS, PAIRED, eye_frame, landmark_eyes, mirror_68
    from preprocess.face.align import locate_face
    from preprocess.face.framing import fit_crop

    def centres(points):  # unclipped: a tight crop cuts the chin region's lower part off
        _, _, v, d = eye_frame(landmark_eyes(points))
        return np.array([sum(wt * points[(mirror_68 if k else int)(i)] for i, wt in weights.items()) + down * d * v
                         for stem, (weights, _, down) in LANDMARK_REGIONS.items()
                         for k in ((0, 1) if stem in PAIRED else (0,))])

    framing = run_framing(json.loads((pair["run"] / "config.json").read_text()), pair["run"])[0]
    inner, eyes, regions = [], [], []
    for clip in sorted((pair["coding"].parent / "Cropped").glob("*/*")):
        raw = min((pair["whole"] / clip.parent.name / clip.name).glob("*.jpg"), key=lambda p: int(p.stem))
        crop = cv2.imread(str(clip / f"reg_img{raw.stem}.jpg"))[..., ::-1]
        h, w = crop.shape[:2]
        trained = (fit_crop(crop).points + 0.5) * (224 / w, 224 / h) - 0.5
        frame = np.ascontiguousarray(cv2.imread(str(raw))[..., ::-1])
        applied = locate_face(frame, framing=framing).landmarks_in_crop(224)
        dist = np.hypot(*(applied - trained).T)
        inner.append(dist[17:].mean())  # brows, nose, eyes, mouth (the jaw lies outside a tight crop)
        eyes.append(dist[36:48].mean())
        regions.append(np.hypot(*(centres(applied) - centres(trained)).T).mean())
    print(f"px at 224: inner points {np.mean(inner):.2f}, eyes {np.mean(eyes):.2f}, regions {np.mean(regions):.2f}")
    assert np.mean(eyes) < 2.5 and np.max(eyes) < 4.0
    assert np.mean(inner) < 4.0 and np.mean(regions) < 4.0


def test_save_crops_puts_the_framed_crop_beside_a_training_crop(pair, tmp_path):
    subject = "sub01"
    clip = sorted((pair["whole"] / subject).iterdir())[0]
    r = runner.invoke(app, ["predict", str(clip), "--run", str(pair["run"]), "--model", subject, "--fps", "200",
                            "--save-crops", str(tmp_path)])
    assert r.exit_code == 0, r.output
    assert "framing: measured framing: width 1." in r.stdout  # the framing used, one line of the table
    compare = cv2.imread(str(tmp_path / f"{clip.name}-compare.png"))
    assert compare.shape == (224, 456, 3)
    ours, theirs = compare[:, :224].astype(float), compare[:, 232:].astype(float)
    assert ours.std() > 5 and theirs.std() > 5
    # the same subject's face, framed alike: far closer than to the canonical crop of the same frame
    canon = tmp_path / "canon"
    r = runner.invoke(app, ["predict", str(clip), "--run", str(pair["run"]), "--model", subject, "--fps", "200",
                            "--save-crops", str(canon), "--framing", "canonical"])
    assert r.exit_code == 0, r.output
    canonical = cv2.imread(str(canon / f"{clip.name}-compare.png"))[:, :224].astype(float)
    assert np.abs(ours - theirs).mean() < 0.6 * np.abs(canonical - theirs).mean()


def one_line(result) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_a_face_cut_by_the_border_is_one_error_line_saying_how_much(pair, tmp_path):
    from preprocess.face.align import locate_face

    clip = sorted((pair["whole"] / "sub02").iterdir())[0]
    frames = sorted(clip.glob("*.jpg"), key=lambda p: int(p.stem))
    first = cv2.imread(str(frames[0]))
    eyes = locate_face(np.ascontiguousarray(first[..., ::-1])).eyes
    mid_x = (eyes[0][0] + eyes[1][0]) / 2
    iod = np.hypot(eyes[1][0] - eyes[0][0], eyes[1][1] - eyes[0][1])
    shift = 0.55 * iod - mid_x  # the eye midpoint 0.55 IOD from the left edge: 40 % of a 1.8 IOD crop is outside
    out = tmp_path / "cut"
    out.mkdir()
    for f in frames:
        img = cv2.imread(str(f))
        cv2.imwrite(str(out / f.name), cv2.warpAffine(img, np.float32([[1, 0, shift], [0, 1, 0]]), img.shape[1::-1],
                                                      borderMode=cv2.BORDER_CONSTANT, borderValue=(90, 90, 90)))
    r = runner.invoke(app, ["predict", str(out), "--run", str(pair["run"]), "--fps", "200"])
    assert r.exit_code == 1 and r.stdout == ""
    line = one_line(r)
    assert line.startswith("error: ") and "the face is cut by the frame's border" in line
    assert " % of the crop the run's framing needs lies outside the frame (" in line
    assert "px beyond the left edge" in line


def test_an_older_run_without_a_framing_says_what_is_assumed(pair, tmp_path):
    run = tmp_path / "old-run"
    shutil.copytree(pair["run"], run)
    config = json.loads((run / "config.json").read_text())
    del config["face"]  # as runs made before framings were recorded
    (run / "config.json").write_text(json.dumps(config))
    clip = sorted((pair["whole"] / "sub03").iterdir())[0]
    r = runner.invoke(app, ["predict", str(clip), "--run", str(run), "--model", "sub03", "--fps", "200", "--json"])
    assert r.exit_code == 0, r.output
    line = one_line(r)
    assert line.startswith("warning: ") and "records no face framing" in line
    assert "assuming mpt's canonical framing (width 2.80 x the inter-ocular distance, eyes at 36 %" in line
    assert json.loads(r.stdout)["framing"]["assumed"] is True


def test_an_old_cache_of_crops_stays_readable(pair, tmp_path):
    """A cache made before framings were recorded (no framing attribute, "" as each row's face) is read
    as before; the run trained on it records no framing."""
    import h5py

    from mpt_core.cache import read_cache_index, read_cache_meta
    from mpt_core.framing import face_record

    old = tmp_path / pair["cache"].name
    shutil.copy(pair["cache"], old)
    with h5py.File(old, "r+") as f:
        del f.attrs["framing"]
        f["face"][:] = ""
    meta = read_cache_meta(old)
    assert meta.framing is None and meta.cache_key == pair["meta"].cache_key and meta.n_clips == SUBJECTS * CLIPS
    assert (read_cache_index(old).face == "").all()
    assert face_record(meta.input.get("face"), meta.framing)["framing"] is None


def test_explain_places_its_regions_from_landmarks_not_haar_eyes(pair, monkeypatch):
    """`mpt explain`'s region description of a cache clip: the 68 landmarks are fitted on its frames
    (a tight crop: no detector needed); Haar's eyes are never asked for."""
    import mpt.describe
    from mpt.explain import ClipRef, motion_describer
    from mpt_core.cache import cache_index, open_cache

    placed = []
    real = mpt.describe.describe_clip_frames

    def spy(frames, **kw):
        placed.append(kw)
        return real(frames, **kw)

    def no_haar(*a, **k):
        raise AssertionError("Haar eyes asked for")

    monkeypatch.setattr(mpt.describe, "describe_clip_frames", spy)
    monkeypatch.setattr(mpt.describe, "detected_eyes", no_haar)
    with open_cache(pair["cache"]) as f:
        index = cache_index(f)
        motion = f["motion"][0]  # (T, 64, 64, 3): the magnified frames the model saw
    text = motion_describer(index)(ClipRef(0, str(index.subjects[0]), str(index.clips[0]), 0, "final"), motion)
    assert placed and placed[0]["landmarks"] == "detect" and "eyes" not in placed[0]
    assert text.startswith("On the magnified frames") and "no motion description" not in text


def test_describe_on_whole_frames_in_the_run_framing_matches_describe_on_the_crops(pair):
    """`mpt describe --framing RUN` on a clip's raw frames and `mpt describe --face none` on its corpus
    crops: the same apex and AU candidates, the eyes (that place the regions) within a few px at 224."""
    from mpt.describe import describe

    for subject in ("sub01", "sub02", "sub03", "sub04"):
        clip = sorted((pair["whole"] / subject).iterdir())[0]
        frames = sorted(clip.glob("*.jpg"), key=lambda p: int(p.stem))
        with contextlib.redirect_stderr(io.StringIO()):
            raw = describe(clip, fps=200, framing=str(pair["run"]))
            crop = describe(pair["coding"].parent / "Cropped" / subject / clip.name, fps=200, face="none",
                            onset=int(frames[0].stem), offset=int(frames[-1].stem))
        w, h = 230, 280  # the crops' own pixels -> the framed crop's 224 x 224
        eyes = [((x + 0.5) * 224 / w - 0.5, (y + 0.5) * 224 / h - 0.5) for x, y in crop["eyes"]["points"]]
        assert raw["eyes"]["from"] == crop["eyes"]["from"] == "landmarks"
        assert np.abs(np.array(raw["eyes"]["points"]) - np.array(eyes)).max() < 4.0
        assert raw["apex"] == crop["apex"]
        assert {a["au"] for a in raw["au_candidates"]} == {a["au"] for a in crop["au_candidates"]}
