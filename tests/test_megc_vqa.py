"""``mpt instruct --format megc-vqa`` on a small synthetic corpus (CASME II layout, a few AU cells rewritten with
the side marks, ``ref(...)`` and ``or`` alternatives of the real tables): the rows against JSON schemas of the
challenge's two layouts, every answer against the coding file read here with openpyxl, subject-disjoint splits,
byte-identical reruns, bad input. The expected AU lists of the real table strings are those of the challenge's
public training file (``me_vqa_samm_casme2_smic.jsonl``), written out by hand."""

import json
import re

import jsonschema
import numpy as np
import openpyxl
import pytest
from typer.testing import CliRunner

from clierrors import one_error_line
from mpt.cli import app

runner = CliRunner()

# the challenge's question set (its exact wording) and answer spelling
QUESTION = (r"^(What is the coarse expression class\?|What is the fine-grained expression class\?|"
            r"What is the action unit\?|What are the action units\?|"
            r"Is the action unit [a-z ]+ shown on the face\?|Is the action unit [a-z ]+ located on the left or right face\?|"
            r"What is the action unit present, and based on it, what is the fine-grained expression and the coarse "
            r"expression class\?|What are the action units present, and based on them, what is the fine-grained "
            r"expression and the coarse expression class\?)$")
# lower case, no trailing period, except the combined answer, which the challenge writes as one sentence
ANSWER = (r"^([a-z]+( [a-z]+)*(, [a-z]+( [a-z]+)*)*|The action units? present (is|are): [a-z ,]+\. Therefore, the "
          r"fine-grained expression class is [a-z]+, and the coarse expression class is (negative|positive|surprise)\.)$")
NONEMPTY = {"type": "string", "minLength": 1}
TRAIN_ROW = {
    "type": "object", "additionalProperties": False,
    "required": ["id", "dataset", "image_id", "subject", "filename", "question", "answer"],
    "properties": {"id": {"type": "string", "pattern": r"^casme2_sub\d\d_EP[0-9_]+f?_[1-9]\d*$"},
                   "dataset": {"const": "casme2"}, "image_id": NONEMPTY, "subject": {"type": "string", "pattern": r"^sub\d\d$"},
                   "filename": NONEMPTY, "question": {"type": "string", "pattern": QUESTION},
                   "answer": {"type": "string", "pattern": ANSWER}},
}
TEST_ROW = {
    "type": "object", "additionalProperties": False, "required": ["video_id", "video", "question", "answer"],
    "properties": {"video_id": {"type": "string", "pattern": r"^casme2_test_sub\d\d_EP[0-9_]+f?_[1-9]\d*$"},
                   "video": NONEMPTY, "question": {"type": "string", "pattern": QUESTION},
                   "answer": {"type": "string", "pattern": ANSWER}},
}
# by hand, from the FACS manual and the challenge's spellings; only the AUs this corpus uses
NAMES = {1: "inner brow raiser", 2: "outer brow raiser", 4: "brow lowerer", 5: "upper lid raiser", 6: "cheek raiser",
         7: "lid tightener", 9: "nose wrinkler", 10: "upper lip raiser", 12: "lip corner puller", 14: "dimpler",
         15: "lip corner depressor", 17: "chin raiser", 24: "lip pressor", 45: "blink"}
COARSE = {"happiness": "positive", "surprise": "surprise", "disgust": "negative", "repression": "negative"}
COMBINED_MANY = ("What are the action units present, and based on them, what is the fine-grained expression and the "
                 "coarse expression class?")
REWRITTEN = {"disgust": "4+L10", "happiness": "(R6 or R12)+15", "surprise": "1+2+ref(5)"}


def instruct(*args):
    return runner.invoke(app, ["instruct", *map(str, args)])


def read_jsonl(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """The synthetic corpus with one AU cell per class rewritten; returns (root, truth by (subject, clip))."""
    from preprocess.synth import generate_synthetic

    root = tmp_path_factory.mktemp("megc-vqa-synth")
    coding = generate_synthetic(root, subjects=4, clips_per_subject=5, seed=0, jobs=1, progress=False)
    wb = openpyxl.load_workbook(coding)
    ws = wb.worksheets[0]
    header = [c.value for c in ws[1]]
    s, c, a, e = (header.index(k) for k in ("Subject", "Filename", "Action Units", "Estimated Emotion"))
    todo = dict(REWRITTEN)
    for row in ws.iter_rows(min_row=2):
        if row[e].value in todo:
            row[a].value = todo.pop(row[e].value)
    assert not todo, f"the corpus lacks {todo}"
    wb.save(coding)
    truth = {(f"sub{int(r[s].value):02d}", str(r[c].value)): (str(r[a].value), r[e].value) for r in ws.iter_rows(min_row=2)}
    return root, truth


@pytest.fixture(scope="module")
def built(corpus, tmp_path_factory):
    root, _ = corpus
    out = tmp_path_factory.mktemp("megc-vqa-out") / "out"
    result = instruct("casme2", "--root", root, "--out", out, "--format", "megc-vqa", "--folds", "--seed", "3")
    assert result.exit_code == 0, result.output
    return out, result


def test_rows_follow_the_challenge_layouts(built):
    out, result = built
    rows = read_jsonl(out / "me_vqa_casme2.jsonl")
    for r in rows:
        jsonschema.validate(r, TRAIN_ROW)
    tests = sorted((out / "splits").glob("*/me_vqa_casme2_test.jsonl"))
    assert tests
    for f in tests:
        for r in read_jsonl(f):
            jsonschema.validate(r, TEST_ROW)
    assert len({r["id"] for r in rows}) == len(rows)
    for image_id in {r["image_id"] for r in rows}:  # ids number each clip's questions 1, 2, ... in order
        mine = [r for r in rows if r["image_id"] == image_id]
        assert [r["id"] for r in mine] == [f"casme2_{image_id}_{n}" for n in range(1, len(mine) + 1)]
        assert image_id == f"{mine[0]['subject']}_{mine[0]['filename']}"
    summary = json.loads((out / "megc_vqa.json").read_text())
    assert summary["rows"] == len(rows) and summary["sources"] == ["casme2"]
    assert str(out) == result.stdout.strip().splitlines()[-1]


def test_every_answer_is_the_annotation(built, corpus):
    out, _ = built
    _, truth = corpus
    rows = read_jsonl(out / "me_vqa_casme2.jsonl")
    kept = {k: v for k, v in truth.items() if v[1] != "others"}  # no coarse class: not in the challenge's set
    assert {(r["subject"], r["filename"]) for r in rows} == set(kept)
    for (subject, clip), (aus, emotion) in kept.items():
        qa = [(r["question"], r["answer"]) for r in rows if (r["subject"], r["filename"]) == (subject, clip)]
        numbers = list(dict.fromkeys(int(n) for n in re.findall(r"\d+", aus)))  # every AU named, in order
        names = ", ".join(NAMES[n] for n in numbers)
        one = len(numbers) == 1
        assert qa[0] == ("What is the coarse expression class?", COARSE[emotion])
        assert qa[1] == ("What is the fine-grained expression class?", emotion)
        assert qa[2] == ("What is the action unit?" if one else "What are the action units?", names)
        sided = re.search(r"(?<![A-Za-z])([LR])(\d+)", aus)
        rest = qa[3:-1]
        if sided:
            side = "left" if sided.group(1) == "L" else "right"
            assert rest[0] == (f"Is the action unit {NAMES[int(sided.group(2))]} located on the left or right face?", side)
            rest = rest[1:]
        yes = re.fullmatch(r"Is the action unit (.+) shown on the face\?", rest[0][0]).group(1)
        no = re.fullmatch(r"Is the action unit (.+) shown on the face\?", rest[1][0]).group(1)
        assert (rest[0][1], rest[1][1]) == ("yes", "no") and len(rest) == 2
        assert yes in [NAMES[n] for n in numbers] and no not in [NAMES[n] for n in numbers]
        head = "The action unit present is" if one else "The action units present are"
        assert qa[-1][1] == (f"{head}: {names}. Therefore, the fine-grained expression class is {emotion}, and the "
                             f"coarse expression class is {COARSE[emotion]}.")
    by_answer = {r["answer"] for r in rows if r["question"].startswith("What are the action units?")}
    # the rewritten cells, as the challenge's file lists such strings
    assert {"brow lowerer, upper lip raiser", "cheek raiser, lip corner puller, lip corner depressor",
            "inner brow raiser, outer brow raiser, upper lid raiser"} <= by_answer


def test_splits_are_subject_disjoint_and_cover_every_row(built):
    out, _ = built
    rows = read_jsonl(out / "me_vqa_casme2.jsonl")
    folds = sorted((out / "splits").iterdir())
    assert [f.name for f in folds] == [f"loso-sub0{i}" for i in range(1, 5)]
    for fold in folds:
        train = read_jsonl(fold / "me_vqa_casme2.jsonl")
        test = read_jsonl(fold / "me_vqa_casme2_test.jsonl")
        blank = read_jsonl(fold / "me_vqa_casme2_test_to_answer.jsonl")
        held = fold.name.removeprefix("loso-")
        assert {r["subject"] for r in train} == {r["subject"] for r in rows} - {held}
        assert {t["video"] for t in test} == {r["image_id"] for r in rows if r["subject"] == held}
        assert not {t["video"] for t in test} & {r["image_id"] for r in train}
        assert len(train) + len(test) == len(rows)
        assert [(t["video_id"], t["question"]) for t in test] == [(b["video_id"], b["question"]) for b in blank]
        assert all(b["answer"] == "" for b in blank) and all(t["answer"] for t in test)
        assert {(t["video"], t["question"], t["answer"]) for t in test} == \
            {(r["image_id"], r["question"], r["answer"]) for r in rows if r["subject"] == held}


def test_same_seed_same_bytes(built, corpus, tmp_path):
    out, _ = built
    root, _ = corpus
    again = tmp_path / "again"
    assert instruct("casme2", "--root", root, "--out", again, "--format", "megc-vqa", "--folds", "--seed", "3").exit_code == 0
    for f in sorted(out.rglob("*.jsonl")):
        assert (again / f.relative_to(out)).read_bytes() == f.read_bytes(), f
    # a rerun in place with a holdout replaces the folds' files: none of them is left looking current
    assert instruct("casme2", "--root", root, "--out", again, "--format", "megc-vqa", "--holdout", "sub02").exit_code == 0
    assert sorted(p.name for p in (again / "splits").iterdir()) == ["holdout"]


def test_bad_input_is_one_error_line(corpus, tmp_path):
    root, _ = corpus
    line = one_error_line(instruct("casme2", "--root", root, "--out", tmp_path / "a", "--format", "megc-vqa",
                                   "--classes", "happiness,others"))
    assert "others" in line and "coarse" in line
    motion = tmp_path / "motion"
    motion.mkdir()
    (motion / "instruct.json").write_text("{}")
    assert "instruct.json" in one_error_line(instruct("casme2", "--root", root, "--out", motion, "--format", "megc-vqa"))
    assert "--format" in one_error_line(instruct("casme2", "--root", root, "--out", tmp_path / "b", "--format", "vqa"))


# the pieces, on the real tables' strings


@pytest.mark.parametrize("au, listed, side", [
    # (SAMM or CASME II AU cell, the challenge's AU answer for it, its left/right question's AU and answer)
    ("(R6 or R12)+R15", "cheek raiser, lip corner puller, lip corner depressor", ("cheek raiser", "right")),
    ("ref(7B)+43", "lid tightener, eye closure", None),
    ("1A+2B+L14C", "inner brow raiser, outer brow raiser, dimpler", ("dimpler", "left")),
    ("A/L12", "lip corner puller", ("lip corner puller", "left")),
    ("R14+17+soft focus", "dimpler, chin raiser", ("dimpler", "right")),
    ("L12 + 61", "lip corner puller, eyes left", ("lip corner puller", "left")),
    ("10A/B", "upper lip raiser", None),
    ("7B+56", "lid tightener, tilt right", None),
])
def test_au_strings_read_as_the_challenge_lists_them(au, listed, side):
    from mpt.instruct.megc_vqa import clip_questions

    qa = clip_questions(coarse="negative", fine="anger", au_text=au, pool=[1, 2, 4, 7], rng=np.random.default_rng(0))
    assert qa[2][1] == listed
    sides = [(re.fullmatch(r"Is the action unit (.+) located on the left or right face\?", q).group(1), a)
             for q, a in qa if "left or right" in q]
    assert sides == ([side] if side else [])


def test_names_and_coarse_only_sources():
    from mpt.instruct.megc_vqa import clip_questions, has_fine, official_names

    # as the challenge's file names them (its rows for SAMM 006_1_2, SMIC s1_ne_01, CASME II sub01/EP02_01f)
    assert official_names("samm", "006", "006_1_2") == ("6", "006_1_2", "006_1_2")
    assert official_names("smic", "s1", "s1_ne_01") == ("s01", "s01_ne_01", "s01_ne_01")
    assert official_names("casme2", "sub01", "EP02_01f") == ("sub01", "EP02_01f", "sub01_EP02_01f")
    assert not has_fine(["negative", "positive", "surprise"]) and has_fine(["anger", "surprise"])
    assert has_fine(["surprise"])  # a surprise-only selection is not SMIC
    assert clip_questions(coarse="surprise", fine=None, au_text="", pool=[], rng=None) == \
        [("What is the coarse expression class?", "surprise")]
    # AUs but no fine class: the AU questions, no combined answer (it states a fine class)
    qa = clip_questions(coarse="surprise", fine=None, au_text="R1+2", pool=[4], rng=np.random.default_rng(0))
    assert qa == [("What is the coarse expression class?", "surprise"),
                  ("What are the action units?", "inner brow raiser, outer brow raiser"),
                  ("Is the action unit inner brow raiser located on the left or right face?", "right"),
                  (qa[3][0], "yes"), ("Is the action unit brow lowerer shown on the face?", "no")]
    assert qa[3][0] in ("Is the action unit inner brow raiser shown on the face?",
                        "Is the action unit outer brow raiser shown on the face?")


def test_megc2019_writes_the_challenge_file(tmp_path_factory, annotations_dir, tmp_path):
    """The composite read from a fake tree of the real tables: the challenge's file name, sources, names, and
    the rows of two SAMM clips and one SMIC clip as the challenge's public file holds them."""
    from fabricate import shared_tree

    tree = shared_tree(tmp_path_factory, "megc2019", annotations_dir)
    out = tmp_path / "out"
    result = instruct("megc2019", "--root", tree, "--out", out, "--format", "megc-vqa")
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == ["me_vqa_samm_casme2_smic.jsonl", "megc_vqa.json"]
    rows = read_jsonl(out / "me_vqa_samm_casme2_smic.jsonl")
    by_id = {r["id"]: r for r in rows}
    assert len(by_id) == len(rows)
    assert {r["dataset"] for r in rows} == {"samm", "casme2", "smic"}
    assert len({(r["dataset"], r["image_id"]) for r in rows}) == 133 + 145 + 164
    # SMIC: the coarse question only, names zero-padded
    assert by_id["smic_s01_ne_01_1"] == {"id": "smic_s01_ne_01_1", "dataset": "smic", "image_id": "s01_ne_01",
                                         "subject": "s01", "filename": "s01_ne_01",
                                         "question": "What is the coarse expression class?", "answer": "negative"}
    assert "smic_s01_ne_01_2" not in by_id
    # SAMM 006_1_2 ("4+7", Anger) and 006_5_10 ("L20+21", Fear), as the challenge's rows 1-6 and 3-7 say
    qa = [(by_id[f"samm_006_1_2_{n}"]["question"], by_id[f"samm_006_1_2_{n}"]["answer"]) for n in (1, 2, 3, 6)]
    assert qa == [("What is the coarse expression class?", "negative"), ("What is the fine-grained expression class?",
                  "anger"), ("What are the action units?", "brow lowerer, lid tightener"),
                  (COMBINED_MANY, "The action units present are: brow lowerer, lid tightener. Therefore, the "
                   "fine-grained expression class is anger, and the coarse expression class is negative.")]
    assert by_id["samm_006_1_2_1"]["subject"] == "6" and by_id["samm_006_1_2_1"]["image_id"] == "006_1_2"
    assert (by_id["samm_006_5_10_4"]["question"], by_id["samm_006_5_10_4"]["answer"]) == \
        ("Is the action unit lip stretcher located on the left or right face?", "left")
    assert by_id["samm_006_5_10_3"]["answer"] == "lip stretcher, neck tightener" and "samm_006_5_10_8" not in by_id
