"""Two identical `mpt preprocess` processes waiting for one cache: one builds, the other waits and reuses."""

import os
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np

from mpt_core.fileio import process_lock
from preprocess.synth import generate_synthetic


def test_two_identical_preprocess_runs_started_together(tmp_path):
    data = tmp_path / "data"
    generate_synthetic(data, subjects=2, clips_per_subject=4, seed=0, size=64, progress=False)
    coding = data / "CASME2-coding-synth.xlsx"

    def command(cache_dir):
        return [sys.executable, "-m", "mpt", "preprocess", "casme2", "--root", str(data), "--annotations", str(coding),
                "--cache-dir", str(cache_dir), "--size", "64", "--jobs", "1", "--no-progress"]

    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    single = subprocess.run(command(tmp_path / "single"), capture_output=True, text=True, env=env)
    assert single.returncode == 0, single.stderr
    name = Path(single.stdout.strip().splitlines()[-1]).name  # the cache's name does not depend on its folder

    # Hold the cache's lock here until both processes wait for it, so neither can start (or finish) first:
    # no race. The first to get it builds; the other waits for that one too and reuses its cache.
    (tmp_path / "shared" / ".locks").mkdir(parents=True)
    held = process_lock(tmp_path / "shared" / ".locks" / f"{name}.lock")
    assert held.try_acquire()
    procs = [subprocess.Popen(command(tmp_path / "shared"), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              env=env) for _ in range(2)]
    early = []
    for p in procs:  # blocking reads: each process says it is waiting before it blocks on the lock
        lines = []
        while not (line := p.stderr.readline()).startswith("waiting for ") and line:
            lines.append(line)
        assert line, "".join(lines)
        early.append("".join(lines) + line)
    held.release()
    outs = [p.communicate(timeout=600) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [err for _, err in outs]
    paths = {out.strip().splitlines()[-1] for out, _ in outs}
    assert len(paths) == 1 and Path(paths.pop()).name == name  # the same cache path
    errs = [e + err for e, (_, err) in zip(early, outs)]
    assert sum("clips in the cache (8 computed" in e for e in errs) == 1, errs  # built once
    other = next(e for e in errs if "computed" not in e)
    assert "waited for another mpt preprocess" in other and "reusing" in other, other
    assert sorted(p.name for p in (tmp_path / "shared").iterdir()) == [".locks", name]

    with h5py.File(tmp_path / "single" / name) as a, h5py.File(tmp_path / "shared" / name) as b:
        assert set(a) == set(b)
        for key in a:
            assert np.array_equal(a[key][()], b[key][()]), key
