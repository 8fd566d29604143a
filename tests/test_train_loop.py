import json

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, f1_score, recall_score
from test_train_helpers import CLASSES, write_cache

from train import loop
from train.loop import NonFiniteLoss
from train.loop import run_loso as _run_loso
from train.report import write_report
from train.runs import RunFolder
from train.settings import TrainSettings


def run_loso(*args, **kwargs):
    """Train, then write the report (run_loso returns the folder; its caller writes the report)."""
    run = _run_loso(*args, **kwargs)
    write_report(run)
    return run


def _model(**kw):
    from mpt_core.model import ModelSettings

    return ModelSettings(**{"backbone": "vit_tiny_patch16_224", "depth": 1, "img_size": 32, **kw})


TS = TrainSettings(epochs=3, batch_size=4, device="cpu")


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return write_cache(tmp_path_factory.mktemp("cache"), subjects=("sub01", "sub02"), per_subject=5)


@pytest.fixture(scope="module")
def full_run(cache, tmp_path_factory):
    return run_loso(cache, train_settings=TS, model_settings=_model(), out=tmp_path_factory.mktemp("runs") / "a",
                    progress=False)


def _metrics(run):
    r = json.loads((run / "results.json").read_text())
    return {k: r[k] for k in ("accuracy", "uf1", "uar", "confusion", "per_class", "per_subject_mean")}


def _probs(run):
    return {p.name: json.loads(p.read_text())["probabilities"] for p in sorted((run / "folds").glob("*.json"))}


def test_two_fold_run_writes_every_output(full_run, cache):
    from mpt_core.model import load_checkpoint

    for name in ("config.json", "results.json", "summary.md", "confusion.png", "curves.png"):
        assert (full_run / name).stat().st_size > 0, name
    config = json.loads((full_run / "config.json").read_text())
    assert config["cache"] == str(cache.resolve()) and len(config["cache_key"]) == 12
    assert config["train"]["epochs"] == 3 and config["model"]["variant"] == "mpt"
    labels, preds = [], []
    for subject in ("sub01", "sub02"):
        rec = json.loads((full_run / "folds" / f"{subject}.json").read_text())
        assert len(rec["clips"]) == len(rec["labels"]) == len(rec["predictions"]) == 5
        assert np.allclose(np.sum(rec["probabilities"], 1), 1, atol=1e-5)
        assert rec["predictions"] == np.argmax(rec["probabilities"], 1).tolist()
        assert len(rec["loss_curve"]) == 3 and all(np.isfinite(rec["loss_curve"]))
        assert rec["seconds"]["train"] > 0
        labels += rec["labels"]
        preds += rec["predictions"]
        model, extra = load_checkpoint(full_run / "folds" / f"{subject}.safetensors")
        assert extra["subject"] == subject
        assert not (full_run / "folds" / f"{subject}.partial.pt").exists()
    res = json.loads((full_run / "results.json").read_text())
    assert res["accuracy"] == pytest.approx(accuracy_score(labels, preds))
    assert res["uf1"] == pytest.approx(f1_score(labels, preds, labels=range(5), average="macro", zero_division=0))
    assert res["uar"] == pytest.approx(recall_score(labels, preds, labels=range(5), average="macro", zero_division=0))
    assert res["classes"] == CLASSES and res["folds"] == ["sub01", "sub02"] and res["epochs"] == 3
    assert res["variant"] == "mpt" and res["seconds"] > 0 and "secondary" in res["per_subject_mean"]["note"]
    assert np.sum(res["confusion"]) == 10
    assert "| Acc (%) | F1 (%) |" in (full_run / "summary.md").read_text()


def test_same_seed_same_results_other_seed_differs(full_run, cache, tmp_path):
    again = run_loso(cache, train_settings=TS, model_settings=_model(), out=tmp_path / "b", progress=False)
    assert _probs(again) == _probs(full_run)
    other = run_loso(cache, train_settings=TrainSettings(epochs=3, batch_size=4, device="cpu", seed=1),
                     model_settings=_model(), out=tmp_path / "c", progress=False)
    assert _probs(other) != _probs(full_run)


def test_resume_after_kill_gives_identical_metrics(full_run, cache, tmp_path, monkeypatch):
    real_save = RunFolder.save_partial

    class Killed(Exception):
        pass

    def save_then_die(self, name, state):  # the process dies right after fold 2 saved its epoch 2
        real_save(self, name, state)
        if name == "sub02" and state["epoch"] == 2:
            raise Killed

    monkeypatch.setattr(RunFolder, "save_partial", save_then_die)
    with pytest.raises(Killed):
        run_loso(cache, train_settings=TS, model_settings=_model(), out=tmp_path / "r", progress=False)
    monkeypatch.setattr(RunFolder, "save_partial", real_save)
    assert (tmp_path / "r/folds/sub01.json").exists() and (tmp_path / "r/folds/sub02.partial.pt").exists()
    done_before = (tmp_path / "r/folds/sub01.json").stat().st_mtime_ns

    with pytest.raises(FileExistsError, match="--resume"):
        run_loso(cache, train_settings=TS, model_settings=_model(), out=tmp_path / "r", progress=False)
    trained = []
    real_group = loop.train_group
    monkeypatch.setattr(loop, "train_group", lambda folds, *a, **k: trained.extend(f.subject for f in folds) or real_group(folds, *a, **k))
    run = run_loso(cache, train_settings=TS, model_settings=_model(), out=tmp_path / "r", resume=True, progress=False)
    assert trained == ["sub02"]  # the finished fold is not recomputed
    assert (tmp_path / "r/folds/sub01.json").stat().st_mtime_ns == done_before
    assert _metrics(run) == _metrics(full_run)
    assert _probs(run) == _probs(full_run)


def test_resume_refuses_other_classes_or_settings(full_run, tmp_path):
    import shutil

    other = write_cache(tmp_path, subjects=("sub01", "sub02"), per_subject=5,
                        classes=["a", "b", "c", "d", "e"])
    run = tmp_path / "run"
    shutil.copytree(full_run, run)
    with pytest.raises(ValueError, match="classes"):
        run_loso(other, train_settings=TS, model_settings=_model(), out=run, resume=True, progress=False)
    with pytest.raises(ValueError, match="train.lr"):
        run_loso(json.loads((run / "config.json").read_text())["cache"], out=run, resume=True, progress=False,
                 train_settings=TrainSettings(epochs=3, batch_size=4, device="cpu", lr=1e-3), model_settings=_model())


def test_incomplete_cache_is_refused(tmp_path):
    from mpt_core.cache import CacheError

    bad = write_cache(tmp_path, complete=False)
    with pytest.raises(CacheError, match=bad.name):
        run_loso(bad, train_settings=TS, model_settings=_model(), out=tmp_path / "run", progress=False)
    assert not (tmp_path / "run").exists()


def test_non_finite_loss_names_fold_and_step(cache, tmp_path, monkeypatch):
    import mpt_core.model

    real_build = mpt_core.model.build_model
    calls = []

    def build_with_nan_head(*a, **k):  # the head returns NaN from its 3rd call on
        model = real_build(*a, **k)
        model.head.register_forward_hook(lambda m, i, o: calls.append(1) or (o * float("nan") if len(calls) >= 3 else o))
        return model

    monkeypatch.setattr(mpt_core.model, "build_model", build_with_nan_head)
    with pytest.raises(NonFiniteLoss, match=r"fold 1/2 \(index 0, subject sub01\): loss is nan at epoch 2, step 1"):
        run_loso(cache, train_settings=TS, model_settings=_model(), out=tmp_path / "n", progress=False)


def test_cli_train_and_report(full_run, tmp_path):
    from typer.testing import CliRunner

    from mpt.cli import app

    r = CliRunner().invoke(app, ["report", str(full_run), str(full_run)])
    assert r.exit_code == 0, r.output
    assert r.output.count(f"| {full_run} | mpt | vit_tiny_patch16_224 | 2 | 3 |") == 2
    bad = write_cache(tmp_path, complete=False)
    r = CliRunner().invoke(app, ["train", "--cache", str(bad), "--out", str(tmp_path / "x"), "--device", "cpu"])
    assert r.exit_code == 1 and r.stderr.startswith("error: ") and "complete" in r.stderr


def test_cli_train_one_fold_by_subject(cache, tmp_path):
    from typer.testing import CliRunner

    from mpt.cli import app

    args = ["train", "--cache", str(cache), "--fold", "sub02", "--epochs", "1", "--batch-size", "4", "--device", "cpu",
            "--backbone", "vit_tiny_patch16_224", "--depth", "1", "--img-size", "32", "--no-flip", "--no-progress",
            "--out", str(tmp_path / "one")]
    r = CliRunner().invoke(app, args)
    assert r.exit_code == 0, r.output
    res = json.loads((tmp_path / "one/results.json").read_text())
    assert res["folds"] == ["sub02"] and res["clips"] == 5 and res["epochs"] == 1
    config = json.loads((tmp_path / "one/config.json").read_text())
    assert config["train"]["flip"] is False and config["model"]["depth"] == 1
    assert "| Acc (%) | F1 (%) |" in r.output


def test_resume_after_sigkill_of_a_real_process(full_run, cache, tmp_path):
    from halting import run_until_halted, script

    out = tmp_path / "k"
    body = (
        "from mpt_core.model import ModelSettings\nfrom train.loop import run_loso\nfrom train.settings import TrainSettings\n"
        f"run_loso({str(cache)!r}, train_settings=TrainSettings(epochs=3, batch_size=4, device='cpu'), progress=False,"
        f" model_settings=ModelSettings(backbone='vit_tiny_patch16_224', depth=1, img_size=32), out={str(out)!r})\n"
    )
    halt = "from train.runs import RunFolder\nhalt_after(RunFolder, 'save_partial', lambda n, run, name, state: name == 'sub02')"
    run_until_halted(script(halt, body), tmp_path)  # killed mid-way through fold 2, after its first epoch
    assert (out / "folds/sub02.partial.pt").is_file() and not (out / "folds/sub02.json").exists()
    assert not (out / "results.json").exists()
    run = run_loso(cache, train_settings=TS, model_settings=_model(), out=out, resume=True, progress=False)
    assert _metrics(run) == _metrics(full_run)
    assert _probs(run) == _probs(full_run)


def test_fold_files_are_safetensors_and_rebuild_the_fold_exactly(full_run, cache):
    import torch
    from safetensors import safe_open

    from mpt_core.model import load_checkpoint
    from train.data import ClipSource
    from train.step import predict

    files = sorted(p.name for p in (full_run / "folds").iterdir())
    assert files == ["sub01.json", "sub01.safetensors", "sub02.json", "sub02.safetensors"]  # no pickles
    config = json.loads((full_run / "config.json").read_text())
    source = ClipSource(cache, device="cpu")
    for subject in ("sub01", "sub02"):
        path = full_run / "folds" / f"{subject}.safetensors"
        with safe_open(str(path), framework="pt") as f:
            meta = {k: json.loads(v) for k, v in f.metadata().items()}
        assert meta["extra"]["subject"] == subject and meta["extra"]["epochs"] == 3
        assert meta["settings"] == config["model"] and meta["backbone_weights"] is None  # random backbone
        model, _ = load_checkpoint(path)  # the file alone rebuilds the model
        rec = json.loads((full_run / "folds" / f"{subject}.json").read_text())
        (batch,) = list(source.batches(rec["rows"], 32))
        probs = predict(model, batch.image, batch.motion, config["train"]["precision"])
        assert torch.equal(probs, torch.tensor(rec["probabilities"], dtype=torch.float32))


def test_no_pickle_loading_remains():
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    hits = [str(p) for d in ("mpt", "mpt_core", "preprocess", "train") for p in (root / d).rglob("*.py")
            if "weights_only=False" in p.read_text()]
    assert hits == []


def test_a_second_train_into_a_locked_run_folder_stops_at_once(cache, tmp_path):
    import subprocess
    import sys

    from typer.testing import CliRunner

    from mpt.cli import app

    out = tmp_path / "busy"
    out.mkdir()
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys, time\nfrom mpt_core.fileio import process_lock\n"
        f"lock = process_lock({str(out / '.lock')!r}); assert lock.try_acquire()\n"
        "print('held', flush=True); time.sleep(60)\n")], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        r = CliRunner().invoke(app, ["train", "--cache", str(cache), "--out", str(out), "--device", "cpu",
                                     "--backbone", "vit_tiny_patch16_224", "--depth", "1", "--img-size", "32"])
        assert r.exit_code == 1 and len(r.stderr.splitlines()) == 1
        assert r.stderr.startswith(f"error: {out}: run folder is being written by process {holder.pid}")
        assert not (out / "config.json").exists()
    finally:
        holder.kill()
        holder.wait()
    # the holder died: its OS lock is gone and the folder is usable
    from train.runs import RunFolder

    run = RunFolder(out)
    run.lock()
    run.unlock()
