"""Two identical `mpt preprocess` processes started together: one builds, the other waits and reuses."""

import os
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np

from preprocess.synth import generate_synthetic


def test_two_identical_preprocess_runs_started_together(tmp_path):
    data = tmp_path / "data"
    generate_synthetic(data, subjects=2, clips_per_subject=4, seed=0, size=64, progress=False)
    coding = data / "CASME2-coding-synth.xlsx"

    def command(cache_dir):
        return [sys.executable, "-m", "mpt", "preprocess", "casme2", "--root", str(data), "--annotations", str(coding),
                "--cache-dir", str(cache_dir), "--size", "64", "--jobs", "1", "--no-progress"]

    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    procs = [subprocess.Popen(command(tmp_path / "shared"), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              env=env) for _ in range(2)]
    outs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [err for _, err in outs]
    paths = {out.strip().splitlines()[-1] for out, _ in outs}
    assert len(paths) == 1  # the same cache path
    errs = [err for _, err in outs]
    assert sum("clips in the cache (8 computed" in e for e in errs) == 1, errs  # built once
    other = next(e for e in errs if "computed" not in e)
    assert "waited for another mpt preprocess" in other and "reusing" in other, other
    assert sorted(p.name for p in (tmp_path / "shared").iterdir()) == [".locks", Path(paths.pop()).name]

    single = subprocess.run(command(tmp_path / "single"), capture_output=True, text=True, env=env)
    assert single.returncode == 0, single.stderr
    with h5py.File(single.stdout.strip().splitlines()[-1]) as a, \
            h5py.File(next((tmp_path / "shared").glob("*.h5"))) as b:
        assert set(a) == set(b)
        for name in a:
            assert np.array_equal(a[name][()], b[name][()]), name
