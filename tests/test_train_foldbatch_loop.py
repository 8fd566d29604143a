"""`--fold-batch`: folds trained together give the per-fold loop's results (fp32, CPU), resume after a
SIGKILL mid-batch, and bf16 training works. Tiny backbone, tiny learnable cache."""

import json

import numpy as np
import pytest
from halting import run_until_halted, script
from test_train_helpers import write_cache

from mpt_core.model import ModelSettings
from mpt_core.names import VARIANTS
from train.loop import run_loso
from train.settings import TrainSettings


def _model(variant="mpt"):
    return ModelSettings(variant=variant, backbone="vit_tiny_patch16_224", depth=1, img_size=32, prompts=2,
                         embed_channels=16)


def _ts(**kw):
    return TrainSettings(**{"epochs": 2, "batch_size": 4, "device": "cpu", "precision": "fp32", **kw})


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    # uneven subjects: folds differ in steps per epoch and last-batch sizes
    return _uneven(tmp_path_factory.mktemp("fbcache"))


def _uneven(directory):
    import h5py

    path = write_cache(directory, subjects=("sub01", "sub02", "sub03", "sub04"), per_subject=3)
    with h5py.File(path, "r+") as f:  # sub04 takes two more clips: train sets of 9, 7, 7, 7 -> other batches
        subjects = [s.decode() for s in f["subject"][()]]
        subjects[0] = subjects[3] = "sub04"
        f["subject"][...] = subjects
    return path


def _records(run):
    return {p.stem: json.loads(p.read_text()) for p in sorted((run / "folds").glob("*.json"))}


def _same(a, b, tol=1e-4):
    assert a.keys() == b.keys()
    for k in a:
        assert a[k]["predictions"] == b[k]["predictions"], k
        assert np.abs(np.array(a[k]["probabilities"]) - np.array(b[k]["probabilities"])).max() < tol, k


@pytest.mark.parametrize("variant", VARIANTS)
def test_fold_batched_equals_per_fold(cache, tmp_path, variant, capsys):
    one = run_loso(cache, train_settings=_ts(), model_settings=_model(variant), out=tmp_path / "one", progress=False)
    auto = run_loso(cache, train_settings=_ts(fold_batch=0), model_settings=_model(variant), out=tmp_path / "auto",
                    progress=False)
    _same(_records(one), _records(auto))
    batched = {r["fold_batch"] for r in _records(auto).values()}
    if variant in ("full-ft", "no-pretrain"):
        assert batched == {1} and "folds cannot share it" in capsys.readouterr().out
    else:
        assert batched == {4}  # every fold in one batch, and the records say so


def test_fold_batches_of_two_and_the_final_model(cache, tmp_path):
    one = run_loso(cache, train_settings=_ts(), model_settings=_model(), out=tmp_path / "one", progress=False,
                   final=True)
    two = run_loso(cache, train_settings=_ts(fold_batch=2), model_settings=_model(), out=tmp_path / "two",
                   progress=False, final=True)
    _same(_records(one), _records(two))
    assert {r["fold_batch"] for r in _records(two).values()} == {2}
    assert (two / "final.safetensors").is_file() and json.loads((two / "config.json").read_text())["final"]


def test_sigkill_mid_fold_batch_then_resume(cache, tmp_path):
    full = run_loso(cache, train_settings=_ts(epochs=3, fold_batch=4), model_settings=_model(), out=tmp_path / "full",
                    progress=False)
    out = tmp_path / "k"
    body = (
        "from test_train_foldbatch_loop import _model, _ts\nfrom train.loop import run_loso\n"
        f"run_loso({str(cache)!r}, train_settings=_ts(epochs=3, fold_batch=4), model_settings=_model(),"
        f" out={str(out)!r}, progress=False)\n"
    )
    # stop once every fold of the batch has saved epoch 1 (mid-batch: no fold is finished)
    halt = "from train.runs import RunFolder\nhalt_after(RunFolder, 'save_partial', lambda n, *a: n == 4)"
    run_until_halted(script(halt, body), tmp_path)
    assert len(list((out / "folds").glob("*.partial.pt"))) == 4
    assert not list((out / "folds").glob("*.json"))
    run = run_loso(cache, train_settings=_ts(epochs=3, fold_batch=4), model_settings=_model(), out=out, resume=True,
                   progress=False)
    _same(_records(full), _records(run), tol=1e-6)


def test_bf16_trains_and_mostly_agrees_with_fp32(tmp_path):
    cache = write_cache(tmp_path, subjects=("sub01", "sub02", "sub03"), per_subject=6)
    runs = {p: run_loso(cache, train_settings=_ts(epochs=6, lr=3e-3, precision=p, fold_batch=0),
                        model_settings=_model(), out=tmp_path / p, progress=False) for p in ("fp32", "bf16")}
    bf16, fp32 = _records(runs["bf16"]), _records(runs["fp32"])
    assert json.loads((runs["bf16"] / "config.json").read_text())["train"]["precision"] == "bf16"
    for rec in bf16.values():
        assert rec["loss_curve"][-1] < rec["loss_curve"][0]  # it trains
    preds = [(p, q) for k in bf16 for p, q in zip(bf16[k]["predictions"], fp32[k]["predictions"])]
    agreement = np.mean([p == q for p, q in preds])
    print(f"bf16 vs fp32 prediction agreement: {agreement:.2f} on {len(preds)} clips")
    assert agreement >= 0.75


def test_resume_with_another_precision_is_refused(cache, tmp_path):
    run_loso(cache, train_settings=_ts(epochs=1), model_settings=_model(), out=tmp_path / "r", progress=False)
    with pytest.raises(ValueError, match="train.precision: 'fp32' -> 'bf16'"):
        run_loso(cache, train_settings=_ts(epochs=1, precision="bf16"), model_settings=_model(), out=tmp_path / "r",
                 progress=False, resume=True)
