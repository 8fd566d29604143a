"""SMIC-HS reader on fake trees built from the real HS_cropped.csv."""

import shutil

import pytest
from fabricate import fabricate_smic, shared_tree, smic_rows, write_frames

from preprocess.readers import read_dataset
from preprocess.records import DatasetError

CSV = "HS_cropped.csv"
COUNTS = {"negative": 70, "positive": 51, "surprise": 43}


@pytest.fixture(scope="module")
def smic_tree(tmp_path_factory, annotations_dir):
    return shared_tree(tmp_path_factory, "smic", annotations_dir)


@pytest.mark.parametrize("with_csv", [False, True])
def test_counts(smic_tree, annotations_dir, with_csv):
    index = read_dataset("smic", smic_tree, annotations_dir / CSV if with_csv else None)
    assert len(index.clips) == 164
    assert len(index.subjects) == 16
    assert index.classes == ("negative", "positive", "surprise")
    assert index.class_counts() == COUNTS
    assert index.skipped == [] and index.warnings == []


def test_records_match_csv(smic_tree, annotations_dir):
    index = read_dataset("smic", smic_tree / "SMIC_all_cropped" / "HS")  # root = HS/ itself, folders only
    by_clip = {c.clip: c for c in index.clips}
    for r in smic_rows(annotations_dir / CSV):
        c = by_clip[r["clip"]]
        assert (c.subject, c.onset, c.offset, c.apex, c.label, c.fps) == (r["subject"], r["onset"], r["offset"], -1, r["emotion"], 100)
        assert c.label_index == ("negative", "positive", "surprise").index(r["emotion"])
        assert [p.name for p in c.frames] == [f"reg_image{n:06d}.bmp" for n in range(r["onset"], r["offset"] + 1)]


def test_raw_layout_numeric_order(tmp_path):
    """Raw HS/.../image*.bmp with unpadded numbers: order is numeric (998 < 1002), not lexicographic."""
    write_frames(tmp_path / "HS" / "s3" / "micro" / "positive" / "s3_po_01", range(995, 1006), "image{}.bmp")
    (tmp_path / "HS" / "s3" / "micro" / "positive" / "s3_po_01" / "notes.txt").write_text("not a frame")
    index = read_dataset("smic", tmp_path)
    (c,) = index.clips
    assert [p.name for p in c.frames] == [f"image{n}.bmp" for n in range(995, 1006)]
    assert (c.subject, c.clip, c.onset, c.offset, c.label) == ("s3", "s3_po_01", 995, 1005, "positive")


def _tree(tmp_path):
    rows = [dict(subject="s1", clip=f"s1_ne_0{i}", onset=100 * i, offset=100 * i + 9, emotion="negative") for i in (1, 2)]
    rows.append(dict(subject="s2", clip="s2_sur_01", onset=500, offset=520, emotion="surprise"))
    fabricate_smic(tmp_path, rows)
    csv = tmp_path / "HS_cropped.csv"
    csv.write_text("Subject,Filename,OnsetFrame,OffsetFrame,Estimated Emotion\n"
                   + "".join(f"{r['subject'][1:]},{r['clip']},{r['onset']},{r['offset']},{r['emotion']}\n" for r in rows))
    return tmp_path / "SMIC_all_cropped" / "HS", csv


@pytest.mark.parametrize("strict", [False, True])
def test_folder_problems(tmp_path, strict):
    hs, _ = _tree(tmp_path)
    (hs / "s1" / "micro" / "negative" / "s1_ne_02" / "reg_image000205.bmp").unlink()  # a gap
    write_frames(hs / "s2" / "micro" / "fear" / "s2_fe_01", range(10, 20), "reg_image{:06d}.bmp")  # unknown label
    (hs / "s2" / "micro" / "positive" / "s2_po_01").mkdir(parents=True)  # no frames
    if strict:
        with pytest.raises(DatasetError, match="s1_ne_02|s2_fe_01|s2_po_01"):
            read_dataset("smic", tmp_path, strict=True)
        return
    index = read_dataset("smic", tmp_path)
    assert sorted(c.clip for c in index.clips) == ["s1_ne_01", "s2_sur_01"]
    reasons = {p.clip: p.reason for p in index.skipped}
    assert set(reasons) == {"s1_ne_02", "s2_fe_01", "s2_po_01"}
    assert "missing frame(s) 205" in reasons["s1_ne_02"]
    assert "unknown label 'fear'" in reasons["s2_fe_01"]
    assert "no frames" in reasons["s2_po_01"]


@pytest.mark.parametrize("strict", [False, True])
def test_csv_cross_check(tmp_path, strict):
    hs, csv = _tree(tmp_path)
    text = csv.read_text().replace("s1_ne_02,200,209,negative", "s1_ne_02,200,209,positive")  # label mismatch
    text = text.replace("500,520", "498,520")  # csv range starts before the folder's first frame
    text += "3,s3_ne_01,1,5,negative\n"  # no folder
    csv.write_text(text)
    shutil.copytree(hs / "s1" / "micro" / "negative" / "s1_ne_01", hs / "s1" / "micro" / "negative" / "s1_ne_09")
    if strict:
        with pytest.raises(DatasetError, match=f"{csv}, row 3: clip s1_ne_02: label mismatch"):
            read_dataset("smic", tmp_path, csv, strict=True)
        return
    index = read_dataset("smic", tmp_path, csv)
    assert [c.clip for c in index.clips] == ["s1_ne_01"]
    got = {(p.clip, p.row): p.reason for p in index.skipped}
    assert set(got) == {("s1_ne_02", 3), ("s2_sur_01", 4), ("s3_ne_01", 5)}
    assert "label mismatch" in got[("s1_ne_02", 3)]
    assert "missing frame(s) 498-499" in got[("s2_sur_01", 4)]
    assert "clip folder not found" in got[("s3_ne_01", 5)]
    assert any("s1_ne_09" in w and "not listed" in w for w in index.warnings)  # folder not in the csv: said


def test_bad_inputs(tmp_path):
    with pytest.raises(DatasetError, match="no SMIC-HS frames"):
        read_dataset("smic", tmp_path)
    hs, csv = _tree(tmp_path)
    csv.write_text("Subject,Filename,Onset,Offset\n1,s1_ne_01,100,109\n")
    with pytest.raises(DatasetError, match="OnsetFrame"):
        read_dataset("smic", tmp_path, csv)
    csv.write_bytes(b"\x00\x01PK\x03\x04\xff\xfe")
    with pytest.raises(DatasetError, match="unreadable"):
        read_dataset("smic", tmp_path, csv)
