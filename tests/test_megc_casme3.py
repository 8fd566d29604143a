"""CAS(ME)^3 Part A's recordings as a spotting corpus (``casme3-lv``): the real label table read
alone, a synthetic Part A tree read with its frames, and predictions scored against it: mpt's
metric and the MEGC leaderboard's, micro-expressions only (the table has no macro-expressions)."""

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mpt.cli import app
from preprocess.readers import read_long_videos

runner = CliRunner()
LABEL = "cas(me)3_part_A_ME_label_JpgIndex_v2.xlsx"


def ok(*args) -> str:
    r = runner.invoke(app, [*map(str, args)])
    assert r.exit_code == 0, r.output
    return r.stdout


def test_real_table_as_long_videos(annotations_dir):
    index = read_long_videos("casme3-lv", None, annotations_dir / LABEL)
    # SOURCES.md: 860 rows; six cannot be right (rows 130, 710, 751, 752, 798, 800), three more span 13-24 s
    assert len(index.intervals) + len(index.skipped) == 860
    assert {130, 710, 751, 752, 798, 800} <= {p.row for p in index.skipped} and len(index.skipped) == 9
    assert len(index.subjects) == 94
    assert all(i.type == "micro" and v.fps == 30 for v, i in index.intervals)
    first = index.video("spNO.1", "spNO.1_a")
    assert first is not None and any(i.onset == 355 and i.offset == 360 and i.row == 2 for i in first.intervals)


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    root = tmp_path_factory.mktemp("c3")
    table = Path(ok("synth", root, "--layout", "casme3", "--subjects", "2", "--clips-per-subject", "3", "--seed", "4",
                    "--jobs", "1").strip().splitlines()[-1])
    return root, table


def test_synthetic_tree_and_scores(tree, tmp_path):
    root, table = tree
    index = read_long_videos("casme3-lv", root, table, strict=True)
    rows = [(v.subject, v.video, i.onset, i.offset) for v, i in index.intervals]
    assert len(rows) == 6  # 2 subjects x 3 micro-expressions, each in a recording folder
    for v in index.videos:
        assert v.folder.name == "color" and v.folder.parent.name == v.video.split("_")[-1]
        assert v.numbers[0] == 1 and len(v.frames) == len(list(v.folder.glob("*.jpg")))
    # every micro-expression predicted exactly, plus a macro-expression (no macro ground truth exists)
    pred = tmp_path / "pred.csv"
    s, v, on, off = rows[0]
    pred.write_text("subject,video,onset,offset,type\n" + "".join(f"{a},{b},{c},{d},micro\n" for a, b, c, d in rows)
                    + f"{s},{v},{on},{off},macro\n")
    mine = json.loads(ok("spot", "evaluate", pred, "--dataset", "casme3-lv", "--annotations", table, "--json"))
    assert (mine["micro"]["tp"], mine["micro"]["fp"], mine["micro"]["fn"]) == (6, 0, 0)
    assert (mine["macro"]["tp"], mine["macro"]["fp"]) == (0, 1)  # mpt: a spotted macro-expression is a FP here
    both = json.loads(ok("spot", "evaluate", pred, "--dataset", "casme3-lv", "--annotations", table, "--json",
                         "--megc"))
    assert both["megc"]["micro"]["f1"] == 1.0
    assert (both["megc"]["macro"]["tp"], both["megc"]["macro"]["fp"], both["megc"]["macro"]["fn"]) == (0, 0, 0)
    assert any("videos without ground truth" in r for r in both["reasons"])


def test_str_file_scored_against_casme3(tree, tmp_path):
    """`mpt str --score FILE --dataset casme3-lv`: CAS(ME)^3's emotions through the 3class map as STR truth."""
    root, table = tree
    index = read_long_videos("casme3-lv", None, table)
    three = {"anger": "negative", "disgust": "negative", "fear": "negative", "sad": "negative", "happy": "positive",
             "surprise": "surprise"}
    rows = [(v.subject, v.video, i.onset, i.offset, three.get(i.emotion, "negative")) for v, i in index.intervals]
    pred = tmp_path / "str_pred.csv"
    pred.write_text("subject,video,onset,offset,emotion\n" + "".join(",".join(map(str, r)) + "\n" for r in rows))
    out = json.loads(ok("str", "--score", pred, "--dataset", "casme3-lv", "--annotations", table, "--json"))
    analysed = [r for (_, i), r in zip(index.intervals, rows) if i.emotion in three]
    assert out["mpt"]["spotting"]["f1"] == 1.0 and out["megc"]["spotting"]["f1"] == 1.0
    assert out["mpt"]["analysis"]["analysed"] == len(analysed)  # 'others' is outside the three classes
    assert out["mpt"]["strs"] == 1.0  # every analysed class right
