"""``mpt instruct`` end to end on a small synthetic corpus (CASME II layout; its AU strings are the truth):
both formats against a JSON schema, every image path, every answer read for AUs stated as present that
are not annotated, the confirmed share, byte-identical reruns, splits by subject, resuming, bad input."""

import json
import re
import shutil

import jsonschema
import openpyxl
import pytest
from typer.testing import CliRunner

from clierrors import one_error_line
from mpt.cli import app

runner = CliRunner()
SUBJECTS, CLIPS = 6, 6
CLASSES = ["happiness", "surprise", "disgust", "repression", "others"]
ROLE_SCHEMA = {"type": "string", "minLength": 1}
LLAVA_SCHEMA = {
    "type": "array", "minItems": 1,
    "items": {
        "type": "object",
        "required": ["id", "image", "conversations", "dataset", "subject", "clip", "template"],
        "properties": {
            "id": ROLE_SCHEMA, "subject": ROLE_SCHEMA, "clip": ROLE_SCHEMA, "dataset": ROLE_SCHEMA,
            "template": {"enum": ["describe", "class", "emotion", "au_present", "au_absent", "region", "side"]},
            "image": {"type": "array", "minItems": 3, "maxItems": 3,
                      "items": {"type": "string", "pattern": r"^images/[^/]+/[^/]+/(onset|apex|flow)\.png$"}},
            "conversations": {
                "type": "array", "minItems": 2, "maxItems": 2,
                "prefixItems": [
                    {"type": "object", "required": ["from", "value"], "additionalProperties": False,
                     "properties": {"from": {"const": "human"}, "value": {"type": "string", "pattern": "^<image>\n<image>\n<image>\n"}}},
                    {"type": "object", "required": ["from", "value"], "additionalProperties": False,
                     "properties": {"from": {"const": "gpt"}, "value": ROLE_SCHEMA}},
                ],
            },
        },
        "additionalProperties": False,
    },
}
MESSAGES_SCHEMA = {
    "type": "object",
    "required": ["messages", "images", "subject", "clip"],
    "properties": {
        "messages": {
            "type": "array", "minItems": 3, "maxItems": 3,
            "prefixItems": [
                {"type": "object", "required": ["role", "content"], "additionalProperties": False,
                 "properties": {"role": {"const": "system"}, "content": ROLE_SCHEMA}},
                {"type": "object", "required": ["role", "content"], "additionalProperties": False,
                 "properties": {"role": {"const": "user"}, "content": {"type": "string", "pattern": "^<image>\n<image>\n<image>\n"}}},
                {"type": "object", "required": ["role", "content"], "additionalProperties": False,
                 "properties": {"role": {"const": "assistant"}, "content": ROLE_SCHEMA}},
            ],
        },
        "images": {"type": "array", "minItems": 3, "maxItems": 3, "items": {"type": "string", "pattern": r"^images/"}},
        "subject": ROLE_SCHEMA, "clip": ROLE_SCHEMA,
    },
}


def instruct(*args):
    return runner.invoke(app, ["instruct", *map(str, args)])


def coding_truth(coding) -> dict:
    """(subject folder, clip) -> set of AU numbers, read from the coding file with openpyxl."""
    ws = openpyxl.load_workbook(coding, read_only=True).worksheets[0]
    rows = list(ws.iter_rows(values_only=True))
    header = list(rows[0])
    s, c, a = header.index("Subject"), header.index("Filename"), header.index("Action Units")
    return {(f"sub{int(r[s]):02d}", str(r[c])): {int(n) for n in re.findall(r"\d+", str(r[a]))} for r in rows[1:]}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    from preprocess.synth import generate_synthetic

    root = tmp_path_factory.mktemp("instruct-synth")
    # the easy preset: these tests check the grounding on motion the rules can read; the figures on the
    # calibrated world (preset real) are bench/describe_eval.py's (docs/guide/realism.md)
    coding = generate_synthetic(root, subjects=SUBJECTS, clips_per_subject=CLIPS, seed=0, jobs=1, progress=False,
                                preset="easy")
    return root, coding_truth(coding)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """2 subjects x 2 clips, for the bad-input cases."""
    from preprocess.synth import generate_synthetic

    root = tmp_path_factory.mktemp("instruct-tiny")
    generate_synthetic(root, subjects=2, clips_per_subject=2, seed=1, jobs=1, progress=False)
    return root


@pytest.fixture(scope="module")
def built(corpus, tmp_path_factory):
    root, _ = corpus
    out = tmp_path_factory.mktemp("instruct-out") / "out"
    result = instruct("casme2", "--root", root, "--out", out, "--jobs", "2", "--folds", "--seed", "3")
    assert result.exit_code == 0, result.output
    return out, result


def records(out):
    return json.loads((out / "llava.json").read_text()), \
        [json.loads(line) for line in (out / "messages.jsonl").read_text().splitlines()]


# formats


def test_both_formats_validate_and_every_image_exists(built, corpus):
    out, result = built
    llava, messages = records(out)
    jsonschema.validate(llava, LLAVA_SCHEMA)
    for m in messages:
        jsonschema.validate(m, MESSAGES_SCHEMA)
    assert len(llava) == len(messages) == len({r["id"] for r in llava}) == len({m["id"] for m in messages})
    clips = {(r["subject"], r["clip"]) for r in llava}
    assert clips == set(corpus[1])  # every clip of the corpus, each with its subject and clip
    paths = {p for r in llava for p in r["image"]} | {p for m in messages for p in m["images"]}
    split_files = list((out / "splits").rglob("*.json")) + list((out / "splits").rglob("*.jsonl"))
    for f in split_files:
        text = f.read_text()
        rows = json.loads(text) if f.suffix == ".json" else [json.loads(x) for x in text.splitlines()]
        paths |= {p for r in rows for p in r.get("image", r.get("images", []))}
    assert len(paths) == 3 * len(clips)
    for p in paths:
        assert (out / p).is_file() and (out / p).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", p
    assert (out / "images" / "flow_legend.png").is_file() and "Hue" in (out / "images" / "flow_legend.txt").read_text()
    assert str(out) == result.stdout.strip().splitlines()[-1]


def test_the_schema_check_can_fail():
    bad = [{"id": "x", "image": ["/etc/passwd", "a", "b"], "conversations": [], "dataset": "d", "subject": "s",
            "clip": "c", "template": "class"}]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, LLAVA_SCHEMA)


def test_region_motion_json(built, corpus):
    out, _ = built
    clip = json.loads(next((out / "motion").rglob("*.json")).read_text())
    assert {"subject", "clip", "label", "emotion", "aus", "images", "motion"} <= set(clip)
    assert clip["label"] in CLASSES
    regions = clip["motion"]["regions"]
    assert len(regions) >= 10 and set(regions[0]) == {"name", "dx", "dy", "magnitude", "direction"}


# the dual constraint


def test_no_answer_states_an_unannotated_au_as_present(built, corpus):
    out, _ = built
    truth = corpus[1]
    llava, messages = records(out)
    read = 0
    for r in llava:
        annotated = truth[r["subject"], r["clip"]]
        answer = r["conversations"][1]["value"]
        for sentence in re.split(r"(?<=[.!?])\s+", answer):
            unannotated = {int(n) for n in re.findall(r"\bAU(\d+)", sentence)} - annotated
            assert not unannotated or "not annotated" in sentence, (r["id"], sentence)
        if r["template"] in ("au_present", "au_absent"):
            asked = int(re.search(r"AU(\d+)", r["conversations"][0]["value"]).group(1))
            assert answer.startswith("Yes") == (asked in annotated), (r["id"], answer)
        read += 1
    assert read == len(llava) > 0
    assert [m["messages"][2]["content"] for m in messages] == [r["conversations"][1]["value"] for r in llava]


def test_most_annotated_families_are_confirmed(built, corpus):
    from mpt_core.describe import au_families

    out, _ = built
    stats = json.loads((out / "stats.json").read_text())
    # the denominator is the coding file's, counted here independently
    assert stats["annotated_families"] == sum(len(au_families(list(map(str, aus)))) for aus in corpus[1].values())
    assert stats["confirmed_fraction"] >= 0.85, stats["families"]
    assert set(stats) >= {"families", "confirmed_fraction", "samples", "templates", "per_class", "splits"}
    assert "| AU12 |" in (out / "stats.md").read_text()


def test_absent_aus_are_asked_as_often_as_present_ones(built, corpus):
    out, _ = built
    llava, _ = records(out)
    for clip, annotated in corpus[1].items():
        own = [r for r in llava if (r["subject"], r["clip"]) == clip]
        present = [r for r in own if r["template"] == "au_present"]
        absent = [r for r in own if r["template"] == "au_absent"]
        assert len(present) == len(absent) == len(annotated), clip
        for r in own:
            if r["template"] == "class":
                assert r["conversations"][1]["value"].rstrip(".") in CLASSES


# determinism


def test_same_seed_same_bytes_serial_or_parallel(built, corpus, tmp_path):
    out, _ = built
    again = tmp_path / "again"
    result = instruct("casme2", "--root", corpus[0], "--out", again, "--jobs", "1", "--folds", "--seed", "3",
                      "--no-progress")
    assert result.exit_code == 0, result.output
    files = sorted(p.relative_to(out) for p in out.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(again) for p in again.rglob("*") if p.is_file())
    for f in files:
        assert (out / f).read_bytes() == (again / f).read_bytes(), f
    other = instruct("casme2", "--root", corpus[0], "--out", again, "--seed", "4", "--no-progress")
    assert other.exit_code == 0, other.output
    assert "0 measured, 36 reused" in other.stderr  # a new seed reuses every measurement
    assert (again / "llava.json").read_bytes() != (out / "llava.json").read_bytes()
    assert not (again / "splits").exists()  # no split asked this time: the old ones are gone


# splits


def test_every_split_pair_is_disjoint_by_subject(built, corpus, tmp_path):
    out, _ = built
    subjects = {s for s, _ in corpus[1]}
    folds = sorted((out / "splits").iterdir())
    assert len(folds) == len(subjects)
    held_out = set()
    for fold in folds:
        for ext, load in ((".json", json.loads), (".jsonl", lambda t: [json.loads(x) for x in t.splitlines()])):
            train = load((fold / f"train{ext}").read_text())
            test = load((fold / f"test{ext}").read_text())
            assert {r["subject"] for r in train}.isdisjoint({r["subject"] for r in test}), fold
            assert len({r["subject"] for r in test}) == 1 and train
            assert len(train) + len(test) == len(records(out)[0])
        held_out |= {r["subject"] for r in test}
    assert held_out == subjects
    hold = tmp_path / "hold"
    shutil.copytree(out, hold)
    result = instruct("casme2", "--root", corpus[0], "--out", hold, "--holdout", "sub01,sub02", "--format", "llava",
                      "--no-progress")
    assert result.exit_code == 0, result.output
    train = json.loads((hold / "splits/holdout/train.json").read_text())
    test = json.loads((hold / "splits/holdout/test.json").read_text())
    assert {r["subject"] for r in test} == {"sub01", "sub02"} and {r["subject"] for r in train} == subjects - {"sub01", "sub02"}
    assert not (hold / "messages.jsonl").exists()


# resuming and bad input


def test_resume_measures_only_what_is_missing(built, corpus, tmp_path):
    out, _ = built
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    gone = next((copy / "motion").rglob("*.json"))
    gone.unlink()
    result = instruct("casme2", "--root", corpus[0], "--out", copy, "--folds", "--seed", "3", "--no-progress")
    assert result.exit_code == 0, result.output
    assert "1 measured, 35 reused" in result.stderr
    assert (copy / "llava.json").read_bytes() == (out / "llava.json").read_bytes()


def test_unknown_corpus(tmp_path):
    line = one_error_line(instruct("casme9", "--root", tmp_path, "--out", tmp_path / "o"))
    assert "casme9" in line and "casme2" in line


def test_folder_of_another_dataset_is_refused(tiny, tmp_path):
    out = tmp_path / "out"
    first = instruct("casme2", "--root", tiny, "--out", out, "--no-progress")
    assert first.exit_code == 0, first.output
    line = one_error_line(instruct("casme2", "--root", tiny, "--out", out, "--classes", "others,disgust"))
    assert str(out) in line and "--overwrite" in line
    assert (out / "stats.json").is_file()  # the refused run left the folder as it was
    result = instruct("casme2", "--root", tiny, "--out", out, "--classes", "others,disgust", "--overwrite",
                      "--no-progress")
    assert result.exit_code == 0, result.output
    stats = json.loads((out / "stats.json").read_text())
    assert stats["classes"] == ["others", "disgust"]
    assert {json.loads(p.read_text())["label"] for p in (out / "motion").rglob("*.json")} <= {"others", "disgust"}


def test_clip_without_frames_between_onset_and_apex(tiny, tmp_path):
    bad = tmp_path / "bad"
    shutil.copytree(tiny, bad)
    coding = bad / "CASME2-coding-synth.xlsx"
    wb = openpyxl.load_workbook(coding)
    ws = wb.worksheets[0]
    header = [c.value for c in ws[1]]
    ws.cell(2, header.index("ApexFrame") + 1).value = ws.cell(2, header.index("OnsetFrame") + 1).value
    key = f"sub{int(ws.cell(2, 1).value):02d}/{ws.cell(2, 2).value}"
    wb.save(coding)
    line = one_error_line(instruct("casme2", "--root", bad, "--out", tmp_path / "o1", "--strict", "--no-progress"))
    assert key in line and "no frames between onset and apex" in line
    assert not (tmp_path / "o1" / "stats.json").exists()
    result = instruct("casme2", "--root", bad, "--out", tmp_path / "o2", "--no-progress")
    assert result.exit_code == 0, result.output
    assert f"skipped {key}: " in result.stderr
    stats = json.loads((tmp_path / "o2" / "stats.json").read_text())
    assert stats["clips"] == 3 and key in stats["skipped"][0]["clip"]
