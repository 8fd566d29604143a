"""Sweep keys protocol / test_cache / class_map / task / aus: one spec holds a transfer or an AU study."""

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mpt.cli import app
from mpt.sweep.plan import readable_id
from mpt.sweep.spec import SpecError, parse_spec

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

[[table]]
name = "Tasks"
rows = [
  {{label = "emotion"}},
  {{label = "AUs", task = "au", aus = [1, 2, 4, 12]}},
]
"""


def spec_text(tmp_path, table=None):
    text = SPEC.format(root=tmp_path, cache_dir=tmp_path / "cache")
    return text if table is None else text.split("[[table]]")[0] + table


def test_keys_parse_and_default_ids_are_unchanged(tmp_path):
    cache = tmp_path / "other.h5"
    cache.write_bytes(b"")
    spec = parse_spec(spec_text(tmp_path, f'[[table]]\nname = "t"\nrows = [{{label = "x"}}, '
                                          f'{{test_cache = "{cache}", class_map = "3class"}}]\n'))
    base, cross = (r.config for r in spec.tables[0].rows)
    assert base.run == {"protocol": "loso", "test_cache": None, "class_map": None, "task": "emotion", "aus": None}
    assert "protocol" not in base.flat() and "task" not in base.flat()  # earlier sweeps keep their run ids
    assert cross.run["protocol"] == "cross" and cross.run["test_cache"] == cache.resolve()
    assert "test_cache-other" in readable_id(cross, spec.base, 0, "abc")


@pytest.mark.parametrize("row, message", [
    ('{protocol = "cross"}', "protocol cross needs test_cache"),
    ('{task = "pose"}', "must be one of emotion, au"),
    ('{aus = [1, 2]}', "aus applies to task au"),
    ('{task = "au", aus = "1,x"}', "bad AU 'x'"),
    ('{test_cache = "/nonexistent.h5"}', "no such file"),
    ('{class_map = "3class"}', "class_map applies to protocol cross"),
])
def test_bad_combinations_name_the_line(tmp_path, row, message):
    with pytest.raises(SpecError, match=message) as err:
        parse_spec(spec_text(tmp_path, f'[[table]]\nname = "t"\nrows = [\n  {row},\n]\n'), source="s.toml")
    assert str(err.value).startswith("s.toml:23: ")


def test_an_au_study_is_one_spec(tmp_path):
    from preprocess.synth import generate_synthetic

    generate_synthetic(tmp_path / "synth", subjects=2, clips_per_subject=4, seed=0, size=64, progress=False)
    spec = tmp_path / "s.toml"
    spec.write_text(SPEC.format(root=tmp_path / "synth", cache_dir=tmp_path / "cache"))
    result = CliRunner().invoke(app, ["sweep", str(spec), "--out", str(tmp_path / "out"), "--no-progress"])
    assert result.exit_code == 0, result.output + result.stderr
    results = json.loads((tmp_path / "out" / "results.json").read_text())
    emotion, au = results["tables"][0]["rows"]
    assert emotion["uf1"] is not None and "mean_f1" not in emotion
    assert au["mean_f1"] is not None and au["uf1"] is None
    (run,) = [Path(tmp_path / "out" / "runs" / r) for r in au["runs"]]
    assert json.loads((run / "results.json").read_text())["aus"] == ["AU1", "AU2", "AU4", "AU12"]
    tables = (tmp_path / "out" / "tables.md").read_text()
    assert "mean AU F1 (%)" in tables
