"""The baselines under MPT's protocol: every zoo network and hand-crafted method through `mpt train` on a
flow cache (fold records, report.html), per-fold statistics from training subjects only, the sweep's
comparison table, resume."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from mpt.cli.app import app
from mpt_core.flow_cache import DEFAULT_SIZES, FlowSettings
from mpt_core.model import ModelSettings, build_model, load_checkpoint
from mpt_core.model.baseline import FlowNet, model_input, recipe
from mpt_core.model.zoo import ZOO
from mpt_core.names import HANDCRAFTED
from preprocess.pipeline import build_cache_from_index
from test_cache_pipeline import index_from_dir, write_dataset

runner = CliRunner()
FLOW = FlowSettings(size=32, sizes=tuple(sorted({s.size for s in ZOO.values()} | {112})), frames=6, frames_size=32)


@pytest.fixture(scope="module")
def flow_cache(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("flow")
    data = write_dataset(tmp / "data", clips=tuple((1 + i % 3, 12) for i in range(9)))
    return build_cache_from_index(index_from_dir(data), settings=FLOW, cache_dir=tmp / "cache", jobs=1,
                                  progress=False)


def train(cache, out, *extra):
    result = runner.invoke(app, ["train", "--cache", str(cache), "--out", str(out), "--no-progress",
                                 "--device", "cpu", "--precision", "fp32", *extra])
    assert result.exit_code == 0, result.output
    return result.output


def test_default_sizes_cover_every_zoo_network():
    assert {spec.size for spec in ZOO.values()} <= set(DEFAULT_SIZES)
    assert model_input(ModelSettings(model="ststnet")) == ("flow", ZOO["ststnet"].size)
    assert model_input(ModelSettings()) == ("clip", None)


@pytest.mark.parametrize("name", sorted(ZOO))
def test_each_network_trains_end_to_end(flow_cache, tmp_path, name):
    out = train(flow_cache, tmp_path / name, "--model", name, "--epochs", "2", "--batch-size", "4")
    assert "report:" in out
    config = json.loads((tmp_path / name / "config.json").read_text())
    assert config["model"]["model"] == name
    # the published recipe, except what the command line gave
    assert config["train"]["lr"] == ZOO[name].lr and config["train"]["optimizer"] == ZOO[name].optimizer
    assert config["train"]["epochs"] == 2
    records = sorted((tmp_path / name / "folds").glob("*.json"))
    assert len(records) == 3
    rec = json.loads(records[0].read_text())
    assert len(rec["loss_curve"]) == 2 and np.array(rec["probabilities"]).shape == (3, 3)
    assert (tmp_path / name / "report.html").is_file()
    page = (tmp_path / name / "report.html").read_text()
    assert name in page
    # the fold's checkpoint rebuilds the model with its batch-norm and input statistics
    model, extra = load_checkpoint(tmp_path / name / "folds" / f"{rec['subject']}.safetensors")
    assert isinstance(model, FlowNet) and extra["subject"] == rec["subject"]
    assert not torch.equal(model.std, torch.ones_like(model.std))


@pytest.mark.parametrize("name", HANDCRAFTED)
def test_each_handcrafted_method_trains_end_to_end(flow_cache, tmp_path, name):
    train(flow_cache, tmp_path / name, "--model", name)
    records = [json.loads(p.read_text()) for p in sorted((tmp_path / name / "folds").glob("*.json"))]
    assert len(records) == 3 and all(r["features"] > 0 for r in records)
    assert all(np.allclose(np.array(r["probabilities"]).sum(1), 1, atol=1e-5) for r in records)
    assert (tmp_path / name / "report.html").is_file()
    res = json.loads((tmp_path / name / "results.json").read_text())
    assert res["variant"] == name and res["clips"] == 9


def test_a_network_refuses_a_clip_cache_and_mpt_a_flow_cache(flow_cache, tmp_path):
    result = runner.invoke(app, ["train", "--cache", str(flow_cache), "--out", str(tmp_path / "m"), "--no-progress"])
    assert result.exit_code == 1 and "a flow cache, where a clip cache is needed" in result.output
    result = runner.invoke(app, ["train", "--cache", str(flow_cache), "--model", "nonet", "--no-progress"])
    assert result.exit_code != 0 and "nonet" in result.output


def test_every_parameter_of_a_wrapped_network_gets_a_gradient():
    for name, spec in ZOO.items():
        torch.manual_seed(0)
        model = build_model(ModelSettings(model=name, num_classes=3))
        x = torch.randn(4, 5, spec.size, spec.size)
        model.fit_inputs(x)
        model.train()
        model(x, torch.zeros(4, 0)).sum().backward()
        missing = [n for n, p in model.named_parameters() if p.requires_grad and p.grad is None]
        assert not missing, (name, missing)


# no baseline sees a test subject

def test_input_statistics_come_from_the_training_subjects_only(flow_cache, tmp_path):
    """Each fold's saved mean/std equal the training subjects' channel statistics, not all subjects'."""
    from mpt_core.cache import open_cache, read_cache_index

    train(flow_cache, tmp_path / "st", "--model", "ststnet", "--epochs", "1", "--batch-size", "4")
    index = read_cache_index(flow_cache, "flow")
    with open_cache(flow_cache, "flow") as f:
        maps = torch.from_numpy(f["flow_28"][:][:, :3])  # ststnet reads u, v, strain at 28
    everyone = maps.mean((0, 2, 3))
    for subject in sorted(set(index.subjects)):
        model, _ = load_checkpoint(tmp_path / "st" / "folds" / f"{subject}.safetensors")
        train_rows = index.subjects != subject
        expected = maps[torch.from_numpy(train_rows)].mean((0, 2, 3))
        assert torch.allclose(model.mean, expected, atol=1e-5)
        assert not torch.allclose(model.mean, everyone, atol=1e-5)


def test_handcrafted_scaler_is_fitted_on_training_rows_only():
    from train.handcrafted import fit_fold

    rng = np.random.default_rng(0)
    X = rng.normal(size=(30, 6)).astype(np.float32)
    X[20:] += 50.0  # the "test subject" sits far away: a scaler fitted on it would show it
    y = np.tile([0, 1, 2], 10)
    train_rows = np.arange(20)
    pipe = fit_fold(X, y, train_rows, "logreg", 0)
    np.testing.assert_allclose(pipe[0].mean_, X[:20].mean(0), rtol=1e-5)
    assert not np.allclose(pipe[0].mean_, X.mean(0))


def test_resume_keeps_finished_folds(flow_cache, tmp_path):
    out = tmp_path / "r"
    train(flow_cache, out, "--model", "ststnet", "--epochs", "1", "--batch-size", "4", "--fold", "0")
    first = (out / "folds").glob("*.json")
    first = {p.name: p.read_text() for p in first}
    log = train(flow_cache, out, "--model", "ststnet", "--epochs", "1", "--batch-size", "4", "--resume")
    assert "already done, skipped" in log
    assert all((out / "folds" / n).read_text() == t for n, t in first.items())
    assert len(list((out / "folds").glob("*.json"))) == 3


def test_recipe_is_the_papers():
    for name, spec in ZOO.items():
        r = recipe(name)
        assert (r["epochs"], r["lr"], r["batch_size"], r["optimizer"]) == (spec.epochs, spec.lr, spec.batch_size,
                                                                            spec.optimizer)
    assert recipe("mpt")["epochs"] == 20


def test_sweep_compares_baselines_with_mpt(tmp_path):
    data = write_dataset(tmp_path / "data", clips=tuple((1 + i % 2, 12) for i in range(4)))
    others = ", ".join(f'{{label = "{n}", model = "{n}", batch_size = 4}}' for n in ZOO if n != "ststnet")
    others += ', {label = "lbp-top", model = "lbp-top"}'
    spec = tmp_path / "spec.toml"
    spec.write_text(f"""
[data]
dataset = "casme2"
root = "{data}"
cache_dir = "{tmp_path / 'cache'}"
[train]
backbone = "vit_tiny_patch16_224"
depth = 1
img_size = 32
epochs = 1
seeds = [0]
device = "cpu"
precision = "fp32"
[preprocess]
size = 32
levels = 2
frames = 4
[[table]]
name = "cmp"
header = "method"
compare = true
rows = [{{label = "MPT", variant = "mpt"}}, {{label = "STSTNet", model = "ststnet", batch_size = 4}},
        {{label = "flow grid", model = "flow-grid"}}, {others}]
""")
    import mpt.sweep.execute as execute
    from mpt.sweep.spec import load_spec

    from preprocess import pipeline

    def fake_build_cache(name, root, annotations=None, **kw):  # the fabricated folders, not a CASME II table
        kw.pop("classes", None), kw.pop("face", None)
        return pipeline.build_cache_from_index(index_from_dir(root), **kw)

    mp = pytest.MonkeyPatch()
    mp.setattr(pipeline, "build_cache", fake_build_cache)
    try:
        execute.run_sweep(load_spec(spec), tmp_path / "sw", progress=False, echo=lambda *a: None)
    finally:
        mp.undo()
    tables = (tmp_path / "sw" / "tables.md").read_text()
    assert "| method | input | GMACs/clip |" in tables
    for label in ("MPT", "STSTNet", "flow grid", "lbp-top") + tuple(n for n in ZOO if n != "ststnet"):
        line = next(line for line in tables.splitlines() if line.startswith(f"| {label} |"))
        assert line.count("|") == 9 and "%" not in line
    assert "u+v+strain 28x28" in tables
    tex = (tmp_path / "sw" / "tables.tex").read_text()
    assert "STSTNet" in tex and "GMACs" in tex
    assert "STSTNet" in (tmp_path / "sw" / "report.html").read_text()


def test_paper_preset_has_the_comparison_table(tmp_path):
    from mpt.sweep.preset import COMPARISON, paper_spec

    text = paper_spec("casme2", tmp_path)
    assert COMPARISON in text and "compare = true" in text
    for name in tuple(ZOO) + HANDCRAFTED:
        assert f'model = "{name}"' in text
    assert f'epochs = {ZOO["ststnet"].epochs}' in text


def test_runs_and_sweeps_made_before_the_baselines_keep_working():
    """A config.json without the settings added for the baselines resumes; a sweep row keeps its identity."""
    from mpt.sweep.spec import parse_spec
    from train.runs import check_resume

    new = {"classes": ["a"], "cache": "c", "cache_key": "k", "model": {"variant": "mpt", "model": "mpt"},
           "train": {"epochs": 1, "optimizer": "adam", "weight_decay": 0.0}, "weights_sha256": None, "weights": None}
    old = {**new, "model": {"variant": "mpt"}, "train": {"epochs": 1}}
    check_resume(old, new, Path("config.json"))  # no error
    with pytest.raises(ValueError, match="optimizer"):
        check_resume(old, {**new, "train": {**new["train"], "optimizer": "sgd"}}, Path("config.json"))
    spec = parse_spec('[data]\ndataset = "casme2"\nroot = "r"\n[train]\nseeds = [0]\n[[table]]\nname = "t"\n'
                      'rows = [{variant = "mpt"}, {model = "ststnet"}]\n')
    flat = [row.config.flat() for row in spec.tables[0].rows]
    assert not {"model", "optimizer", "weight_decay"} & set(flat[0])
    assert flat[1]["model"] == "ststnet"


def test_mpt_preprocess_flow_through_the_cli(tmp_path):
    from mpt_core.cache import read_cache_index
    from preprocess.synth import generate_synthetic

    root = tmp_path / "data"
    generate_synthetic(root, subjects=2, clips_per_subject=2, seed=0, size=64, jobs=1, progress=False)
    args = ["preprocess", "casme2", "--root", str(root), "--cache-dir", str(tmp_path / "cache"), "--jobs", "1",
            "--no-progress", "--flow"]
    result = runner.invoke(app, args + ["--flow-sizes", "28,16"])
    assert result.exit_code == 0, result.output
    path = Path(result.output.strip().splitlines()[-1])
    assert path.name.startswith("casme2-flow-") and path.is_file()
    index = read_cache_index(path, "flow")
    assert index.meta.sizes == (16, 28) and len(index.labels) == 4
    assert set(index.apex_source) <= {"annotated", "largest motion"}
    bad = runner.invoke(app, args + ["--flow-sizes", "28,x"])
    assert bad.exit_code == 1 and "--flow-sizes" in bad.output
    bad = runner.invoke(app, args + ["--flow-method", "farneback"])
    assert bad.exit_code == 1 and "--flow-method" in bad.output
