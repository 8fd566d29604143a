"""MEGC2019 composite reader on a fake casme2/ + samm/ + smic/ tree built from the real tables."""

import shutil

import pytest
from fabricate import (
    CASME2_2014, SAMM_CODING, casme2_rows, fabricate_casme2, fabricate_samm, fabricate_smic, megc_rows, samm_rows,
    shared_tree, smic_rows, unpad_smic,
)

from preprocess.readers import read_dataset
from preprocess.records import DatasetError

CLASSES = ("negative", "positive", "surprise")


@pytest.fixture(scope="module")
def megc_tree(tmp_path_factory, annotations_dir):
    return shared_tree(tmp_path_factory, "megc2019", annotations_dir)


def test_counts(megc_tree):
    index = read_dataset("megc2019", megc_tree)
    assert len(index.clips) == 442
    assert len(index.subjects) == 68
    assert index.classes == CLASSES
    # casme2 88/32/25 + smic 70/51/43 + samm 92/26/15
    assert index.class_counts() == {"negative": 88 + 70 + 92, "positive": 32 + 51 + 26, "surprise": 25 + 43 + 15}
    assert index.skipped == []
    per_dataset = {d: sum(c.subject.startswith(d + "/") for c in index.clips) for d in ("casme2", "smic", "samm")}
    assert per_dataset == {"casme2": 145, "smic": 164, "samm": 133}
    assert len({s for s in index.subjects if s.startswith("samm/")}) == 28


def test_records_follow_the_list(megc_tree, annotations_dir):
    index = read_dataset("megc2019", megc_tree, megc_tree / "combined_3class_gt.csv")
    listed = megc_rows(annotations_dir / "combined_3class_gt.csv")
    assert len(listed) == len(index.clips)
    for (dataset, subject, clip, label), c in zip(listed, index.clips):
        assert c.label_index == label and c.label == CLASSES[label]
        if dataset == "smic":  # zero-padded in the list, not on disk
            assert c.subject == f"smic/s{int(subject[1:])}" and c.clip == unpad_smic(clip) and c.fps == 100
            assert c.frames[0].parent == megc_tree / "smic" / "SMIC_all_cropped" / "HS" / c.subject[5:] / "micro" / c.emotion / c.clip
            assert c.apex == -1
        elif dataset == "samm":
            assert c.subject == f"samm/{int(subject):03d}" and c.clip == clip and c.fps == 200
        else:
            assert c.subject == f"casme2/{subject}" and c.clip == clip and c.fps == 200
    s01 = next(c for c in index.clips if c.clip == "s1_ne_01")
    assert (s01.subject, s01.onset, s01.offset) == ("smic/s1", 559740, 559775)  # HS_cropped.csv row 2


def _small(tmp_path, annotations_dir, lines):
    """casme2 sub01/EP02_01f, samm 006_1_2 and smic s1_ne_01 with their coding files, and a list of ``lines``."""
    fabricate_casme2(tmp_path / "casme2", [r for r in casme2_rows(annotations_dir / CASME2_2014) if r["clip"] == "EP02_01f"])
    fabricate_samm(tmp_path / "samm", [r for r in samm_rows(annotations_dir / SAMM_CODING) if r["clip"] == "006_1_2"])
    fabricate_smic(tmp_path / "smic", [r for r in smic_rows(annotations_dir / "HS_cropped.csv") if r["clip"] == "s1_ne_01"])
    shutil.copy(annotations_dir / CASME2_2014, tmp_path / "casme2")
    shutil.copy(annotations_dir / SAMM_CODING, tmp_path / "samm")
    gt = tmp_path / "gt.csv"
    gt.write_text("".join(line + "\n" for line in lines))
    return gt


@pytest.mark.parametrize("strict", [False, True])
def test_problems(tmp_path, annotations_dir, strict):
    gt = _small(tmp_path, annotations_dir, [
        "casme2,sub01,EP02_01f,1",
        "smic,s01,s01_ne_01,0",
        "smic,s01,s01_ne_77,0",  # no such folder
        "samm,6,006_1_2,3",  # unknown label
        "casme2,sub01,EP99_99,0",  # not in the coding file
        "casme2,sub01,EP02_01f,1",  # duplicate
        "mmew,1,x,0",  # unknown dataset
    ])
    if strict:
        with pytest.raises(DatasetError, match=f"{gt}, row 3: clip s01_ne_77"):
            read_dataset("megc2019", tmp_path, gt, strict=True)
        return
    index = read_dataset("megc2019", tmp_path, gt)
    assert [c.key for c in index.clips] == ["casme2/sub01/EP02_01f", "smic/s1/s1_ne_01"]
    got = {p.row: (p.clip, p.reason) for p in index.skipped}
    assert sorted(got) == [3, 4, 5, 6, 7]
    assert got[3][0] == "s01_ne_77" and "clip folder" in got[3][1]
    assert "unknown label '3'" in got[4][1]
    assert "no row" in got[5][1]
    assert "duplicate" in got[6][1]
    assert "unknown dataset" in got[7][1]


def test_missing_parts(tmp_path, annotations_dir):
    with pytest.raises(DatasetError, match="MEGC2019 list"):
        read_dataset("megc2019", tmp_path)
    gt = _small(tmp_path, annotations_dir, ["casme2,sub01,EP02_01f,1"])
    (tmp_path / "casme2" / "CASME2-coding-20140508.xlsx").unlink()
    with pytest.raises(DatasetError, match="CASME II coding"):
        read_dataset("megc2019", tmp_path, gt)
    gt.write_text("casme2,sub01,EP02_01f\n")
    with pytest.raises(DatasetError, match="malformed"):
        read_dataset("megc2019", tmp_path, gt)
