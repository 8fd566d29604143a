"""CAS(ME)^3 end to end without the real data: `mpt synth --layout casme3` (whole frames, the face
somewhere inside) -> `mpt preprocess casme3` (face detection and alignment, one transform per clip)
-> `mpt train` (tiny backbone)."""

import json
from pathlib import Path

import h5py
import numpy as np
import pytest
from typer.testing import CliRunner

from mpt.cli import app

runner = CliRunner()


@pytest.fixture(scope="module")
def synth(tmp_path_factory):
    out = tmp_path_factory.mktemp("c3")
    r = runner.invoke(app, ["synth", str(out / "data"), "--layout", "casme3", "--subjects", "3",
                            "--clips-per-subject", "3", "--seed", "0", "--jobs", "1"])
    assert r.exit_code == 0, r.output
    return out, Path(r.stdout.strip().splitlines()[-1])


def test_preprocess_aligns_faces_and_trains(synth):
    out, table = synth
    r = runner.invoke(app, ["preprocess", "casme3", "--root", str(out / "data"), "--annotations", str(table),
                            "--cache-dir", str(out / "cache"), "--size", "64", "--jobs", "1", "--strict",
                            "--no-progress"])
    assert r.exit_code == 0, r.output
    cache = Path(r.stdout.strip().splitlines()[-1])
    with h5py.File(cache) as f:
        faces = [json.loads(s) for s in f["face"][()]]
        rank = f["rank"][()]
        assert f["rank"].shape[1:] == (64, 64, 3) and len(faces) == 9
        identity = json.loads(f.attrs["input"])
    assert identity["face"] == "landmarks68"  # the aligner is part of the cache's identity
    for face in faces:  # every clip aligned from 68 landmarks, roll of at most the synth's 6 degrees
        assert face["aligner"] == "landmarks68" and len(face["landmarks"]) == 68, face
        assert face["eyes"] is not None and abs(face["angle_deg"]) <= 8, face
    assert rank.std() > 0
    run = runner.invoke(app, ["train", "--cache", str(cache), "--backbone", "vit_tiny_patch16_224", "--depth", "1",
                              "--img-size", "32", "--epochs", "1", "--device", "cpu", "--no-progress",
                              "--out", str(out / "run")])
    assert run.exit_code == 0, run.output
    res = json.loads((out / "run" / "results.json").read_text())
    assert res["dataset"] == "casme3" and res["clips"] == 9 and len(res["folds"]) == 3
    # --face none is allowed, and makes another cache
    none = runner.invoke(app, ["preprocess", "casme3", "--root", str(out / "data"), "--annotations", str(table),
                               "--cache-dir", str(out / "cache"), "--size", "64", "--jobs", "1", "--face", "none",
                               "--no-progress"])
    assert none.exit_code == 0 and none.stdout.strip().splitlines()[-1] != str(cache)
    with h5py.File(none.stdout.strip().splitlines()[-1]) as f:
        assert not np.array_equal(f["rank"][()], rank)
    # Haar keeps the key its caches had before landmarks ("auto"); tracking is another cache again
    paths = {str(cache)}
    for extra, expected in ((["--face", "haar"], "auto"), (["--landmarks", "5"], "landmarks5"),
                            (["--track"], {"aligner": "landmarks68"})):
        r = runner.invoke(app, ["preprocess", "casme3", "--root", str(out / "data"), "--annotations", str(table),
                                "--cache-dir", str(out / "cache"), "--size", "64", "--jobs", "1", "--strict",
                                "--no-progress", *extra])
        assert r.exit_code == 0, r.output
        path = r.stdout.strip().splitlines()[-1]
        assert path not in paths
        paths.add(path)
        with h5py.File(path) as f:
            face = json.loads(f.attrs["input"])["face"]
        if isinstance(expected, dict):
            assert face["aligner"] == "landmarks68" and face["track"]["landmarks"] == "68"
        else:
            assert face == expected
