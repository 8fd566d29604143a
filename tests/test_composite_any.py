"""`mpt preprocess composite`: a cache over any corpora, classes met through a class map.

A fake tree of four corpora (tests/composite_tree.py: two subjects of each real table) is read and
preprocessed at 32 px with --face none (the fake frames hold no face). Expected counts come from the
tables' emotions and a 3-class mapping written in composite_tree.py.
"""

import json

import h5py
import pytest
from composite_tree import SUBJECTS, expected_3class, fabricate_parts
from typer.testing import CliRunner

from mpt.cli import app
from preprocess.composite import Part, parse_parts, read_composite
from preprocess.records import DatasetError

runner = CliRunner()
PARTS = ("casme2", "samm", "smic", "casme3")


@pytest.fixture(scope="module")
def tree(tmp_path_factory, annotations_dir):
    root = tmp_path_factory.mktemp("parts")
    return root, fabricate_parts(root, annotations_dir)


def test_index_counts_subjects_and_left_out(tree):
    root, picked = tree
    index, own = read_composite([Part(p, root / p) for p in PARTS], "3class")
    assert index.dataset == "composite" and index.classes == ("negative", "positive", "surprise")
    assert index.skipped == []
    expected = sum((expected_3class(picked[p]) for p in PARTS), start=type(expected_3class([]))())
    assert index.class_counts() == {c: expected[c] for c in index.classes}
    # subjects stay distinct per corpus: each is its part's subject prefixed with the part
    assert set(index.subjects) <= {f"{p}/{s}" for p in PARTS for s in SUBJECTS[p]}
    for p in PARTS:
        mine = [c for c in index.clips if c.subject.startswith(p + "/")]
        assert len(mine) == sum(expected_3class(picked[p]).values())
        assert {c.clip for c in mine} <= {r["clip"] for r in picked[p]}
    # CASME II's "others" rows of the picked subjects are left out, and said so
    others = sum(str(r["emotion"]).lower() == "others" for r in picked["casme2"])
    assert others > 0 and any(w.startswith("casme2:") and f"others {others}" in w for w in index.warnings)


def test_cli_builds_the_cache_with_sources(tree, tmp_path):
    root, picked = tree
    files = tmp_path / "parts.toml"
    files.write_text(f'classes = "3class"\n[casme3]\nroot = "{root / "casme3"}"\nmax_seconds = 10\n')
    result = runner.invoke(app, ["preprocess", "composite", "--parts", ",".join(PARTS), "--root", str(root),
                                 "--parts-file", str(files), "--size", "32", "--frames", "8", "--jobs", "1",
                                 "--face", "none", "--cache-dir", str(tmp_path / "cache"), "--no-progress"])
    assert result.exit_code == 0, result.output
    cache = result.stdout.strip().splitlines()[-1]
    assert "composite-" in cache
    with h5py.File(cache, "r") as f:
        sources = [s.decode() for s in f["source"][()]]
        subjects = [s.decode() for s in f["subject"][()]]
        labels = list(f["label"][()])
        identity = json.loads(f.attrs["input"])
        assert json.loads(f.attrs["classes"]) == ["negative", "positive", "surprise"]
    for p in PARTS:
        assert sources.count(p) == sum(expected_3class(picked[p]).values())
    assert all(s.startswith(src + "/") for s, src in zip(subjects, sources))
    assert [p["name"] for p in identity["parts"]] == list(PARTS)
    assert identity["class_map"]["name"] == "3class"
    totals = sum((expected_3class(picked[p]) for p in PARTS), start=type(expected_3class([]))())
    assert [labels.count(i) for i in range(3)] == [totals["negative"], totals["positive"], totals["surprise"]]


@pytest.mark.parametrize("parts, message", [
    ("casme2,megc2019", "megc2019 is a composite"),
    ("casme2,nosuch", "unknown part 'nosuch'"),
    ("casme2", "at least two distinct"),
    ("casme2,casme2", "at least two distinct"),
])
def test_bad_parts(parts, message):
    with pytest.raises(DatasetError, match=message):
        parse_parts(parts)


def test_a_part_class_that_maps_to_nothing_is_an_error(tree):
    root, _ = tree
    with pytest.raises(DatasetError, match="part casme2: class\\(es\\) others map to nothing in class map 3class"):
        read_composite([Part("casme2", root / "casme2", classes=("disgust", "others")), Part("smic", root / "smic")],
                       "3class")


def test_cli_errors(tree, tmp_path):
    root, _ = tree
    bad = tmp_path / "bad.toml"
    bad.write_text('[casme2]\nrot = "x"\n')
    cases = [
        (["--parts", "casme2,samm", "--root", str(root), "--parts-file", str(bad)], "unknown key(s) rot"),
        (["--root", str(root)], "composite needs --parts"),
        (["--parts", "casme2,samm", "--root", str(tmp_path)], "part casme2: root"),
        (["--parts", "casme2,samm", "--root", str(root), "--classes", "4class"], "neither a preset"),
    ]
    for args, message in cases:
        result = runner.invoke(app, ["preprocess", "composite", *args, "--cache-dir", str(tmp_path / "c")])
        assert result.exit_code == 1 and message in result.stderr, (args, result.output)
        assert result.stderr.startswith("error: ")
    result = runner.invoke(app, ["preprocess", "casme2", "--parts", "casme2,samm", "--root", str(root)])
    assert result.exit_code == 1 and "--parts and --parts-file are for" in result.stderr
