"""One error style: every expected failure is one `error: ...` line on stderr, exit 1, no traceback."""

import subprocess
import sys

import pytest
from test_train_helpers import write_cache
from typer.testing import CliRunner

from clierrors import one_error_line
from mpt.cli import app

TINY = ["--device", "cpu", "--backbone", "vit_tiny_patch16_224", "--depth", "1", "--img-size", "32", "--epochs", "1",
        "--no-progress"]




@pytest.fixture(scope="module")
def good_cache(tmp_path_factory):
    return write_cache(tmp_path_factory.mktemp("cache"), subjects=("sub01", "sub02"), per_subject=2)


def train(*args):
    return CliRunner().invoke(app, ["train", *map(str, args), *TINY])


def test_missing_cache(tmp_path):
    one_error_line(train("--cache", tmp_path / "missing.h5", "--out", tmp_path / "r"), "missing.h5", "not found")


def test_corrupt_cache(tmp_path, good_cache):
    text = tmp_path / "text.h5"
    text.write_text("not hdf5")
    one_error_line(train("--cache", text, "--out", tmp_path / "r1"), "text.h5", "not an HDF5 file")
    torn = tmp_path / "torn.h5"
    torn.write_bytes(good_cache.read_bytes()[: good_cache.stat().st_size // 3])  # a copy cut short
    one_error_line(train("--cache", torn, "--out", tmp_path / "r2"), "torn.h5")


def test_incomplete_cache(tmp_path):
    bad = write_cache(tmp_path, complete=False)
    one_error_line(train("--cache", bad, "--out", tmp_path / "r"), bad.name, "incomplete cache")


def test_bad_weights_file(tmp_path, good_cache):
    weights = tmp_path / "vit.safetensors"
    weights.write_bytes(b"\x00" * 64)
    one_error_line(train("--cache", good_cache, "--weights", weights, "--out", tmp_path / "r"), "vit.safetensors")
    one_error_line(train("--cache", good_cache, "--weights", tmp_path / "none.pth", "--out", tmp_path / "r"),
                   "none.pth", "no such file")


def test_bad_option_values(tmp_path, good_cache):
    one_error_line(train("--cache", good_cache, "--variant", "lora", "--out", tmp_path / "r"),
                   "--variant 'lora' is not one of mpt,")
    one_error_line(train("--cache", good_cache, "--precision", "fp8", "--out", tmp_path / "r"), "--precision")
    one_error_line(train("--cache", good_cache, "--fold-batch", "many", "--out", tmp_path / "r"), "--fold-batch")
    one_error_line(train("--cache", good_cache, "--fold", "sub99", "--out", tmp_path / "r"), "sub99")
    one_error_line(train("--cache", good_cache, "--batch-size", "0", "--out", tmp_path / "r"), "--batch-size")
    assert not (tmp_path / "r").exists()  # nothing that looks like a run is left behind


def test_debug_shows_the_traceback(tmp_path, monkeypatch):
    monkeypatch.setenv("MPT_DEBUG", "1")
    result = train("--cache", tmp_path / "missing.h5", "--out", tmp_path / "r")
    assert result.exit_code != 0 and "CacheError" in repr(result.exception)


def test_python_m_mpt_and_console_script():
    for cmd in ([sys.executable, "-m", "mpt", "--help"], [str(__import__("pathlib").Path(sys.executable).parent / "mpt"),
                                                           "--help"]):
        out = subprocess.run(cmd, capture_output=True, text=True)
        assert out.returncode == 0 and "preprocess" in out.stdout and "train" in out.stdout, out.stderr
    out = subprocess.run([sys.executable, "-m", "mpt", "train", "--cache", "missing.h5"], capture_output=True, text=True)
    assert out.returncode == 1 and out.stderr == "error: missing.h5: cache file not found\n"
