"""SAMM reader on a fake tree built from the real SAMM_Micro_FACS_Codes_v2.xlsx."""

import shutil

import pytest
from fabricate import SAMM_CLASSES, fabricate_samm, samm_rows, shared_tree, sheet_rows, write_xlsx

from preprocess.readers import read_dataset
from preprocess.records import DatasetError

CODING = "SAMM_Micro_FACS_Codes_v2.xlsx"


@pytest.fixture(scope="module")
def samm_tree(tmp_path_factory, annotations_dir):
    return shared_tree(tmp_path_factory, "samm", annotations_dir)  # every row, frames onset-2..offset+2


def test_counts(samm_tree, annotations_dir):
    index = read_dataset("samm", samm_tree, annotations_dir / CODING)
    assert len(index.clips) == 136
    assert len(index.subjects) == 27
    assert index.classes == SAMM_CLASSES
    assert index.class_counts() == {"anger": 57, "contempt": 12, "happiness": 26, "surprise": 15, "other": 26}
    assert index.skipped == []


def test_apex_outside_kept_with_warning(samm_tree, annotations_dir):
    index = read_dataset("samm", samm_tree / "SAMM", annotations_dir / CODING, strict=True)  # root = SAMM/
    by_clip = {c.clip: c for c in index.clips}
    assert by_clip["028_4_1"].apex == 1143 and by_clip["028_4_1"].offset == 1134
    assert by_clip["032_3_1"].apex == 1930 and by_clip["032_3_1"].onset == 4896
    apex_warnings = [w for w in index.warnings if "apex" in w]
    assert len(apex_warnings) == 2
    assert any("028_4_1" in w for w in apex_warnings) and any("032_3_1" in w for w in apex_warnings)


def test_records(samm_tree, annotations_dir):
    index = read_dataset("samm", samm_tree, annotations_dir / CODING)
    first = index.clips[0]  # spreadsheet row 15: 006, 006_1_2, 5562/5588/5632, AU 4+7, Anger
    assert (first.subject, first.clip, first.onset, first.apex, first.offset) == ("006", "006_1_2", 5562, 5588, 5632)
    assert (first.label, first.label_index, first.emotion, first.au, first.fps) == ("anger", 0, "Anger", "4+7", 200)
    for c in index.clips:
        assert [p.name for p in c.frames] == [f"{c.subject}_{n:05d}.jpg" for n in range(c.onset, c.offset + 1)]
        assert c.frames[0].parent == samm_tree / "SAMM" / c.subject / c.clip


def test_coding_file_found_in_root(samm_tree, annotations_dir, tmp_path):
    shutil.copytree(samm_tree / "SAMM" / "006", tmp_path / "SAMM" / "006")
    with pytest.raises(DatasetError, match="no SAMM coding file"):
        read_dataset("samm", tmp_path)
    shutil.copy(annotations_dir / CODING, tmp_path)
    index = read_dataset("samm", tmp_path)
    n006 = sum(r["subject"] == "006" and r["emotion"].lower() in SAMM_CLASSES for r in samm_rows(annotations_dir / CODING))
    assert len(index.clips) == n006 > 0 and len(index.skipped) == 136 - n006


def _small_case(case, tmp_path, annotations_dir):
    """A coding file keeping the real 13 note rows and header, with 5 real rows and one problem."""
    header = [h for h in sheet_rows(annotations_dir / CODING, 14)[0] if h != "_row"]
    rows = [r for r in sheet_rows(annotations_dir / CODING, 14) if r["Estimated Emotion"] in ("Anger", "Happiness")][:5]
    table = [[r[h] for h in header] for r in rows]
    fabricate_samm(tmp_path, samm_rows_from(rows))
    bad = rows[1]
    col = header.index
    if case == "missing_frame":
        (tmp_path / "SAMM" / bad["Subject"] / bad["Filename"] / f"{bad['Subject']}_{bad['Onset Frame'] + 1:05d}.jpg").unlink()
    elif case == "unknown_label":
        table[1][col("Estimated Emotion")] = "Boredom"
    elif case == "onset_after_offset":
        table[1][col("Onset Frame")] = bad["Offset Frame"] + 1
    elif case == "duplicate":
        table.append(list(table[1]))
    coding = write_xlsx(tmp_path / "samm.xlsx", header, table, notes=13)
    return coding, bad["Filename"], (15 + len(rows) if case == "duplicate" else 16)


def samm_rows_from(rows):
    return [dict(subject=r["Subject"], clip=r["Filename"], onset=r["Onset Frame"], offset=r["Offset Frame"]) for r in rows]


@pytest.mark.parametrize("case", ["missing_frame", "unknown_label", "onset_after_offset", "duplicate"])
@pytest.mark.parametrize("strict", [False, True])
def test_problems(case, strict, tmp_path, annotations_dir):
    coding, clip, row = _small_case(case, tmp_path, annotations_dir)
    if strict:
        with pytest.raises(DatasetError, match=f"row {row}: clip {clip}"):
            read_dataset("samm", tmp_path, coding, strict=True)
        return
    index = read_dataset("samm", tmp_path, coding)
    assert [(p.clip, p.row) for p in index.skipped] == [(clip, row)]
    assert len(index.clips) == 5 - (case != "duplicate")
