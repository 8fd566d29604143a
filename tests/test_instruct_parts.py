"""The parts of ``mpt instruct``: AU strings, the dual constraint in words, safe names, the frames the
kernel reads, every corpus reader, and the warped-photograph clips of the describe evaluation."""

import importlib.util
import json
import re
from pathlib import Path

import cv2
import numpy as np
import pytest
from fabricate import (CASME2_2019, SAMM_CODING, casme2_rows, fabricate_casme2, fabricate_samm, fabricate_smic,
                       megc_rows, samm_rows, smic_rows, unpad_smic)
from typer.testing import CliRunner

from mpt.cli import app
from mpt.instruct.aus import parse_aus
from mpt.instruct.grounding import ground
from mpt.instruct.layout import safe_part

runner = CliRunner()
REPO = Path(__file__).resolve().parents[1]


def instruct(*args):
    return runner.invoke(app, ["instruct", *map(str, args)])


# AU strings as the corpora write them (values taken from the real tables)


@pytest.mark.parametrize("text, expected", [
    ("4+7+L10", [(4, "", True), (7, "", True), (10, "L", True)]),
    ("R12", [(12, "R", True)]),
    ("?", []),
    ("1A+2B+L14C", [(1, "", True), (2, "", True), (14, "L", True)]),
    ("(R6 or R12) + R15", [(6, "R", False), (12, "R", False), (15, "R", True)]),
    ("12A+ref(24)", [(12, "", True), (24, "", False)]),
    ("7B+ ref(43)", [(7, "", True), (43, "", False)]),
    ("A/L12", [(12, "L", True)]),
    ("R14+17+soft focus", [(14, "R", True), (17, "", True)]),
    ("2+1+14", [(2, "", True), (1, "", True), (14, "", True)]),
    (12, [(12, "", True)]),
])
def test_parse_aus(text, expected):
    assert [(a.number, a.side, a.certain) for a in parse_aus(text)] == expected


# the dual constraint


def motion(moving: dict, candidates=(), threshold=0.3):
    names = ["brow_inner_left", "brow_inner_right", "brow_outer_left", "brow_outer_right", "glabella",
             "upper_eyelid_left", "upper_eyelid_right", "lower_eyelid_left", "lower_eyelid_right", "cheek_left",
             "cheek_right", "nose_side_left", "nose_side_right", "upper_lip", "lip_corner_left", "lip_corner_right",
             "lower_lip", "chin"]
    regions = []
    for n in names:
        direction, mag = moving.get(n, ("still", 0.05))
        regions.append({"name": n, "dx": 0.0, "dy": -mag, "magnitude": mag, "direction": direction})
    return {"onset": 10, "apex": 20, "offset": 30, "threshold_px": threshold, "regions": regions,
            "au_candidates": [{"au": au, "evidence_px": 0.8, "regions": list(r)} for au, r in candidates]}


def test_confirmed_unresolved_and_motion_only():
    m = motion({"lip_corner_left": ("up and outward", 0.9), "lip_corner_right": ("up and outward", 0.7),
                "nose_side_left": ("up", 0.6), "nose_side_right": ("up", 0.5)},
               [("AU9", ("nose_side_left", "nose_side_right")), ("AU12", ("lip_corner_left", "lip_corner_right"))])
    g = ground(m, parse_aus("6+12+25"))
    assert [(c.au.number, c.status) for c in g.checks] == [(6, "unresolved"), (12, "confirmed"), (25, "not covered")]
    assert g.motion_only[0][0] == "AU9"
    sentences = re.split(r"(?<=\.)\s+", g.text)
    seen = next(s for s in sentences if s.startswith("AU12"))
    assert "seen in the flow" in seen and "lip corners moved up and outward 0.8 px" in seen
    assert "below what the flow resolves" in next(s for s in sentences if s.startswith("AU6"))
    au9 = next(s for s in sentences if "AU9" in s)
    assert "consistent with AU9" in au9 and "not annotated" in au9


def test_uncertain_aus_are_never_present_and_sides_are_the_subjects():
    m = motion({"lip_corner_left": ("down", 0.6)}, [("AU15", ("lip_corner_left",))])
    g = ground(m, parse_aus("(R6 or R12)+R15"))
    assert [(c.au.number, c.status) for c in g.checks] == [(15, "confirmed")]
    assert "subject's right lip corner moved down 0.6 px" in g.text  # the image's left is the subject's right
    uncertain = next(s for s in re.split(r"(?<=\.)\s+", g.text) if "AU6" in s)
    assert "AU12" in uncertain and "not annotated" in uncertain


def test_a_still_face():
    g = ground(motion({}), [])
    assert g.checks == () and g.motion_only == ()
    assert "No action units are annotated" in g.text and "No facial region moved 0.30 px" in g.text
    assert "AU code (?) names no action unit" in ground(motion({}), parse_aus("?"), "?").text  # CASME II 2014


# names from the data never leave the output folder


@pytest.mark.parametrize("name", ["..", ".", "../../etc", "casme2/sub01", "a\\b", ".hidden", "sub 01", ""])
def test_safe_part(name, tmp_path):
    part = safe_part(name)
    assert "/" not in part and "\\" not in part and not part.startswith(".") and part
    assert (tmp_path / part).resolve().parent == tmp_path.resolve()
    assert safe_part("sub01") == "sub01" and safe_part("EP02_01f") == "EP02_01f"
    assert safe_part("casme2/sub01") != safe_part("casme2_sub01")


# the kernel reads six frames when the apex is known (onset, its neighbour, apex - 1..apex + 1, offset): the
# same result as the whole clip


def test_frames_read_give_the_whole_clips_result(tmp_path):
    from mpt.describe import describe_clip_frames
    from mpt.instruct.measure import frames_to_read, measure_clip
    from preprocess.frames import load_frames
    from preprocess.readers import read_dataset
    from preprocess.synth import generate_synthetic

    generate_synthetic(tmp_path, subjects=1, clips_per_subject=2, seed=4, jobs=1, progress=False)
    for rec in read_dataset("casme2", tmp_path).clips:
        assert len(frames_to_read(rec.onset, rec.apex, rec.offset)) <= 6
        assert len(frames_to_read(rec.onset, rec.apex, rec.offset, transient=False)) <= 5
        m = measure_clip(rec.frames, range(rec.onset, rec.offset + 1), key=rec.key, onset=rec.onset, apex=rec.apex,
                         offset=rec.offset, whole_frames=False)
        placed = ({"landmarks": np.asarray(m.motion["landmarks"])} if "landmarks" in m.motion
                  else {"eyes": m.motion["eyes"]["points"]})
        whole = describe_clip_frames(load_frames(rec.frames, 224), **placed, apex_index=rec.apex - rec.onset,
                                     offset_index=rec.offset - rec.onset, numbers=range(rec.onset, rec.offset + 1))
        assert m.motion["relative_to"] == "onset-offset drift"
        assert m.motion["regions"] == whole.to_dict()["regions"]
        assert m.motion["au_candidates"] == whole.to_dict()["au_candidates"]


# every corpus mpt reads


def _few(rows, n=3):
    rows = sorted(rows, key=lambda r: (r["offset"] - r["onset"], str(r["clip"])))
    return rows[:n]


def test_real_corpus_layouts(tmp_path, annotations_dir):
    """Fake trees from the real tables (flat grey frames: nothing moves, no face is found), three clips of
    each corpus, all in the MEGC2019 list so that the composite reads them too."""
    import shutil

    listed = {(d, s, c) for d, s, c, _ in megc_rows(annotations_dir / "combined_3class_gt.csv")}
    casme2 = tmp_path / "casme2"
    fabricate_casme2(casme2, _few([r for r in casme2_rows(annotations_dir / CASME2_2019)
                                   if ("casme2", r["subject"], r["clip"]) in listed]))
    shutil.copy(annotations_dir / CASME2_2019, casme2)
    samm = tmp_path / "samm"
    fabricate_samm(samm, _few([r for r in samm_rows(annotations_dir / SAMM_CODING)
                               if ("samm", str(int(r["subject"])), r["clip"]) in listed]))  # the list has 6, not 006
    shutil.copy(annotations_dir / SAMM_CODING, samm)
    smic_listed = {unpad_smic(c) for d, _, c in listed if d == "smic"}
    smic = fabricate_smic(tmp_path / "smic", _few([r for r in smic_rows(annotations_dir / "HS_cropped.csv")
                                                   if r["clip"] in smic_listed]))
    megc = tmp_path / "megc"
    megc.mkdir()
    for name, root in (("casme2", casme2), ("samm", samm), ("smic", smic)):
        (megc / name).symlink_to(root, target_is_directory=True)
    shutil.copy(annotations_dir / "combined_3class_gt.csv", megc)
    for name, root, n in (("casme2", casme2, 3), ("samm", samm, 3), ("smic", smic, 3), ("megc2019", megc, 9)):
        out = tmp_path / f"out-{name}"
        result = instruct(name, "--root", root, "--out", out, "--jobs", "1", "--no-progress")
        assert result.exit_code == 0, (name, result.output)
        stats = json.loads((out / "stats.json").read_text())
        assert stats["clips"] == n and stats["eyes"] == {"canonical": n}, name
        if name == "megc2019":
            assert {s.split("/")[0] for s in {r["subject"] for r in json.loads((out / "llava.json").read_text())}} \
                == {"casme2", "samm", "smic"}
            assert all(".." not in p.parts for p in (out / "images").rglob("*"))
        llava = json.loads((out / "llava.json").read_text())
        assert {r["template"] for r in llava} >= {"describe", "class", "region"}
        for r in llava:
            assert all((out / p).is_file() for p in r["image"])
        if name == "smic":  # no apex in SMIC: found by motion energy, and said so
            assert stats["apex"] == {"max motion energy": 3}
            assert not any(r["template"].startswith("au_") for r in llava)  # no AU annotation, no AU questions


def test_whole_frame_corpus(tmp_path):
    from preprocess.synth import generate_synthetic_casme3

    generate_synthetic_casme3(tmp_path / "c3", subjects=2, clips_per_subject=2, seed=0, jobs=1, progress=False)
    out = tmp_path / "out"
    result = instruct("casme3", "--root", tmp_path / "c3", "--out", out, "--jobs", "1", "--no-progress",
                      "--holdout", "spNO.1")
    assert result.exit_code == 0, result.output
    stats = json.loads((out / "stats.json").read_text())
    assert stats["eyes"] == {"landmarks": stats["clips"]} and stats["clips"] >= 3
    onset = cv2.imread(str(out / json.loads((out / "llava.json").read_text())[0]["image"][0]))
    assert onset.shape == (224, 224, 3)
    llava = json.loads((out / "llava.json").read_text())
    emotions = {(r["clip"], r["conversations"][1]["value"]) for r in llava if r["template"] == "emotion"}
    fine = {json.loads(p.read_text())["clip"]: json.loads(p.read_text())["emotion"] for p in (out / "motion").rglob("*.json")}
    # the default casme3 classes merge emotions into "negative": its clips are asked their own emotion
    assert emotions and all(answer == f"{fine[clip]}." and fine[clip] != "negative" for clip, answer in emotions)
    test = json.loads((out / "splits/holdout/test.json").read_text())
    assert {r["subject"] for r in test} == {"spNO.1"}


# the warped-photograph clips of the describe evaluation


def test_warped_photograph(tmp_path):
    spec = importlib.util.spec_from_file_location("bench_instruct", REPO / "bench" / "instruct.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    bench.write_photo_corpus(tmp_path / "photo", per_class=3)
    out = tmp_path / "out"
    result = instruct("casme2", "--root", tmp_path / "photo", "--out", out, "--jobs", "2", "--no-progress")
    assert result.exit_code == 0, result.output
    stats = json.loads((out / "stats.json").read_text())
    assert stats["annotated_families"] == 12  # 3 clips each of 1+2, 4, 12 and 15; none for "no expression"
    assert stats["confirmed_fraction"] >= 0.85, stats["families"]
    truth = {}
    for p in (out / "motion").rglob("*.json"):
        clip = json.loads(p.read_text())
        truth[clip["subject"], clip["clip"]] = {int(n) for n in re.findall(r"\d+", clip["aus"])}
    for r in json.loads((out / "llava.json").read_text()):
        for sentence in re.split(r"(?<=[.!?])\s+", r["conversations"][1]["value"]):
            unannotated = {int(n) for n in re.findall(r"\bAU(\d+)", sentence)} - truth[r["subject"], r["clip"]]
            assert not unannotated or "not annotated" in sentence, (r["id"], sentence)
    assert np.isfinite(stats["confirmed_fraction"])


def test_turns_for_a_one_sided_au_and_a_merged_class():
    from mpt.instruct.conversations import clip_turns

    m = motion({"lip_corner_left": ("up and outward", 0.9)}, [("AU12", ("lip_corner_left",))])
    clip = {"subject": "s1", "clip": "c1", "label": "positive", "emotion": "happiness", "motion": m}
    turns = clip_turns(clip, ground(m, parse_aus("R12+L2")), ["negative", "positive", "surprise"], seed=0)
    by = {}
    for t in turns:
        by.setdefault(t.template, []).append(t)
    assert [t.answer for t in by["emotion"]] == ["happiness."] and by["class"][0].answer == "positive."
    assert len(by["au_present"]) == len(by["au_absent"]) == 2
    assert {t.tag for t in by["au_absent"]}.isdisjoint({"AU1", "AU2", "AU12"})  # nor AU1: AU2's family
    side = {t.tag: t.answer for t in by["side"]}
    assert side["AU12"].startswith("The subject's right side (coded R12).")
    assert "moved 0.9 px there and 0.1 px on the other side" in side["AU12"]  # the image's left is the subject's right
    assert by["region"][0].answer.startswith("The subject's right lip corner: it moved up and outward 0.9 px")
    again = clip_turns(clip, ground(m, parse_aus("R12+L2")), ["negative", "positive", "surprise"], seed=0)
    assert again == turns  # the seed alone decides the phrasings and the AUs asked
