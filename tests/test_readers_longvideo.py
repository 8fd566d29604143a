"""CAS(ME)^2 and SAMM Long Videos readers on fake trees built from the real tables.

Expected counts are the ones SOURCES.md and the issue give for the real tables; expected rows are
found here from the tables by fabricate.py's own fixed-layout parser.
"""

import json
import shutil

import pytest
from fabricate import CAS2_TABLE, SAMMLV_TABLE, SAMM_CODING, cas2_rows, fabricate_cas2, fabricate_sammlv, sammlv_rows
from typer.testing import CliRunner

from mpt.cli import app
from preprocess.readers import read_dataset, read_long_videos
from preprocess.records import DatasetError

runner = CliRunner()


@pytest.fixture(scope="module")
def tables(annotations_dir):
    paths = {n: annotations_dir / n for n in (CAS2_TABLE, SAMMLV_TABLE, SAMM_CODING)}
    for p in paths.values():
        if not p.is_file():
            pytest.skip(f"{p} not found")
    return paths


@pytest.fixture(scope="module")
def tree(tmp_path_factory, tables):
    root = tmp_path_factory.mktemp("longvideo")
    fabricate_cas2(root, cas2_rows(tables[CAS2_TABLE]))
    fabricate_sammlv(root, sammlv_rows(tables[SAMMLV_TABLE]))
    shutil.copy(tables[SAMM_CODING], root)  # emotions of SAMM-LV micro-expressions, found in the root
    return root


def summary(*args):
    return runner.invoke(app, ["datasets", "summary", *map(str, args)])


def test_cas2_counts_and_changed_rows(tree, tables):
    result = summary("cas2", "--root", tree, "--annotations", tables[CAS2_TABLE], "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert (report["intervals"], report["videos"], report["subjects"]) == (357, 95, 22)
    assert report["types"]["macro"]["intervals"] == 300 and report["types"]["micro"]["intervals"] == 57
    assert report["types"]["micro"]["subjects"] == 14  # SOURCES.md
    assert report["skipped"] == []
    rows = cas2_rows(tables[CAS2_TABLE])
    offset0 = {r["row"] for r in rows if r["offset"] == 0}
    before_apex = {r["row"] for r in rows if 0 < r["offset"] < r["apex"]}
    assert len(offset0) == 44 and before_apex == {170, 242, 262}  # SOURCES.md
    changed = {c["row"]: c["reason"] for c in report["changed"]}
    assert set(changed) == offset0 | before_apex | {309}
    by_row = {r["row"]: r for r in rows}
    for row in offset0 | before_apex:
        assert f"offset {by_row[row]['apex']}" in changed[row] and "ends at the apex" in changed[row]
    assert "apex 0" in changed[309] and "unknown" in changed[309]
    assert all(f"row {row}" in reason and str(tables[CAS2_TABLE]) in reason for row, reason in changed.items())


def test_cas2_video_ids_and_intervals(tree, tables):
    index = read_long_videos("cas2", tree, tables[CAS2_TABLE])
    video = index.video("s15", "15_0401")  # participant 1 of the table is s15; anger1 is code 0401
    assert video is not None and video.folder.name == "15_0401somedescription" and video.fps == 30
    first = next(i for i in video.intervals if i.name == "anger1_1")  # row 1: 557, 572, 608, 4+10+14
    assert (first.onset, first.apex, first.offset, first.type, first.au, first.objective, first.row) == (
        557, 572, 608, "macro", "4+10+14", "negative", 1)
    row309 = next(i for _, i in index.intervals if i.row == 309)
    assert (row309.onset, row309.apex, row309.offset) == (1763, -1, 1787)


def test_samm_lv_counts_and_changed_rows(tree, tables):
    result = summary("samm-lv", "--root", tree, "--annotations", tables[SAMMLV_TABLE], "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert (report["intervals"], report["videos"], report["subjects"]) == (502, 147, 30)
    assert report["types"]["macro"]["intervals"] == 343 and report["types"]["micro"]["intervals"] == 159
    assert report["types"]["micro"]["subjects"] == 29
    assert report["skipped"] == []
    onset0 = {r["row"] for r in sammlv_rows(tables[SAMMLV_TABLE]) if r["onset"] == 0}
    onset1 = {r["row"] for r in sammlv_rows(tables[SAMMLV_TABLE]) if r["onset"] == 1}
    assert len(onset0) == 10 and onset1 == {105, 378}  # SOURCES.md: 12 rows with onset 0 or 1
    changed = {c["row"]: c["reason"] for c in report["changed"]}
    assert set(changed) == onset0 | {105, None}  # 105: apex 6.5 s after onset 1; 378 (3.6 s) is plausible
    assert all("read as frame 1" in changed[r] for r in onset0)
    rounding = changed[None]  # one line names every row with a fractional frame number
    listed = {int(x) for x in rounding.split("rows: ")[1].split(", ")}
    from fabricate import sheet_rows

    fractional = {r["_row"] for r in sheet_rows(tables[SAMMLV_TABLE], 10)
                  # 114.99999999999999 is 115, not a fractional frame
                  if any(abs(float(r[c]) - round(float(r[c]))) > 1e-6 for c in ("Onset", "Apex", "Offset"))}
    assert listed == fractional and len(fractional) >= 148  # SOURCES.md: 148 fractional offsets alone
    assert "037_4_1" in result.stderr  # a name given to two expressions: both kept, said


def test_samm_lv_rounding_and_unknown_apex(tree, tables):
    index = read_long_videos("samm-lv", tree, tables[SAMMLV_TABLE])
    by_row = {i.row: i for _, i in index.intervals}
    assert (by_row[11].onset, by_row[11].apex, by_row[11].offset) == (566, 648, 743)  # 566.4, 647.6, 743.2
    assert {r for r, i in by_row.items() if i.apex == -1} == {76, 393, 408, 427, 491, 492}  # SOURCES.md
    assert by_row[12].emotion == "Anger"  # 006_1_2, matched in SAMM_Micro_FACS_Codes_v2 despite its +2000
    assert index.video("006", "006_1").fps == 200


def test_micro_expressions_as_recognition_datasets(tree, tables):
    cas2 = read_dataset("cas2", tree, tables[CAS2_TABLE])
    assert cas2.whole_frames and len(cas2.clips) == 57 and len(cas2.subjects) == 14
    assert cas2.class_counts() == {"negative": 21, "positive": 8, "surprise": 9, "others": 19}  # SOURCES.md
    for c in cas2.clips:
        assert [p.name for p in c.frames] == [f"img{n}.jpg" for n in range(c.onset, c.offset + 1)]
    assert read_dataset("cas2", tree, tables[CAS2_TABLE], classes=["cas2-3"]).classes == (
        "negative", "positive", "surprise")
    samm = read_dataset("samm-lv", tree, tables[SAMMLV_TABLE])
    assert samm.whole_frames and samm.class_counts() == {  # the SAMM reader's 5 classes, same counts
        "anger": 57, "contempt": 12, "happiness": 26, "surprise": 15, "other": 26}
    three = read_dataset("samm-lv", tree, tables[SAMMLV_TABLE], classes=["samm-lv-3"])
    assert three.class_counts() == {"negative": 92, "positive": 26, "surprise": 15}  # SOURCES.md (MEGC 2019)


def test_missing_frames_folder_is_named(tree, tables, tmp_path):
    shutil.copytree(tree / "rawpic", tmp_path / "rawpic")
    shutil.rmtree(tmp_path / "rawpic" / "s15" / "15_0401somedescription")
    expected = {r["row"] for r in cas2_rows(tables[CAS2_TABLE]) if r["subject"] == "s15" and r["video"] == "anger1"}
    index = read_long_videos("cas2", tmp_path, tables[CAS2_TABLE])
    assert {p.row for p in index.skipped} == expected and expected
    assert all("frames folder not found" in p.reason and "15_0401" in p.reason for p in index.skipped)
    result = summary("cas2", "--root", tmp_path, "--annotations", tables[CAS2_TABLE])
    assert result.exit_code == 0 and f"{len(expected)} row(s) skipped" in result.stdout
    result = summary("cas2", "--root", tmp_path, "--annotations", tables[CAS2_TABLE], "--strict")
    assert result.exit_code == 1
    assert result.stderr.startswith("error: ") and "row 1" in result.stderr and len(result.stderr.splitlines()) == 1
    with pytest.raises(DatasetError, match="frames folder not found"):
        read_dataset("cas2", tmp_path, tables[CAS2_TABLE], strict=True)
