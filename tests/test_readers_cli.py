"""``mpt datasets summary`` through Typer's CliRunner, on fake trees built from the real tables."""

import json
import shutil

import pytest
from fabricate import CASME2_2014, CASME2_CLASSES, casme2_rows, fabricate_casme2, shared_tree, write_xlsx
from typer.testing import CliRunner

from mpt.cli import app

runner = CliRunner()


def summary(*args):
    return runner.invoke(app, ["datasets", "summary", *map(str, args)])


@pytest.fixture(scope="module")
def trees(tmp_path_factory, annotations_dir):
    return {name: shared_tree(tmp_path_factory, name, annotations_dir) for name in ("casme2", "samm", "smic", "megc2019")}


@pytest.mark.parametrize("name, extra, expected", [
    ("casme2", [], {"clips": 246, "subjects": 26,
                    "classes": {"happiness": 32, "surprise": 25, "disgust": 63, "repression": 27, "others": 99}}),
    ("samm", ["--annotations", "SAMM_Micro_FACS_Codes_v2.xlsx"],
     {"clips": 136, "subjects": 27, "classes": {"anger": 57, "contempt": 12, "happiness": 26, "surprise": 15, "other": 26}}),
    ("smic", [], {"clips": 164, "subjects": 16, "classes": {"negative": 70, "positive": 51, "surprise": 43}}),
    ("smic", ["--annotations", "HS_cropped.csv"],
     {"clips": 164, "subjects": 16, "classes": {"negative": 70, "positive": 51, "surprise": 43}}),
    ("megc2019", [], {"clips": 442, "subjects": 68, "classes": {"negative": 250, "positive": 109, "surprise": 83}}),
])
def test_json_counts(trees, annotations_dir, name, extra, expected):
    extra = [annotations_dir / e if e.endswith((".xlsx", ".csv")) else e for e in extra]
    result = summary(name, "--root", trees[name], *extra, "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"dataset": name, **expected, "skipped": []}  # exactly one object on stdout


def test_skipped_in_json_and_table(tmp_path, annotations_dir):
    """sub26's rows of the 2014 file in their own coding file; the last clip's folder is missing."""
    rows = [r for r in casme2_rows(annotations_dir / CASME2_2014) if r["subject"] == "sub26"]
    selected = [r for r in rows if r["emotion"] in CASME2_CLASSES]
    root = fabricate_casme2(tmp_path, selected)
    write_xlsx(root / "CASME2-coding-sub26.xlsx", ["Subject", "Filename", "OnsetFrame", "ApexFrame", "OffsetFrame",
               "Action Units", "Estimated Emotion"],
               [[26, r["clip"], r["onset"], r["apex"], r["offset"], "4", r["emotion"]] for r in rows])
    last = rows[-1]  # sub26/EP18_51, disgust: row len(rows) + 1 of the new file
    assert (last["clip"], last["emotion"]) == ("EP18_51", "disgust")
    shutil.rmtree(root / "Cropped" / "sub26" / "EP18_51")
    n_disgust = sum(r["emotion"] == "disgust" for r in selected)
    result = summary("casme2", "--root", root, "--json")
    assert result.exit_code == 0
    out = json.loads(result.stdout)
    assert out["clips"] == len(selected) - 1 and out["subjects"] == 1 and out["classes"]["disgust"] == n_disgust - 1
    assert [s["clip"] for s in out["skipped"]] == ["EP18_51"]
    assert f"row {len(rows) + 1}" in out["skipped"][0]["reason"] and "clip folder not found" in out["skipped"][0]["reason"]
    if len(selected) < len(rows):
        assert "not in the class selection" in result.stderr  # warnings go to stderr

    table = summary("casme2", "--root", root)
    assert table.exit_code == 0
    assert f"{len(selected) - 1} clips, 1 subjects" in table.stdout and "EP18_51" in table.stdout and "disgust" in table.stdout

    strict = summary("casme2", "--root", root, "--strict", "--json")
    assert strict.exit_code == 1 and strict.stdout == ""
    assert "EP18_51" in strict.stderr and "Traceback" not in strict.output


def test_bad_input_exit_codes(trees, tmp_path):
    bad = tmp_path / "coding.xlsx"
    bad.write_text("not a spreadsheet")
    result = summary("casme2", "--root", trees["casme2"], "--annotations", bad)
    assert result.exit_code == 1 and str(bad) in result.stderr and "Traceback" not in result.output
    # one error style: bad option values are one "error:" line and exit 1 (not click's exit 2)
    for result in (summary("casme2", "--root", tmp_path / "absent"), summary("mmew", "--root", tmp_path)):
        assert result.exit_code == 1 and result.stderr.startswith("error: ") and len(result.stderr.splitlines()) == 1
    result = summary("casme2", "--root", trees["casme2"], "--classes", "happiness,joy")
    assert result.exit_code == 1 and "bad class selection" in result.stderr
    result = summary("casme2", "--root", trees["casme2"], "--classes", "surprise,happiness", "--json")
    assert json.loads(result.stdout)["classes"] == {"surprise": 25, "happiness": 32}


def test_cli_choices_match_readers():
    from mpt.cli.datasets_cmd import Dataset
    from preprocess.readers import DATASETS

    assert tuple(d.value for d in Dataset) == DATASETS
