"""`mpt sweep` on a tiny synthetic dataset: dedupe, reuse, kill and resume, tables, the paper preset, errors."""

import json
import os
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from halting import run_until_halted, script

from mpt.cli import app

REPO = Path(__file__).resolve().parents[1]

SPEC = """\
[data]
dataset = "casme2"
root = "{root}"
cache_dir = "{cache_dir}"

[preprocess]
size = 32
frames = 4
jobs = 1

[train]
backbone = "vit_tiny_patch16_224"
depth = 1
img_size = 32
epochs = 1
batch_size = 4
device = "cpu"
precision = "fp32"
seeds = {seeds}

[[table]]
name = "Magnification"
vary = {{ alpha = [0, 20] }}

[[table]]
name = "Variants"
vary = {{ variant = ["adapter-only", "mpt"] }}
"""


def write_spec(path: Path, data: Path, cache_dir: Path, seeds=(0, 1)) -> Path:
    path.write_text(SPEC.format(root=data, cache_dir=cache_dir, seeds=list(seeds)))
    return path


def invoke(*args):
    return CliRunner().invoke(app, ["sweep", *map(str, args)])


def run_configs(out: Path) -> set:
    """(variant, alpha, seed) of every run folder, read from the config.json that run_loso wrote."""
    found = set()
    for run in (out / "runs").iterdir():
        c = json.loads((run / "config.json").read_text())
        found.add((c["model"]["variant"], c["cache_settings"]["alpha"], c["train"]["seed"]))
    return found


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """One torch thread here and in the subprocess: the same numerics everywhere, no spinning threads
    on a busy machine."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    from preprocess.synth import generate_synthetic

    root = tmp_path_factory.mktemp("synth")
    generate_synthetic(root, subjects=3, clips_per_subject=4, seed=0, size=64, progress=False)
    return root


@pytest.fixture(scope="module")
def swept(data, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("sweep")
    spec = write_spec(tmp / "tiny.toml", data, tmp / "cache")
    result = invoke(spec, "--out", tmp / "out", "--no-progress")
    assert result.exit_code == 0, result.output + result.stderr
    return spec, tmp / "out", tmp / "cache"


def test_two_caches_and_six_runs(swept):
    _, out, cache_dir = swept
    assert len(list(cache_dir.glob("*.h5"))) == 2  # alpha 0 and alpha 20
    # the alpha-20 row and the mpt row are one configuration: 3 configurations x 2 seeds
    assert run_configs(out) == {(v, a, s) for v, a in (("mpt", 0.0), ("mpt", 20.0), ("adapter-only", 20.0))
                                for s in (0, 1)}
    for run in (out / "runs").iterdir():
        assert (run / "results.json").is_file() and len(list((run / "folds").glob("*.json"))) == 3


def test_second_sweep_builds_and_trains_nothing(swept):
    from mpt.sweep import load_spec, run_sweep

    spec, out, cache_dir = swept
    files = [p for p in [*cache_dir.glob("*.h5"), *(out / "runs").rglob("*")] if p.is_file()]
    before = {p: p.stat().st_mtime_ns for p in files}
    result = run_sweep(load_spec(spec), out, progress=False, echo=lambda _: None)
    assert result.built == [] and result.trained == [] and result.failed == {}
    after = [p for p in [*cache_dir.glob("*.h5"), *(out / "runs").rglob("*")] if p.is_file()]
    assert {p: p.stat().st_mtime_ns for p in after} == before

    dry = invoke(spec, "--out", out, "--dry-run")
    assert dry.exit_code == 0, dry.stderr
    assert "0 to build, 2 exist" in dry.output and "0 to train, 0 to resume, 6 done" in dry.output


def test_tables_show_mean_and_sd_over_seeds(swept):
    _, out, _ = swept
    md = (out / "tables.md").read_text()
    assert "## Magnification" in md and "## Variants" in md
    by_config = {}
    for run in (out / "runs").iterdir():
        c = json.loads((run / "config.json").read_text())
        r = json.loads((run / "results.json").read_text())
        params = json.loads(next((run / "folds").glob("*.json")).read_text())["parameters"]["trainable"]
        by_config.setdefault((c["model"]["variant"], c["cache_settings"]["alpha"]), []).append((r, params))
    lines = md.splitlines()

    def row(table, label):
        start = lines.index(f"## {table}")
        return next(line for line in lines[start:] if line.startswith(f"| {label} |"))

    for table, label, key in (("Magnification", "0", ("mpt", 0.0)), ("Magnification", "20", ("mpt", 20.0)),
                              ("Variants", "adapter-only", ("adapter-only", 20.0)), ("Variants", "mpt", ("mpt", 20.0))):
        runs = by_config[key]
        cells = [c.strip() for c in row(table, label).strip("|").split("|")]
        assert cells[1] == f"{runs[0][1]:,}"
        for cell, metric in zip(cells[2:5], ("accuracy", "uf1", "uar")):
            values = np.array([r[metric] for r, _ in runs]) * 100
            assert cell == f"{values.mean():.2f} ± {values.std(ddof=1):.2f}", (table, label, metric)
        assert cells[5] == "2/2"


def test_killed_sweep_resumes_to_the_same_results(swept, tmp_path):
    from mpt.sweep import load_spec, plan_sweep, run_sweep

    spec, reference, _ = swept
    out = tmp_path / "out"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    # stop at the second run's first partial checkpoint: one run finished, one started
    halt = ("from train.runs import RunFolder\nseen = []\n"
            "def second_run(n, run, *a):\n    seen.append(run.path) if run.path not in seen else None\n"
            "    return len(seen) == 2\nhalt_after(RunFolder, 'save_partial', second_run)")
    argv = ["mpt", "sweep", str(spec), "--out", str(out), "--no-progress"]
    run_until_halted(script(halt, f"sys.argv = {argv!r}\nfrom mpt.cli import main\nmain()"), tmp_path, env=env)
    runs = list((out / "runs").glob("*"))
    finished = [r for r in runs if (r / "results.json").is_file()]
    started = [r for r in runs if (r / "config.json").is_file() and not (r / "results.json").is_file()]
    assert len(finished) == 1 and len(started) == 1, runs
    finished_at = {r.name: (r / "results.json").stat().st_mtime_ns for r in finished}
    plan = plan_sweep(load_spec(spec), out)
    assert sum(r.state == "resume" for r in plan.runs.values()) >= 1

    result = run_sweep(load_spec(spec), out, progress=False, echo=lambda _: None)
    assert not set(result.trained) & set(finished_at)  # finished runs are not trained again
    assert {r.name: (r / "results.json").stat().st_mtime_ns for r in finished} == finished_at
    assert (out / "results.json").read_text() == (reference / "results.json").read_text()


def test_paper_preset_dry_run(tmp_path):
    root = tmp_path / "SMIC"
    root.mkdir()
    out = tmp_path / "paper"
    result = invoke("--preset", "paper", "--dataset", "smic", "--root", root, "--out", out, "--dry-run")
    assert result.exit_code == 0, result.stderr
    text = result.output
    # alpha 0/10/20/30/50 -> 5 caches; configurations: Table VI 6 variants, VII +vpt-shallow/-deep,
    # VIII +primitive-adapter, IX none (no weights for the other backbones), X +4 alphas, XI +r 4/12,
    # Fig. 5 +K 1/3/7 (K 0 is adapter-only, K 5 the base): 18; the comparison table +5 networks and 2
    # hand-crafted baselines on one flow cache (MPT is the base): 25, times 3 seeds
    assert "caches: 6 distinct" in text and "runs: 75 (25 configurations x 3 seeds)" in text
    lines = text.splitlines()
    assert any(line.startswith("| 0 |") and "| 81.10 | 80.54 |" in line for line in lines)  # Table X
    assert any(line.startswith("| w/o pretraining") and "| 86.4 | 73.17 | 72.35 |" in line for line in lines)
    assert any(line.startswith("| CLIP-ViT-B/16") and "—" in line and "85.37" in line for line in lines)
    assert "ref.: the MPT paper's reported figures (Table X) on the real SMIC-HS dataset" in text
    assert not out.exists()  # a dry run writes nothing

    weights = tmp_path / "b32.safetensors"
    weights.write_bytes(b"not read by a dry run")
    more = invoke("--preset", "paper", "--dataset", "smic", "--root", root, "--out", out, "--dry-run",
                  "--weights", weights, "--backbone-weights", f"vit_base_patch32_224={weights}")
    assert more.exit_code == 0, more.stderr
    assert "runs: 78 (26 configurations x 3 seeds)" in more.output


BAD = [  # (replace this, with that, the line the error must name)
    ("epochs = 1\n", "epoch = 1\n", 15),  # unknown key in [train]
    ("size = 32\n", "size = \"big\"\n", 7),  # wrong type in [preprocess]
    ("alpha = [0, 20]", "alpha = [0, -20]", 23),  # bad value in a vary list
    ("alpha = [0, 20]", "alfa = [0, 20]", 23),  # unknown vary key
    ("vary = {{ variant = [\"adapter-only\", \"mpt\"] }}",
     "rows = [\n  {{variant = \"mpt\"}},\n  {{label = \"x\", variant = \"nope\"}},\n]", 29),  # 2nd row
]


@pytest.mark.parametrize("old,new,line", BAD)
def test_errors_name_the_line(tmp_path, old, new, line):
    assert old in SPEC
    spec = tmp_path / "bad.toml"
    spec.write_text(SPEC.replace(old, new).format(root=tmp_path, cache_dir=tmp_path / "cache", seeds=[0]))
    result = invoke(spec, "--out", tmp_path / "out", "--dry-run")
    assert result.exit_code == 1
    assert result.stderr.startswith(f"error: {spec}:{line}: "), result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
