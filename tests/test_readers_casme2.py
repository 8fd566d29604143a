"""CASME II reader on fake trees built from the real 2014 / 2019 coding files.

Expected counts are the ones documented for the real files (SOURCES.md / issue 2), not the reader's output.
"""

import shutil

import pytest
from fabricate import CASME2_CLASSES, casme2_rows, fabricate_casme2, shared_tree, write_frames, write_xlsx

from preprocess.readers import read_dataset
from preprocess.records import DatasetError

CODING_2014 = "CASME2-coding-20140508.xlsx"
CODING_2019 = "CASME2-coding-20190701.xlsx"
HEADER_2014 = ["Subject", "Filename", None, "OnsetFrame", "ApexFrame", "OffsetFrame", None, "Action Units",
               "Estimated Emotion"]


@pytest.fixture(scope="module")
def casme2_tree(tmp_path_factory, annotations_dir):
    """Frames onset-1..offset+1 of every clip of the 2019 file (the same clips and frames as 2014)."""
    return shared_tree(tmp_path_factory, "casme2", annotations_dir)


def test_2014_counts(casme2_tree, annotations_dir):
    index = read_dataset("casme2", casme2_tree, annotations_dir / CODING_2014)
    assert len(index.clips) == 246
    assert len(index.subjects) == 26
    assert index.classes == CASME2_CLASSES
    assert index.class_counts() == {"happiness": 32, "surprise": 25, "disgust": 63, "repression": 27, "others": 99}
    assert index.skipped == []
    # the 9 sadness/fear rows are left out by the class selection, visibly
    assert any("sadness 7" in w and "fear 2" in w for w in index.warnings)


def test_2019_counts(casme2_tree, annotations_dir):
    index = read_dataset("casme2", casme2_tree / "Cropped", annotations_dir / CODING_2019)  # root = Cropped/
    assert len(index.clips) == 249
    assert len(index.subjects) == 26
    assert index.class_counts() == {"happiness": 32, "surprise": 28, "disgust": 63, "repression": 27, "others": 99}
    assert index.skipped == []


def test_records(casme2_tree, annotations_dir):
    index = read_dataset("casme2", casme2_tree, annotations_dir / CODING_2014)
    by_key = {c.key: c for c in index.clips}
    rec = by_key["sub04/EP12_01f"]  # apex '/' in the coding file
    assert (rec.onset, rec.apex, rec.offset) == (261, -1, 321)
    assert rec.label == "disgust" and rec.label_index == CASME2_CLASSES.index("disgust")
    assert rec.fps == 200 and rec.dataset == "casme2" and rec.emotion == "disgust"
    first = by_key["sub01/EP02_01f"]  # row 2: Subject '01', onset 46, apex 59, offset 86, AU 12, happiness
    assert (first.subject, first.onset, first.apex, first.offset, first.au) == ("sub01", 46, 59, 86, "12")
    assert first.label_index == 0
    # frames are onset..offset only (the tree has one more frame on each side), in frame-number order
    for c in index.clips:
        assert [p.name for p in c.frames] == [f"reg_img{n}.jpg" for n in range(c.onset, c.offset + 1)]
        assert all(p.parent == casme2_tree / "Cropped" / c.subject / c.clip for p in c.frames)
    assert any(c.onset < 100 <= c.offset for c in index.clips)  # numeric, not lexicographic, order was checked


def test_coding_file_found_in_root_or_parent(casme2_tree, annotations_dir, tmp_path):
    root = tmp_path / "ds"
    shutil.copytree(casme2_tree / "Cropped" / "sub01", root / "Cropped" / "sub01")
    with pytest.raises(DatasetError, match="no CASME II coding file"):
        read_dataset("casme2", root)
    shutil.copy(annotations_dir / CODING_2014, root)
    a = read_dataset("casme2", root)
    b = read_dataset("casme2", root / "Cropped")  # coding file in the parent
    n_sub01 = sum(r["subject"] == "sub01" and r["emotion"] in CASME2_CLASSES
                  for r in casme2_rows(annotations_dir / CODING_2014))
    assert len(a.clips) == len(b.clips) == n_sub01 > 0
    assert len(a.skipped) == 246 - n_sub01  # the other subjects' folders are missing, each one listed
    assert all("clip folder not found" in p.reason for p in a.skipped)
    shutil.copy(annotations_dir / CODING_2019, root)
    with pytest.raises(DatasetError, match="several"):
        read_dataset("casme2", root)


def test_raw_layout_and_reordered_columns(annotations_dir, tmp_path):
    """CASME2_RAW_selected/.../imgN.jpg; columns found by header name, subjects as numbers."""
    rows = [r for r in casme2_rows(annotations_dir / CODING_2014)[:12] if r["emotion"] in CASME2_CLASSES]
    fabricate_casme2(tmp_path, rows, layout="CASME2_RAW_selected")
    header = ["Estimated Emotion", "OffsetFrame", "Filename", "ApexFrame", "Subject", "OnsetFrame", "Action Units"]
    table = [[r["emotion"], r["offset"], r["clip"], r["apex"], int(r["subject"][3:]), r["onset"], "4"] for r in rows]
    coding = write_xlsx(tmp_path / "CASME2-coding-synth.xlsx", header, table)
    for root in (tmp_path, tmp_path / "CASME2_RAW_selected"):
        index = read_dataset("casme2", root, coding)
        assert [c.clip for c in index.clips] == [r["clip"] for r in rows]
        assert index.skipped == []
        assert all(p.name == f"img{c.onset + i}.jpg" for c in index.clips for i, p in enumerate(c.frames))
    # a renamed copy of the raw folder: the layout is told by the frame names
    shutil.copytree(tmp_path / "CASME2_RAW_selected", tmp_path / "renamed")
    index = read_dataset("casme2", tmp_path / "renamed", coding)
    assert len(index.clips) == len(rows) and index.clips[0].frames[0].name.startswith("img")
    # both layouts present: the official crop wins, and the choice is said
    fabricate_casme2(tmp_path, rows)
    index = read_dataset("casme2", tmp_path, coding)
    assert len(index.clips) == len(rows) and index.clips[0].frames[0].name.startswith("reg_img")
    assert any("both Cropped/ and CASME2_RAW_selected/" in w for w in index.warnings)


# problems: each in both modes

def _problem_case(case, tmp_path, annotations_dir):
    """A 6-clip tree and coding file with one problem; returns (root, coding, bad clip, its 1-based row)."""
    rows = [r for r in casme2_rows(annotations_dir / CODING_2014)[:8] if r["emotion"] in CASME2_CLASSES][:6]
    fabricate_casme2(tmp_path, rows)
    table = [[r["subject"][3:], r["clip"], None, r["onset"], r["apex"], r["offset"], None, "4", r["emotion"]]
             for r in rows]
    bad = rows[2]
    if case == "missing_folder":
        shutil.rmtree(tmp_path / "Cropped" / bad["subject"] / bad["clip"])
    elif case == "missing_frame":
        (tmp_path / "Cropped" / bad["subject"] / bad["clip"] / f"reg_img{bad['onset'] + 3}.jpg").unlink()
    elif case == "onset_after_offset":
        table[2][3], table[2][5] = bad["offset"], bad["onset"]
    elif case == "unknown_label":
        table[2][8] = "joy"
    elif case == "duplicate":
        table.append(list(table[2]))
    elif case == "malformed_row":
        table[2][3] = "n/a"
    coding = write_xlsx(tmp_path / "coding.xlsx", HEADER_2014, table)
    row = len(table) + 1 if case == "duplicate" else 4  # header is row 1, rows[2] is row 4
    return tmp_path, coding, bad["clip"], row


CASES = ["missing_folder", "missing_frame", "onset_after_offset", "unknown_label", "duplicate", "malformed_row"]
REASONS = {"missing_folder": "clip folder not found", "missing_frame": "missing frame", "onset_after_offset": "onset",
           "unknown_label": "unknown label 'joy'", "duplicate": "duplicate clip", "malformed_row": "malformed row"}


@pytest.mark.parametrize("case", CASES)
def test_problem_skipped(case, tmp_path, annotations_dir):
    root, coding, clip, row = _problem_case(case, tmp_path, annotations_dir)
    index = read_dataset("casme2", root, coding)
    assert len(index.skipped) == 1
    p = index.skipped[0]
    assert (p.clip, p.row) == (clip, row)
    assert REASONS[case] in p.reason
    assert str(coding) in str(p)
    assert len(index.clips) == 6 - (case != "duplicate")
    assert index.summary()["skipped"] == [{"clip": clip, "reason": str(p)}]


@pytest.mark.parametrize("case", CASES)
def test_problem_strict(case, tmp_path, annotations_dir):
    root, coding, clip, row = _problem_case(case, tmp_path, annotations_dir)
    with pytest.raises(DatasetError) as e:
        read_dataset("casme2", root, coding, strict=True)
    assert clip in str(e.value) and f"row {row}" in str(e.value) and str(coding) in str(e.value)


@pytest.mark.parametrize("strict", [False, True])
def test_bad_annotation_file_is_always_an_error(strict, tmp_path, annotations_dir):
    write_frames(tmp_path / "Cropped" / "sub01" / "EP02_01f", range(46, 87), "reg_img{}.jpg")
    not_xlsx = tmp_path / "coding.xlsx"
    not_xlsx.write_text("Subject,Filename\n1,EP02_01f\n")
    with pytest.raises(DatasetError, match="not an .xlsx"):
        read_dataset("casme2", tmp_path, not_xlsx, strict=strict)
    no_offset = write_xlsx(tmp_path / "c2.xlsx", ["Subject", "Filename", "OnsetFrame", "ApexFrame", "Estimated Emotion"],
                           [[1, "EP02_01f", 46, 59, "happiness"]])
    with pytest.raises(DatasetError, match="OffsetFrame") as e:
        read_dataset("casme2", tmp_path, no_offset, strict=strict)
    assert str(no_offset) in str(e.value)
    with pytest.raises(DatasetError, match="not found"):
        read_dataset("casme2", tmp_path, tmp_path / "absent.xlsx", strict=strict)


def test_no_frames_and_bad_classes(tmp_path, annotations_dir):
    with pytest.raises(DatasetError, match="no CASME II frames"):
        read_dataset("casme2", tmp_path, annotations_dir / CODING_2014)
    write_frames(tmp_path / "Cropped" / "sub01" / "EP02_01f", range(46, 87), "reg_img{}.jpg")
    with pytest.raises(DatasetError, match="bad class selection"):
        read_dataset("casme2", tmp_path, annotations_dir / CODING_2014, classes=["happiness", "joy"])
    index = read_dataset("casme2", tmp_path, annotations_dir / CODING_2014, classes=["surprise", "happiness"])
    assert index.classes == ("surprise", "happiness")
    assert [(c.clip, c.label_index) for c in index.clips] == [("EP02_01f", 1)]
