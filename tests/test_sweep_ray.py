"""`mpt sweep --ray` on a local Ray cluster gives the same results as the local sweep.

Slow (Ray starts in ~5 s, each worker imports torch), so the sweep is the tiny one of test_sweep.py
with one seed: 2 caches (built as Ray tasks), 3 runs.
"""

import json
import tempfile

import pytest
from test_sweep import write_spec

pytest.importorskip("ray")


@pytest.fixture
def ray_env(tmp_path, monkeypatch):
    # Ray writes an auth token under ~/.ray and sockets under its temp dir (whose path must stay short)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("RAY_USAGE_STATS_ENABLED", "0")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with tempfile.TemporaryDirectory(prefix="ray", dir="/tmp") as short:
        monkeypatch.setenv("RAY_TMPDIR", short)
        yield


def test_ray_sweep_equals_local_sweep(tmp_path, ray_env):
    import ray

    from mpt.sweep import load_spec, run_sweep
    from preprocess.synth import generate_synthetic

    data = tmp_path / "synth"
    generate_synthetic(data, subjects=3, clips_per_subject=4, seed=0, size=64, progress=False)
    # separate cache folders: each sweep builds its own caches (the Ray one as tasks)
    on_ray = load_spec(write_spec(tmp_path / "ray.toml", data, tmp_path / "cache-ray", seeds=[0]))
    local = load_spec(write_spec(tmp_path / "local.toml", data, tmp_path / "cache-local", seeds=[0]))

    lines = []
    r = run_sweep(on_ray, tmp_path / "ray", ray=True, ray_cpus=2, progress=False, echo=lines.append)
    assert not ray.is_initialized()  # the sweep shut down the cluster it started
    assert len(r.built) == 2 and len(r.trained) == 3 and not r.failed, lines
    assert len(list((tmp_path / "cache-ray").glob("*.h5"))) == 2

    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as in a Ray worker with one CPU: the same numerics to the last bit
    try:
        loc = run_sweep(local, tmp_path / "local", progress=False, echo=lambda _: None)
    finally:
        torch.set_num_threads(threads)
    assert sorted(loc.trained) == sorted(r.trained)
    ray_results = json.loads((tmp_path / "ray" / "results.json").read_text())
    local_results = json.loads((tmp_path / "local" / "results.json").read_text())
    assert ray_results == local_results
    assert all(row["accuracy"] is not None for t in ray_results["tables"] for row in t["rows"])
    for run in r.trained:  # every fold's class probabilities, bit for bit
        for fold in sorted((tmp_path / "ray" / "runs" / run / "folds").glob("*.json")):
            theirs = json.loads((tmp_path / "local" / "runs" / run / "folds" / fold.name).read_text())
            assert json.loads(fold.read_text())["probabilities"] == theirs["probabilities"], (run, fold.name)
