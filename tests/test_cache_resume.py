"""Crash safety: an interrupted run (injected crash, real SIGKILL) resumes and gives the clean run's arrays."""

import sys
from pathlib import Path

import numpy as np
import pytest

from preprocess import pipeline, workers, writer
from preprocess.pipeline import build_cache_from_index
from preprocess.settings import PreprocessSettings

sys.path.insert(0, str(Path(__file__).parent))
from halting import run_until_halted, script  # noqa: E402
from test_cache_pipeline import SMALL, index_from_dir, read_arrays, write_dataset  # noqa: E402


def counting(monkeypatch):
    calls = []
    real = workers.process_clip
    monkeypatch.setattr(workers, "process_clip", lambda rec, *a, **k: calls.append(rec.key) or real(rec, *a, **k))
    return calls


def assert_same(a_path, b_path):
    a, b = read_arrays(a_path), read_arrays(b_path)
    assert a.keys() == b.keys()
    for k in a:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)


def test_resume_after_an_injected_crash(tmp_path, monkeypatch):
    data = write_dataset(tmp_path / "data")
    clean = build_cache_from_index(index_from_dir(data), settings=SMALL, cache_dir=tmp_path / "clean", jobs=1,
                                   progress=False)  # fmt: skip

    saved = []
    real_save = writer.save_shard

    def crash_after_two(path, **arrays):
        if len(saved) == 2:
            raise RuntimeError("injected crash")
        real_save(path, **arrays)
        saved.append(path)

    monkeypatch.setattr(workers, "save_shard", crash_after_two)
    with pytest.raises(RuntimeError, match="injected"):
        build_cache_from_index(index_from_dir(data), settings=SMALL, cache_dir=tmp_path / "run", jobs=1, progress=False)
    assert not list((tmp_path / "run").glob("*.h5"))  # nothing under a final (or any .h5) name
    monkeypatch.setattr(workers, "save_shard", real_save)

    calls = counting(monkeypatch)
    resumed = build_cache_from_index(index_from_dir(data), settings=SMALL, cache_dir=tmp_path / "run", jobs=1,
                                     progress=False)  # fmt: skip
    assert len(calls) == 5 - 2  # the two saved clips were reused
    assert resumed.name == clean.name
    assert_same(clean, resumed)


SCRIPT_BODY = """
from test_cache_pipeline import index_from_dir
from preprocess.pipeline import build_cache_from_index
from preprocess.settings import PreprocessSettings
index = index_from_dir({data!r})
build_cache_from_index(index, settings=PreprocessSettings(), cache_dir={out!r}, jobs=1, progress=False)
"""
HALT_AFTER_TWO_SHARDS = "from preprocess import workers\nhalt_after(workers, 'save_shard', lambda n, *a, **k: n == 2)"


def test_resume_after_sigkill(tmp_path, monkeypatch):
    clips = tuple((1 + i % 3, 40) for i in range(16))
    data = write_dataset(tmp_path / "data", clips=clips)
    out = tmp_path / "run"
    run_until_halted(script(HALT_AFTER_TWO_SHARDS, SCRIPT_BODY.format(data=str(data), out=str(out))), tmp_path)
    finals = [p for p in out.glob("*.h5") if not p.name.endswith(".partial.h5")]
    assert not finals, "a killed run left a file under the final name"
    done = len(list(out.glob("*.parts/*.npy")))
    assert done == 2

    calls = counting(monkeypatch)
    settings = PreprocessSettings()
    resumed = build_cache_from_index(index_from_dir(data), settings=settings, cache_dir=out, jobs=1, progress=False)
    assert len(calls) == len(clips) - done
    clean = build_cache_from_index(index_from_dir(data), settings=settings, cache_dir=tmp_path / "clean", jobs=2,
                                   progress=False)  # fmt: skip
    assert resumed.name == clean.name
    assert_same(clean, resumed)


def test_cli_resume_after_sigkill(tmp_path):
    """The acceptance check: SIGKILL ``mpt preprocess`` part-way, run it again, compare with a clean run."""
    import re

    from typer.testing import CliRunner

    from mpt.cli import app
    from test_cache_cli import fabricate_casme2

    clips = tuple((f"0{1 + i % 2}", f"EP{i:02d}_1", "happiness", 40) for i in range(14))
    root = fabricate_casme2(tmp_path / "casme2", clips=clips)
    args = ["preprocess", "casme2", "--root", str(root), "--annotations", str(root / "CASME2-coding-test.xlsx"),
            "--jobs", "1", "--no-progress"]  # fmt: skip
    out = tmp_path / "run"
    argv = ["mpt", *args, "--cache-dir", str(out)]
    run_until_halted(script(HALT_AFTER_TWO_SHARDS, f"sys.argv = {argv!r}\nfrom mpt.cli import main\nmain()"), tmp_path)
    assert not [p for p in out.glob("*.h5") if not p.name.endswith(".partial.h5")]
    done = len(list(out.glob("*.parts/*.npy")))
    assert done == 2

    runner = CliRunner()
    resumed = runner.invoke(app, [*args, "--cache-dir", str(out)])
    assert resumed.exit_code == 0, resumed.output
    assert re.search(rf"\({len(clips) - done} computed, {done} reused\)", resumed.output), resumed.output
    clean = runner.invoke(app, [*args[:-3], "--jobs", "2", "--cache-dir", str(tmp_path / "clean")])
    assert clean.exit_code == 0, clean.output
    assert_same(Path(clean.stdout.strip().splitlines()[-1]), Path(resumed.stdout.strip().splitlines()[-1]))
