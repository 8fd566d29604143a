"""`mpt preprocess` through the CLI (CliRunner) on a fabricated CASME II layout and on `mpt synth` output."""

import os
from pathlib import Path

import cv2
import h5py
import numpy as np
import pytest
from typer.testing import CliRunner

from mpt.cli import app
from mpt_core.cache import read_cache_meta

runner = CliRunner()
HEADER = ["Subject", "Filename", "OnsetFrame", "ApexFrame", "OffsetFrame", "Action Units", "Estimated Emotion"]


def fabricate_casme2(root: Path, clips=(("01", "EP01_1", "happiness", 20), ("01", "EP02_3", "surprise", 18),
                                        ("02", "EP05_2f", "others", 22))):  # fmt: skip
    """``Cropped/subXX/CLIP/reg_imgN.jpg`` with drifting textures plus a coding .xlsx in the CASME II layout."""
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.append(HEADER)
    v, u = np.mgrid[0:60, 0:52].astype(np.float64)
    for i, (subject, clip, emotion, n) in enumerate(clips):
        folder = root / "Cropped" / f"sub{subject}" / clip
        folder.mkdir(parents=True)
        onset = 100 + 7 * i
        for k in range(n):
            img = 128 + 60 * np.sin(2 * np.pi * (u - 0.05 * k * (i + 1) + 0.4 * v) / (6 + i))
            cv2.imwrite(str(folder / f"reg_img{onset + k}.jpg"), np.repeat(img[:, :, None], 3, 2).astype(np.uint8))
        ws.append([subject, clip, onset, onset + n // 2, onset + n - 1, "12", emotion])
    wb.save(root / "CASME2-coding-test.xlsx")
    return root


def invoke(*args):
    return runner.invoke(app, ["preprocess", *map(str, args)])


def test_cli_writes_then_reuses_a_cache(tmp_path):
    root = fabricate_casme2(tmp_path / "casme2")
    args = ("casme2", "--root", root, "--annotations", root / "CASME2-coding-test.xlsx", "--cache-dir",
            tmp_path / "cache", "--size", 64, "--jobs", 1)  # fmt: skip
    result = invoke(*args)
    assert result.exit_code == 0, result.output
    path = Path(result.stdout.strip().splitlines()[-1])
    meta = read_cache_meta(path)
    assert meta.n_clips == 3 and meta.dataset == "casme2" and meta.settings["size"] == 64
    with h5py.File(path, "r") as f:
        assert [c.decode() for c in f["clip"][()]] == ["EP01_1", "EP02_3", "EP05_2f"]
        assert f["motion"].shape == (3, 16, 64, 64, 3)
    mtime = os.stat(path).st_mtime_ns
    again = invoke(*args)
    assert again.exit_code == 0 and again.stdout.strip().splitlines()[-1] == str(path)
    assert "reusing" in again.output and os.stat(path).st_mtime_ns == mtime
    other = invoke(*args, "--alpha", 5)
    assert other.exit_code == 0 and other.stdout.strip().splitlines()[-1] != str(path)
    assert os.stat(path).st_mtime_ns == mtime


def test_cli_strict_reports_the_bad_frame(tmp_path):
    root = fabricate_casme2(tmp_path / "casme2")
    bad = root / "Cropped" / "sub01" / "EP02_3" / "reg_img110.jpg"
    bad.write_bytes(b"not a jpeg")
    args = ("casme2", "--root", root, "--annotations", root / "CASME2-coding-test.xlsx", "--cache-dir",
            tmp_path / "cache", "--size", 64, "--jobs", 1)  # fmt: skip
    result = invoke(*args, "--strict")
    assert result.exit_code == 1
    assert str(bad) in result.output and "cannot decode" in result.output and "--strict" in result.output
    assert not list((tmp_path / "cache").glob("*.h5"))
    lenient = invoke(*args)
    assert lenient.exit_code == 0
    assert f"skipped sub01/EP02_3: {bad}" in lenient.output
    assert read_cache_meta(lenient.stdout.strip().splitlines()[-1]).n_clips == 2


@pytest.mark.parametrize(
    "extra, message",
    [(("--jobs", 0), "--jobs"), (("--motion-output", "both"), "--motion-output"), (("--levels", 0), "levels")],
)
def test_cli_rejects_bad_options(tmp_path, extra, message):
    root = fabricate_casme2(tmp_path / "casme2")
    result = invoke("casme2", "--root", root, "--cache-dir", tmp_path / "cache", *extra)
    assert result.exit_code != 0 and message in result.output
    assert invoke("casme3", "--root", root).exit_code != 0


def test_acceptance_on_mpt_synth_output(tmp_path):
    synth = pytest.importorskip("preprocess.synth")
    if not hasattr(synth, "generate_synthetic"):
        pytest.skip("preprocess.synth.generate_synthetic not available")
    root = tmp_path / "synth"
    synth.generate_synthetic(root, subjects=2, clips_per_subject=2, seed=0, jobs=1, progress=False)
    args = ("casme2", "--root", root, "--annotations", root / "CASME2-coding-synth.xlsx", "--cache-dir", tmp_path / "c")
    result = invoke(*args, "--jobs", 2)
    assert result.exit_code == 0, result.output
    path = Path(result.stdout.strip().splitlines()[-1])
    meta = read_cache_meta(path)
    n = meta.n_clips
    assert n == 4 and meta.classes == ("happiness", "surprise", "disgust", "repression", "others")
    with h5py.File(path, "r") as f:
        assert f["rank"].shape == (n, 224, 224, 3) and f["rank"].dtype == np.uint8
        assert f["motion"].shape == (n, 16, 224, 224, 3) and f["motion"].dtype == np.uint8
        for name in ("label", "onset", "apex", "offset", "n_frames"):
            assert f[name].shape == (n,) and f[name].dtype == np.int64
        assert len(f["subject"]) == len(f["clip"]) == n and f.attrs["complete"]
        assert np.all(f["n_frames"][()] == f["offset"][()] - f["onset"][()] + 1)
    mtime = os.stat(path).st_mtime_ns
    again = invoke(*args)
    assert again.exit_code == 0 and "reusing" in again.output and os.stat(path).st_mtime_ns == mtime
