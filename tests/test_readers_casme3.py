"""CAS(ME)^3 Part A reader on fake trees built from the real label table (v2).

Expected counts, rows and reasons are the ones documented for the real table (SOURCES.md and the
issue), or computed here from the table by the independent parser in fabricate.py.
"""

import json
import shutil

import pytest
from fabricate import (
    CASME2_2014, CASME3_HEADER, CASME3_LABEL, SAMM_CODING, casme2_rows, casme3_rows, fabricate_casme2,
    fabricate_casme3, fabricate_samm, fabricate_smic, samm_rows, sheet_rows, smic_rows, write_xlsx,
)

from preprocess.readers import read_dataset
from preprocess.readers.casme3 import read_casme3
from preprocess.records import DatasetError

NEGATIVE = {"anger", "disgust", "fear", "sad"}
# SOURCES.md: the six rows that cannot be right, and what is wrong with each
IMPOSSIBLE = {130: "apex 83 before onset 112", 710: "3,456 frames", 751: "onset 3647 after apex 2668",
              752: "frame 0 does not exist", 798: "offset 0", 800: "offset 0"}
SEVEN = {"disgust": 249, "surprise": 187, "others": 157, "fear": 85, "anger": 64, "sad": 57, "happy": 55}
FOUR = {"negative": 455, "surprise": 187, "others": 157, "positive": 55}


@pytest.fixture(scope="module")
def label(annotations_dir):
    path = annotations_dir / CASME3_LABEL
    if not path.is_file():
        pytest.skip(f"{path} not found")
    return path


@pytest.fixture(scope="module")
def rows(label):
    return casme3_rows(label)


@pytest.fixture(scope="module")
def tree(tmp_path_factory, rows):
    """Every frame each row names, for all 860 rows (no 0.jpg)."""
    return fabricate_casme3(tmp_path_factory.mktemp("casme3"), rows)


def _long_rows(rows, seconds=10):
    """Rows whose onset..offset spans more than ``seconds`` at 30 fps, apart from the six."""
    return {r["row"] for r in rows if r["offset"] - r["onset"] + 1 > seconds * 30} - set(IMPOSSIBLE)


def _reasons(index):
    return {p.row: p.reason for p in index.skipped}


def test_counts_without_the_six_impossible_rows(tree, label):
    # max_seconds above the longest plausible span, so that only the six rows of SOURCES.md are problems
    index = read_casme3(tree, label, max_seconds=30)
    summary = index.summary()
    assert (summary["clips"], summary["subjects"]) == (854, 94)
    assert summary["classes"] == FOUR
    assert index.classes == ("negative", "positive", "surprise", "others")
    reasons = _reasons(index)
    assert sorted(reasons) == sorted(IMPOSSIBLE)
    for row, kind in IMPOSSIBLE.items():
        assert kind in reasons[row], (row, reasons[row])
    assert "onset" in reasons[752] and "apex" in reasons[752]
    assert [s["reason"] for s in summary["skipped"]] == [str(p) for p in index.skipped]
    for s, p in zip(summary["skipped"], index.skipped):
        assert str(label) in s["reason"] and f"row {p.row}" in s["reason"]
    assert index.whole_frames


def test_default_also_reports_spans_over_10_seconds(tree, label, rows):
    long = _long_rows(rows)
    assert len(long) == 3  # 13-24 s "micro"-expressions: rows 495, 562 and 581 of v2
    index = read_dataset("casme3", tree, label)
    reasons = _reasons(index)
    assert set(reasons) == set(IMPOSSIBLE) | long
    assert all("longer than max_seconds 10 s" in reasons[r] for r in long | {710})
    assert len(index.clips) == 854 - len(long) and len(index.subjects) == 94


def test_presets(tree, label):
    seven = read_casme3(tree, label, classes=["casme3-7"], max_seconds=30)  # the CLI's --classes casme3-7
    assert seven.class_counts() == SEVEN and seven.classes == tuple(sorted(SEVEN))
    three = read_casme3(tree, label, classes="casme3-3", max_seconds=30)
    assert len(three.clips) == 697 and three.classes == ("negative", "positive", "surprise")
    assert any("others 157" in w for w in three.warnings)  # left out by the selection, visibly
    four = read_casme3(tree, label, max_seconds=30)
    assert read_casme3(tree, label, classes=["casme3-4"], max_seconds=30).class_counts() == four.class_counts()
    # merged classes keep the annotated emotion
    for c in four.clips:
        emotion = c.emotion.lower()
        expected = "negative" if emotion in NEGATIVE else "positive" if emotion == "happy" else emotion
        assert c.label == expected and four.classes[c.label_index] == c.label
    assert {c.emotion for c in four.clips if c.label == "negative"} == NEGATIVE
    # explicit lists: emotions and merged classes, in label-index order
    mixed = read_casme3(tree, label, classes=["surprise", "negative", "happy"], max_seconds=30)
    assert mixed.class_counts() == {"surprise": 187, "negative": 455, "happy": 55}


@pytest.mark.parametrize("classes", [["joy"], ["negative", "anger"], ["casme3-7", "happy"], ["surprise", "surprise"],
                                     ["happiness"], []])
def test_bad_class_selection(tree, label, classes):
    with pytest.raises(DatasetError, match="bad class selection"):
        read_casme3(tree, label, classes=classes)


def test_preset_of_another_dataset(tmp_path, annotations_dir):
    fabricate_casme2(tmp_path, [r for r in casme2_rows(annotations_dir / CASME2_2014) if r["clip"] == "EP02_01f"])
    with pytest.raises(DatasetError, match="bad class selection"):
        read_dataset("casme2", tmp_path, annotations_dir / CASME2_2014, classes=["casme3-7"])


def test_records(tree, label, rows):
    index = read_casme3(tree, label, classes="casme3-7")
    by_key = {c.key: c for c in index.clips}
    assert len(by_key) == len(index.clips)  # clip names are unique
    rec = by_key["spNO.1/spNO.1_e_62"]  # row 4: spNO.1, e, '62', '68', '96', 'R12', 'I', 'others'
    assert (rec.onset, rec.apex, rec.offset, rec.au, rec.emotion, rec.label) == (62, 68, 96, "R12", "others", "others")
    assert (rec.dataset, rec.fps) == ("casme3", 30)
    for c in index.clips:
        assert [p.name for p in c.frames] == [f"{n}.jpg" for n in range(c.onset, c.offset + 1)]
        assert all(p.parent == tree / c.subject / c.clip.split("_")[1] / "color" for p in c.frames)
    # a recording holds several micro-expressions: one clip per row
    by_recording = {}
    for c in index.clips:
        by_recording.setdefault((c.subject, c.clip.split("_")[1]), []).append(c)
    assert max(len(v) for v in by_recording.values()) > 1
    # AU strings and emotions as annotated (the uppercase recording 'J' is read as written)
    listed = {(r["subject"], r["recording"], r["onset"]): r for r in rows}
    for c in index.clips:
        subject, recording, onset = c.clip.rsplit("_", 2)
        r = listed[(subject, recording, int(onset))]
        assert (c.au, c.emotion, c.apex, c.offset) == (r["au"], r["emotion"], r["apex"], r["offset"])
    assert any(c.clip.split("_")[1] == "J" for c in index.clips)


def test_others_folded_with_one_warning(tree, label, rows):
    capitalised = [r["row"] for r in rows if r["emotion"] == "Others"]
    assert len(capitalised) == 3
    index = read_dataset("casme3", tree, label)
    said = [w for w in index.warnings if "'Others'" in w]
    assert len(said) == 1 and all(str(r) in said[0] for r in capitalised)
    kept = [c for c in index.clips if c.emotion == "Others"]
    assert kept and all(c.label == "others" for c in kept)


def test_strict_stops_at_the_first_bad_row(tree, label):
    with pytest.raises(DatasetError) as e:
        read_dataset("casme3", tree, label, strict=True)
    assert "row 130" in str(e.value) and str(label) in str(e.value) and "spNO.149_d_112" in str(e.value)
    assert len(str(e.value).splitlines()) == 1


def _small(rows, tmp_path, n_subjects=3, *, depth=False):
    """Frames and a copy of the table rows of the first subjects, written as a label .xlsx."""
    subjects = sorted({r["subject"] for r in rows})[:n_subjects]
    mine = [r for r in rows if r["subject"] in subjects]
    fabricate_casme3(tmp_path / "part_A", mine, depth=depth)
    table = [[r["subject"], r["recording"], str(r["onset"]), str(r["apex"]), str(r["offset"]), r["au"], r["objective"],
              r["emotion"]] for r in mine]
    write_xlsx(tmp_path / "cas(me)3_part_A_ME_label_JpgIndex_v2.xlsx", CASME3_HEADER, table)
    return mine


def test_root_is_the_subjects_folder_or_its_parent(rows, tmp_path):
    mine = _small(rows, tmp_path, depth=True)
    a = read_dataset("casme3", tmp_path, strict=True)  # the table is found by name in the root ...
    b = read_dataset("casme3", tmp_path / "part_A", strict=True)  # ... or in the parent
    assert [c.frames for c in a.clips] == [c.frames for c in b.clips]
    assert len(a.clips) == len(mine) > 3
    assert all(p.parent.name == "color" and p.suffix == ".jpg" for c in a.clips for p in c.frames)  # depth ignored
    (tmp_path / "cas(me)3_part_A_ME_label_JpgIndex_v2.xlsx").rename(tmp_path / "elsewhere.xlsx")
    with pytest.raises(DatasetError, match="no CAS.ME.\\^3 label file"):
        read_dataset("casme3", tmp_path)
    shutil.copytree(tmp_path / "part_A" / mine[0]["subject"], tmp_path / "copy" / mine[0]["subject"])
    with pytest.raises(DatasetError, match="several folders"):
        read_dataset("casme3", tmp_path, tmp_path / "elsewhere.xlsx")
    with pytest.raises(DatasetError, match="no CAS.ME.\\^3 frames"):
        read_dataset("casme3", tmp_path / "part_A" / mine[0]["subject"], tmp_path / "elsewhere.xlsx")


def test_span_longer_than_max_seconds(rows, tmp_path):
    mine = _small(rows, tmp_path)
    long = {r["row"] for r in mine if r["offset"] - r["onset"] + 1 > 30}  # over 1 s at 30 fps
    assert 0 < len(long) < len(mine)
    index = read_casme3(tmp_path, max_seconds=1.0)
    assert set(_reasons(index)) == long
    assert all("longer than max_seconds 1 s" in p.reason for p in index.skipped)
    assert len(index.clips) == len(mine) - len(long)
    assert len(read_casme3(tmp_path, max_seconds=10.0).clips) == len(mine)
    with pytest.raises(DatasetError, match="longer than max_seconds"):
        read_casme3(tmp_path, strict=True, max_seconds=1.0)


def test_missing_frame_is_reported_with_its_path(rows, tmp_path):
    mine = _small(rows, tmp_path)
    bad = mine[1]
    folder = tmp_path / "part_A" / bad["subject"] / bad["recording"] / "color"
    (folder / f"{bad['onset'] + 1}.jpg").unlink()
    index = read_dataset("casme3", tmp_path)
    hit = [p for p in index.skipped if p.row == bad["row"]]
    assert len(hit) == 1 and str(folder) in hit[0].reason and f"missing frame(s) {bad['onset'] + 1}" in hit[0].reason
    assert hit[0].clip == f"{bad['subject']}_{bad['recording']}_{bad['onset']}"
    with pytest.raises(DatasetError, match="missing frame"):
        read_dataset("casme3", tmp_path, strict=True)


# every reader carries the AU string and the raw emotion where the annotation has them


def _as_text(v):
    return str(int(v)) if isinstance(v, float) and v.is_integer() else str(v).strip()


def test_all_readers_keep_au_and_emotion(annotations_dir, tmp_path):
    casme2 = sheet_rows(annotations_dir / CASME2_2014, 1)[:6]
    fabricate_casme2(tmp_path / "casme2", casme2_rows(annotations_dir / CASME2_2014)[:6])
    index = read_dataset("casme2", tmp_path / "casme2", annotations_dir / CASME2_2014,
                         classes=["happiness", "surprise", "disgust", "repression", "others", "sadness", "fear"])
    assert len(index.clips) == 6
    for c, r in zip(index.clips, casme2):
        assert (c.au, c.emotion) == (_as_text(r["Action Units"]), r["Estimated Emotion"])

    samm = sheet_rows(annotations_dir / SAMM_CODING, 14)[:6]
    fabricate_samm(tmp_path / "samm", samm_rows(annotations_dir / SAMM_CODING)[:6])
    index = read_dataset("samm", tmp_path / "samm", annotations_dir / SAMM_CODING,
                         classes=["anger", "contempt", "happiness", "surprise", "other", "disgust", "fear", "sadness"])
    assert len(index.clips) == 6
    for c, r in zip(index.clips, samm):
        assert (c.au, c.emotion) == (_as_text(r["Action Units"]), r["Estimated Emotion"])

    smic = smic_rows(annotations_dir / "HS_cropped.csv")[:6]
    fabricate_smic(tmp_path / "smic", smic)
    for ann in (None, annotations_dir / "HS_cropped.csv"):  # label from the folder, or from the csv
        index = read_dataset("smic", tmp_path / "smic", ann)
        got = {c.clip: c.emotion for c in index.clips}
        assert got == {r["clip"]: r["emotion"] for r in smic}
        assert all(c.au == "" for c in index.clips)  # SMIC has no AU coding

    megc = tmp_path / "megc"
    for d in ("casme2", "samm", "smic"):
        shutil.copytree(tmp_path / d, megc / d, symlinks=True)
    shutil.copy(annotations_dir / CASME2_2014, megc / "casme2")
    shutil.copy(annotations_dir / SAMM_CODING, megc / "samm")
    first = casme2[0], samm[0], smic[0]  # happiness (positive), Anger (negative), negative
    (megc / "gt.csv").write_text(f"casme2,sub{int(first[0]['Subject']):02d},{first[0]['Filename']},1\n"
                                 f"samm,{first[1]['Subject']},{first[1]['Filename']},0\n"
                                 f"smic,s{int(first[2]['subject'][1:]):02d},s01{first[2]['clip'][2:]},0\n")
    index = read_dataset("megc2019", megc, megc / "gt.csv", strict=True)
    assert [(c.au, c.emotion) for c in index.clips] == [
        (_as_text(first[0]["Action Units"]), first[0]["Estimated Emotion"]),
        (_as_text(first[1]["Action Units"]), first[1]["Estimated Emotion"]),
        ("", first[2]["emotion"]),
    ]


def test_cli_summary_json(tree, label):
    from typer.testing import CliRunner

    from mpt.cli import app

    def summary(*extra):
        r = CliRunner().invoke(app, ["datasets", "summary", "casme3", "--root", str(tree), "--annotations", str(label),
                                     "--json", *extra])
        assert r.exit_code == 0, r.output
        return json.loads(r.stdout)

    out = summary("--max-seconds", "30")
    assert (out["clips"], out["subjects"], out["classes"]) == (854, 94, FOUR)
    assert len(out["skipped"]) == 6
    assert summary("--classes", "casme3-7", "--max-seconds", "30")["classes"] == SEVEN
    assert summary("--classes", "casme3-3", "--max-seconds", "30")["clips"] == 697
    default = summary()  # the default 10 s span check also lists three 13-24 s rows
    assert default["clips"] == 851 and len(default["skipped"]) == 9
