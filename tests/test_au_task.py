"""`mpt train --task au`: multi-label AU detection from the clips' AU strings, end to end.

`mpt synth` writes each clip's AU string and draws exactly those AUs as motion, so its strings are the
truth. A tiny random backbone trains one epoch here (the wiring, the records, the report and
`mpt predict`); whether it *learns* is measured in bench/au_learning.py (figures in bench/README.md).
"""

import json

import numpy as np
import pytest
from sklearn.metrics import f1_score, roc_auc_score
from typer.testing import CliRunner

from mpt.cli import app
from mpt_core.aus import parse_aus

runner = CliRunner()
TINY = ["--backbone", "vit_tiny_patch16_224", "--depth", "1", "--img-size", "32", "--epochs", "1", "--batch-size",
        "4", "--device", "cpu", "--precision", "fp32", "--no-progress"]
AUS = "1,2,4,6,9,10,12,14,15,17,43"  # AU43 is never drawn by mpt synth: no training clip shows it


@pytest.fixture(scope="module")
def au_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("au")
    # the easy preset: on 18 clips every AU but AU43 must be drawn; the calibrated one draws the real
    # frequencies (AU6 and AU10 are rare)
    result = runner.invoke(app, ["synth", str(root / "synth"), "--subjects", "3", "--clips-per-subject", "6",
                                 "--size", "32", "--jobs", "1", "--preset", "easy"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["preprocess", "casme2", "--root", str(root / "synth"), "--size", "32", "--frames",
                                 "8", "--jobs", "1", "--no-progress", "--cache-dir", str(root / "cache")])
    assert result.exit_code == 0, result.output
    cache = result.stdout.strip().splitlines()[-1]
    result = runner.invoke(app, ["train", "--cache", cache, "--task", "au", "--aus", AUS, *TINY, "--fold-batch", "3",
                                 "--out", str(root / "run")])
    assert result.exit_code == 0, result.output
    return root, cache, result.stdout


def _records(run):
    return [json.loads(p.read_text()) for p in sorted((run / "folds").glob("*.json"))]


def test_results_per_au_equal_scikit_learn_on_the_records(au_run):
    root, cache, _ = au_run
    res = json.loads((root / "run" / "results.json").read_text())
    names = [f"AU{a}" for a in AUS.split(",")]
    assert res["task"] == "au" and res["protocol"] == "loso" and res["aus"] == names
    folds = _records(root / "run")
    labels = np.concatenate([f["labels"] for f in folds])
    preds = np.concatenate([f["predictions"] for f in folds])
    probs = np.concatenate([f["probabilities"] for f in folds])
    assert labels.shape == preds.shape == probs.shape == (res["clips"], len(names))
    assert np.array_equal(preds, (probs >= 0.5).astype(int))
    f1s = []
    for j, name in enumerate(names):
        known = labels[:, j] >= 0
        want = f1_score(labels[known, j], preds[known, j], zero_division=0)
        assert res["per_au"][name]["f1"] == pytest.approx(want)
        assert res["per_au"][name]["positives"] == int(labels[known, j].sum())
        if 0 < labels[known, j].sum() < known.sum():
            assert res["per_au"][name]["auc"] == pytest.approx(roc_auc_score(labels[known, j], probs[known, j]))
        else:
            assert res["per_au"][name]["auc"] is None
        if name != "AU43":
            f1s.append(want)
    assert res["mean_f1"] == pytest.approx(np.mean(f1s))
    assert set(res["baselines"]) == {"all_negative", "all_positive", "prior"}


def test_labels_are_the_synthetic_au_strings(au_run):
    root, cache, _ = au_run
    import h5py

    with h5py.File(cache, "r") as f:
        strings = {(s.decode(), c.decode()): a.decode() for s, c, a in zip(f["subject"][()], f["clip"][()], f["au"][()])}
    for fold in _records(root / "run"):
        for clip, row in zip(fold["clips"], fold["labels"]):
            present = parse_aus(strings[fold["subject"], clip]).present
            assert row == [int(int(n) in present) for n in AUS.split(",")]


def test_an_au_no_training_clip_shows_is_warned_excluded_and_listed(au_run):
    root, _, stdout = au_run
    res = json.loads((root / "run" / "results.json").read_text())
    assert "warning: no training clip shows AU43" in stdout
    assert res["excluded"] == ["AU43"] and res["per_au"]["AU43"]["positives"] == 0
    summary = (root / "run" / "summary.md").read_text()
    assert "Excluded from the mean (no training clip shows them): AU43." in summary
    assert "| AU43 (excluded) |" in summary and "all negative 0.0 %" in summary


def test_every_fold_record_lists_its_train_subjects(au_run):
    root, _, _ = au_run
    subjects = ["sub01", "sub02", "sub03"]
    for r in _records(root / "run"):
        assert r["train_subjects"] == [s for s in subjects if s != r["subject"]] and r["test_subjects"] == [r["subject"]]
        assert set(r["train_positives"]) == {f"AU{a}" for a in AUS.split(",")}


def test_predict_prints_per_au_probabilities(au_run):
    root, _, _ = au_run
    clip = sorted((root / "synth" / "Cropped" / "sub01").iterdir())[0]
    result = runner.invoke(app, ["predict", str(clip), "--run", str(root / "run"), "--face", "none", "--fps", "200",
                                 "--device", "cpu", "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["task"] == "au" and out["classes"] == [f"AU{a}" for a in AUS.split(",")]
    (entry,) = out["clips"]
    probs = entry["probabilities"]
    assert all(0 <= p <= 1 for p in probs.values()) and abs(sum(probs.values()) - 1) > 1e-3  # sigmoids, not softmax
    assert entry["prediction"] == [a for a, p in probs.items() if p >= 0.5]
    table = runner.invoke(app, ["predict", str(clip), "--run", str(root / "run"), "--face", "none", "--fps", "200",
                                "--device", "cpu"])
    assert table.exit_code == 0 and "AU12" in table.stdout and "AUs present (probability >= 0.5)" in table.stdout


def test_bad_au_options(au_run, tmp_path):
    root, cache, _ = au_run
    for extra, message in [(["--task", "au", "--aus", "1,x"], "--aus '1,x': bad AU 'x'"),
                           (["--aus", "1,2"], "--aus applies to --task au"),
                           (["--task", "pose"], "--task 'pose' is not one of emotion, au")]:
        result = runner.invoke(app, ["train", "--cache", cache, *extra, *TINY, "--out", str(tmp_path / "r")])
        assert result.exit_code == 1 and message in result.stderr, (extra, result.output)


def test_fold_batched_training_equals_the_per_fold_loop(au_run, tmp_path):
    """The AU loss (masked, positives weighted per fold) is the same math in both trainers."""
    root, cache, _ = au_run
    result = runner.invoke(app, ["train", "--cache", cache, "--task", "au", "--aus", AUS, *TINY, "--fold-batch", "1",
                                 "--out", str(tmp_path / "one")])
    assert result.exit_code == 0, result.output
    batched = {r["subject"]: r for r in _records(root / "run")}
    for r in _records(tmp_path / "one"):
        assert r["fold_batch"] == 1 and batched[r["subject"]]["fold_batch"] == 3
        assert np.allclose(r["probabilities"], batched[r["subject"]]["probabilities"], atol=1e-4)
        assert r["predictions"] == batched[r["subject"]]["predictions"]


def test_explain_refuses_an_au_run(au_run):
    root, _, _ = au_run
    result = runner.invoke(app, ["explain", str(root / "run")])
    assert result.exit_code == 1 and "mpt explain reads leave-one-subject-out emotion runs" in result.stderr


def test_au_run_page_shows_the_per_au_figures(au_run):
    root, _, _ = au_run
    res = json.loads((root / "run" / "results.json").read_text())
    page = (root / "run" / "report.html").read_text()
    assert "Per Action Unit" in page and "http://" not in page and "https://" not in page
    assert f"{100 * res['mean_f1']:.2f}" in page
    for name, v in res["per_au"].items():
        assert f"<td>{name}</td>" in page or f">{name}<" in page
        if v["f1"] is not None:
            assert f"{100 * v['f1']:.1f}" in page
