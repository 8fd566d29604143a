"""The cross-dataset and leave-one-dataset-out protocols, end to end with a tiny random backbone.

cross: `mpt synth` (CASME II layout) preprocessed at 32 px trains, a SAMM-layout tree fabricated from
the real SAMM table is the test cache. lodo: a MEGC2019 fabrication (two subjects of each part, as in
test_composite.py). One epoch: this checks the wiring and the records, not accuracy. That no subject
is both trained on and tested is asserted from the fold records, for every protocol.
"""

import json
import shutil
from collections import defaultdict

import h5py
import pytest
from fabricate import (
    CASME2_2014, SAMM_CODING, casme2_rows, fabricate_casme2, fabricate_samm, fabricate_smic, megc_rows, samm_rows,
    sheet_rows, smic_rows, unpad_smic, write_xlsx,
)
from typer.testing import CliRunner

from mpt.cli import app

runner = CliRunner()
TINY = ["--backbone", "vit_tiny_patch16_224", "--depth", "1", "--img-size", "32", "--epochs", "1", "--batch-size",
        "4", "--device", "cpu", "--precision", "fp32", "--no-progress"]
PRE = ["--size", "32", "--frames", "8", "--jobs", "1", "--no-progress"]


def preprocess(*args):
    result = runner.invoke(app, ["preprocess", *map(str, args), *PRE])
    assert result.exit_code == 0, result.output
    return result.stdout.strip().splitlines()[-1]


def records(run):
    return [json.loads(p.read_text()) for p in sorted((run / "folds").glob("*.json"))]


def assert_no_subject_in_both(run):
    for r in records(run):
        assert r["train_subjects"] and r["test_subjects"]
        assert not set(r["train_subjects"]) & set(r["test_subjects"]), r["subject"]


@pytest.fixture(scope="module")
def caches(tmp_path_factory, annotations_dir):
    root = tmp_path_factory.mktemp("cross")
    result = runner.invoke(app, ["synth", str(root / "synth"), "--subjects", "3", "--clips-per-subject", "4",
                                 "--size", "32", "--jobs", "1"])
    assert result.exit_code == 0, result.output
    train = preprocess("casme2", "--root", root / "synth", "--cache-dir", root / "cache")
    table = samm_rows(annotations_dir / SAMM_CODING)
    rows = [r for r in table if r["subject"] == "006"][:4] + [r for r in table if r["subject"] == "007"][:4]
    fabricate_samm(root / "samm", rows)
    au = {r["Filename"]: r["Action Units"] for r in sheet_rows(annotations_dir / SAMM_CODING, 14)}
    write_xlsx(root / "samm" / "SAMM_Micro_FACS_Codes_test.xlsx",
               ["Subject", "Filename", "Onset Frame", "Apex Frame", "Offset Frame", "Action Units",
                "Estimated Emotion"],
               [[r["subject"], r["clip"], r["onset"], r["apex"], r["offset"], au[r["clip"]], r["emotion"]]
                for r in rows])
    samm_all = preprocess("samm", "--root", root / "samm", "--cache-dir", root / "cache",
                          "--classes", "anger,contempt,happiness,surprise,other,fear,sadness,disgust")
    samm_alpha = preprocess("samm", "--root", root / "samm", "--cache-dir", root / "cache", "--alpha", "60",
                            "--classes", "anger,happiness,surprise,fear,sadness")
    return root, train, samm_all, samm_alpha, rows


def test_cross_trains_on_one_cache_and_tests_on_the_other(caches, tmp_path):
    root, train, samm, _, rows = caches
    mapfile = tmp_path / "map.toml"
    mapfile.write_text('ignore = ["others", "other"]\n[classes]\nnegative = ["disgust", "repression", "anger", '
                       '"contempt", "fear", "sadness"]\npositive = ["happiness"]\nsurprise = ["surprise"]\n')
    result = runner.invoke(app, ["train", "--cache", train, "--test-cache", samm, "--class-map", str(mapfile),
                                 *TINY, "--out", str(tmp_path / "run")])
    assert result.exit_code == 0, result.output
    assert "trained on casme2, tested on samm (cross-dataset)" in result.stdout
    run = tmp_path / "run"
    res = json.loads((run / "results.json").read_text())
    keys = {}
    for name, path in (("train", train), ("test", samm)):
        with h5py.File(path, "r") as f:
            keys[name] = str(f.attrs["cache_key"])
    assert res["protocol"] == "cross" and res["task"] == "emotion"
    assert (res["cache_key"], res["test_cache_key"]) == (keys["train"], keys["test"])
    assert res["class_map"]["name"] == str(mapfile) and res["classes"] == ["negative", "positive", "surprise"]
    (fold,) = records(run)
    # every SAMM clip but the "other" ones is tested; every synthetic clip but "others" trained on
    expected_test = sum(str(r["emotion"]).lower() != "other" for r in rows)
    assert fold["test_clips"] == len(fold["labels"]) == res["clips"] == expected_test
    with h5py.File(train, "r") as f:
        classes = json.loads(f.attrs["classes"])
        n_others = int((f["label"][()] == classes.index("others")).sum())
        n_train = len(f["label"])
    assert fold["train_clips"] == n_train - n_others
    assert fold["train_subjects"] == ["casme2/sub01", "casme2/sub02", "casme2/sub03"]
    assert fold["test_subjects"] == ["samm/006", "samm/007"]
    assert_no_subject_in_both(run)


def test_cross_refuses_what_cannot_meet(caches, tmp_path):
    root, train, samm, samm_alpha, _ = caches
    cases = [
        (["--test-cache", samm_alpha, "--class-map", "3class"], "preprocessed with other settings", "alpha 20.0 vs 60.0"),
        (["--test-cache", samm, "--class-map", "3class"], "class(es) other map to nothing in class map 3class", ""),
        (["--test-cache", samm], "map to nothing in class map identity", "anger"),
        (["--test-cache", train], "are the same cache", ""),
        (["--protocol", "cross"], "--protocol cross needs --test-cache", ""),
        (["--protocol", "lodo"], "needs a composite cache", ""),
        (["--class-map", "3class"], "applies to the cross protocol", ""),
    ]
    for extra, message, detail in cases:
        result = runner.invoke(app, ["train", "--cache", train, *map(str, extra), *TINY,
                                     "--out", str(tmp_path / "r")])
        assert result.exit_code == 1, (extra, result.output)
        assert message in result.stderr and detail in result.stderr, (extra, result.stderr)
        assert not (tmp_path / "r").exists()  # refused before any file


@pytest.fixture(scope="module")
def megc_cache(tmp_path_factory, annotations_dir):
    """Two subjects of each MEGC2019 part, two clips each (as in test_composite.py)."""
    root = tmp_path_factory.mktemp("megc")
    picked, per_subject, subjects = [], defaultdict(int), defaultdict(list)
    for dataset, subject, clip, label in megc_rows(annotations_dir / "combined_3class_gt.csv"):
        if subject not in subjects[dataset] and len(subjects[dataset]) < 2:
            subjects[dataset].append(subject)
        if subject in subjects[dataset] and per_subject[dataset, subject] < 2:
            per_subject[dataset, subject] += 1
            picked.append((dataset, subject, clip, label))
    clips = {d: {c for dd, _, c, _ in picked if dd == d} for d in ("casme2", "samm", "smic")}
    fabricate_casme2(root / "casme2", [r for r in casme2_rows(annotations_dir / CASME2_2014) if r["clip"] in clips["casme2"]])
    fabricate_samm(root / "samm", [r for r in samm_rows(annotations_dir / SAMM_CODING) if r["clip"] in clips["samm"]])
    smic = {unpad_smic(c) for c in clips["smic"]}
    fabricate_smic(root / "smic", [r for r in smic_rows(annotations_dir / "HS_cropped.csv") if r["clip"] in smic])
    shutil.copy(annotations_dir / CASME2_2014, root / "casme2")
    shutil.copy(annotations_dir / SAMM_CODING, root / "samm")
    (root / "gt.csv").write_text("".join(f"{d},{s},{c},{label}\n" for d, s, c, label in picked))
    return preprocess("megc2019", "--root", root, "--annotations", root / "gt.csv", "--cache-dir", root / "cache",
                      "--strict"), picked


def test_lodo_on_megc2019_leaves_each_part_out(megc_cache, tmp_path):
    cache, picked = megc_cache
    result = runner.invoke(app, ["train", "--cache", cache, "--protocol", "lodo", *TINY, "--fold-batch", "3",
                                 "--out", str(tmp_path / "run")])
    assert result.exit_code == 0, result.output
    run = tmp_path / "run"
    res = json.loads((run / "results.json").read_text())
    assert res["protocol"] == "lodo" and res["folds"] == ["casme2", "samm", "smic"]
    parts = res["per_dataset"]
    assert sorted(parts) == ["casme2", "samm", "smic"]
    for name in parts:
        assert parts[name]["clips"] == sum(d == name for d, *_ in picked) == 4
    assert sum(p["clips"] for p in parts.values()) == res["clips"] == len(picked)
    for r in records(run):  # trained on the two other parts' subjects, tested on this part's
        assert {s.split("/")[0] for s in r["train_subjects"]} == {"casme2", "samm", "smic"} - {r["subject"]}
        assert {s.split("/")[0] for s in r["test_subjects"]} == {r["subject"]}
        assert r["train_clips"] == len(picked) - r["test_clips"]
    assert_no_subject_in_both(run)
    assert "Leave-one-dataset-out" in (run / "summary.md").read_text()


def test_loso_records_list_train_subjects(megc_cache, tmp_path):
    cache, picked = megc_cache
    result = runner.invoke(app, ["train", "--cache", cache, "--fold", "0", *TINY, "--out", str(tmp_path / "run")])
    assert result.exit_code == 0, result.output
    (r,) = records(tmp_path / "run")
    folder = {"casme2": lambda s: s, "samm": lambda s: f"{int(s):03d}", "smic": unpad_smic}  # the list's names
    everyone = sorted({f"{d}/{folder[d](s)}" for d, s, *_ in picked})
    assert r["test_subjects"] == [r["subject"]] and r["train_subjects"] == [s for s in everyone if s != r["subject"]]
    assert_no_subject_in_both(tmp_path / "run")
