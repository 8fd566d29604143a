"""Spot-then-recognize end to end on tiny synthetic long videos: `mpt synth --layout cas2` (3 subjects x
1 video of about 6 s, 320x240) -> `mpt preprocess cas2` (the micro-expressions as clips) -> `mpt train
--fold all` (tiny random backbone, 1 epoch) -> `mpt str`, and `mpt predict` on long inputs."""

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from clierrors import one_error_line
from longvideos import FIVE_EXPRESSIONS, render_long_video
from mpt.cli import app

runner = CliRunner()


def ok(*args) -> str:
    r = runner.invoke(app, [*map(str, args)])
    assert r.exit_code == 0, r.output
    return r.stdout


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("str")
    data = tmp / "data"
    # the easy preset: this checks the STR pipeline's parts on micro-expressions the spotter finds; spotting
    # on the calibrated long videos is measured in bench/ (issue 26)
    table = Path(ok("synth", data, "--layout", "cas2", "--subjects", "3", "--videos-per-subject", "1", "--seconds", "6",
                    "--width", "320", "--height", "240", "--seed", "3", "--jobs", "1", "--preset", "easy"
                    ).strip().splitlines()[-1])
    cache = ok("preprocess", "cas2", "--root", data, "--annotations", table, "--cache-dir", tmp / "cache", "--size",
               "32", "--frames", "4", "--jobs", "1", "--strict", "--no-progress").strip().splitlines()[-1]
    ok("train", "--cache", cache, "--fold", "all", "--backbone", "vit_tiny_patch16_224", "--depth", "1", "--img-size",
       "32", "--epochs", "1", "--device", "cpu", "--no-progress", "--out", tmp / "run")
    out = json.loads(ok("str", "--dataset", "cas2", "--root", data, "--run", tmp / "run", "--out", tmp / "str",
                        "--device", "cpu", "--json"))
    return {"tmp": tmp, "data": data, "table": table, "run": tmp / "run", "json": out,
            "full": json.loads((tmp / "str" / "str.json").read_text())}


def iou(a, b):
    inter = min(a["offset"], b["offset"]) - max(a["onset"], b["onset"]) + 1
    if inter <= 0:
        return 0.0
    return inter / ((a["offset"] - a["onset"] + 1) + (b["offset"] - b["onset"] + 1) - inter)


def test_str_reports_strs_with_its_parts(world):
    printed, full = world["json"], world["full"]
    assert "intervals" not in printed and {k: v for k, v in full.items() if k != "intervals"} == printed
    assert set(printed["spotting"]) == {"tp", "fp", "fn", "precision", "recall", "f1"}
    assert {"precision", "recall", "f1", "uf1", "uar"} <= set(printed["analysis"])
    # every annotated micro-expression of the corpus is one record, and nothing else is annotated
    events = json.loads((world["data"] / "synth-events.json").read_text())
    micro = sorted((v["subject"], e["onset"], e["offset"]) for v in events for e in v["events"] if e["kind"] == "micro")
    annotated = sorted((r["subject"], r["annotated"]["onset"], r["annotated"]["offset"])
                       for r in full["intervals"] if r["annotated"] is not None)
    assert annotated == micro
    assert all(r["spotted"]["type"] == "micro" for r in full["intervals"] if r["spotted"] is not None)
    assert printed["spotting"]["tp"] > 0  # the synthetic micro-expressions are found


def test_scores_recomputed_from_the_records(world):
    """Spotting F1, analysis F1 and STRS from the per-interval records, by this test's own code."""
    full, classes = world["full"], world["full"]["classes"]
    tp = fp = fn = 0
    pairs = []
    for r in full["intervals"]:
        if r["spotted"] is not None and r["annotated"] is not None:
            assert iou(r["spotted"], r["annotated"]) >= 0.5 and r["iou"] == pytest.approx(iou(r["spotted"],
                                                                                              r["annotated"]))
            tp += 1
            pairs.append((r["truth"], r["prediction"]))
        elif r["spotted"] is not None:
            fp += 1
        else:
            fn += 1
    p, rc = tp / (tp + fp), tp / (tp + fn)
    spot_f1 = 2 * p * rc / (p + rc)
    used = sorted({c for pair in pairs for c in pair if c in classes})
    prec = [sum(t == q == c for t, q in pairs) / max(1, sum(q == c for _, q in pairs)) for c in used]
    rec = [sum(t == q == c for t, q in pairs) / max(1, sum(t == c for t, _ in pairs)) for c in used]
    P, R = np.mean(prec), np.mean(rec)
    an_f1 = 2 * P * R / (P + R) if P + R else 0.0
    assert (full["spotting"]["tp"], full["spotting"]["fp"], full["spotting"]["fn"]) == (tp, fp, fn)
    assert full["spotting"]["f1"] == pytest.approx(spot_f1)
    assert full["analysis"]["f1"] == pytest.approx(an_f1)
    assert full["analysis"]["uar"] == pytest.approx(R)
    assert full["strs"] == pytest.approx(spot_f1 * an_f1)


def test_no_leakage_each_interval_by_the_fold_that_held_its_subject_out(world):
    from mpt import predict

    full = world["full"]
    spotted = [r for r in full["intervals"] if r["spotted"] is not None]
    assert spotted and all(r["model"] == r["subject"] for r in spotted)
    assert all(f["model"] == s for s, f in full["folds"].items())
    folds = sorted(full["folds"])
    for r in spotted[:2]:  # the record's probabilities are those of its subject's fold model, and no other's
        folder = next((world["data"] / "rawpic" / r["subject"]).iterdir())
        kwargs = dict(onset=r["spotted"]["onset"], offset=r["spotted"]["offset"], fps=30, device="cpu")
        own = predict(folder, world["run"], model=r["subject"], **kwargs)["clips"][0]["probabilities"]
        np.testing.assert_allclose(list(own.values()), list(r["probabilities"].values()), atol=1e-5)
        other = next(s for s in folds if s != r["subject"])
        theirs = predict(folder, world["run"], model=other, **kwargs)["clips"][0]["probabilities"]
        assert not np.allclose(list(theirs.values()), list(r["probabilities"].values()), atol=1e-5)


def edited_run(world, tmp_path, **config) -> Path:
    run = tmp_path / "run"
    shutil.copytree(world["run"], run)
    old = json.loads((run / "config.json").read_text())
    (run / "config.json").write_text(json.dumps({**old, **config}))
    return run


def str_error(world, run) -> str:
    return one_error_line(runner.invoke(app, ["str", "--dataset", "cas2", "--root", str(world["data"]), "--run",
                                              str(run), "--device", "cpu", "--no-progress"]))


def test_run_of_another_corpus(world, tmp_path):
    line = str_error(world, edited_run(world, tmp_path, dataset="casme2"))
    assert "trained on casme2's clips, not cas2's" in line


def test_run_with_classes_the_corpus_cannot_map(world, tmp_path):
    line = str_error(world, edited_run(world, tmp_path, classes=["happiness", "repression"]))
    assert "cannot be mapped to cas2's labels" in line


def test_run_that_is_not_a_loso_emotion_run(world, tmp_path):
    line = str_error(world, edited_run(world, tmp_path, protocol="lodo"))
    assert "a lodo run of the emotion task" in line


def test_run_without_a_subjects_fold(world, tmp_path):
    run = edited_run(world, tmp_path)
    (run / "folds" / "s16.json").unlink()
    (run / "folds" / "s16.safetensors").unlink()
    line = str_error(world, run)
    assert "no fold model for subject(s) s16" in line


# mpt predict on long inputs


@pytest.fixture(scope="module")
def five(world):
    return render_long_video(world["tmp"] / "five")


def test_predict_long_video_lists_the_spotted_intervals(world, five):
    from mpt.inference import format_table

    out = json.loads(ok("predict", five, "--fps", "30", "--run", world["run"], "--device", "cpu", "--macro", "--json"))
    (spotted,) = out["spotted"]
    truth = [dict(type=k, onset=on, offset=off) for k, on, _, off, _, _ in FIVE_EXPRESSIONS]
    found = [i for i in spotted["intervals"] if any(t["type"] == i["type"] and iou(t, i) >= 0.5 for t in truth)]
    assert len(found) >= 4, spotted["intervals"]  # the spotter finds (nearly) all five
    assert len(out["clips"]) == len(spotted["intervals"])  # --macro: every interval classified
    for clip in out["clips"]:
        assert set(clip["spot"]) == {"onset", "apex", "offset", "type", "score"}
        assert (clip["onset"], clip["spot"]["onset"]) == (clip["spot"]["onset"], clip["onset"])
        assert list(clip["probabilities"]) == out["classes"] and sum(clip["probabilities"].values()) == pytest.approx(1)
    assert "note" in spotted  # macro-expressions under a micro-expression model: said
    text = format_table({**out, "clips": [c for c in out["clips"] if c["spot"]["type"] == "micro"],
                         "spotted": [{**spotted, "macro": False}]})
    rows = [line for line in text.splitlines() if line.strip()[:1].isdigit()]
    assert len(rows) == len(spotted["intervals"])
    assert sum("not classified" in line for line in rows) == sum(i["type"] == "macro" for i in spotted["intervals"])


def test_short_clip_and_onset_offset_behave_as_before(world, five, tmp_path):
    short = tmp_path / "short"
    short.mkdir()
    for n in range(1, 31):  # 1 s
        shutil.copy(five / f"img{n}.jpg", short / f"img{n}.jpg")
    base = ["predict", short, "--fps", "30", "--run", world["run"], "--device", "cpu"]
    default, off = ok(*base, "--json"), ok(*base, "--json", "--spot", "off")
    assert default == off and "spot" not in default
    assert ok(*base) == ok(*base, "--spot", "off")
    cut = ["predict", five, "--fps", "30", "--run", world["run"], "--device", "cpu", "--onset", "100",
           "--offset", "130"]
    result = json.loads(ok(*cut, "--json"))
    assert "spotted" not in result and len(result["clips"]) == 1 and "spot" not in result["clips"][0]
    assert ok(*cut, "--json") == ok(*cut, "--json", "--spot", "off")


def test_nothing_spotted_is_said(world, five, tmp_path):
    still = tmp_path / "still"
    still.mkdir()
    for n in range(1, 91):  # 3 s of one frame: no motion at all
        shutil.copy(five / "img1.jpg", still / f"img{n}.jpg")
    r = runner.invoke(app, ["predict", str(still), "--fps", "30", "--run", str(world["run"]), "--device", "cpu"])
    assert r.exit_code == 0, r.output
    assert "nothing spotted" in r.stdout


@pytest.mark.parametrize("extra, message", [
    (["--spot", "on", "--onset", "3"], "give one or the other"),
    (["--spot", "off", "--macro"], "--macro applies to spotted inputs"),
    (["--spot", "maybe"], "--spot 'maybe' is not one of auto, on, off"),
])
def test_predict_spot_options(world, five, extra, message):
    r = runner.invoke(app, ["predict", str(five), "--fps", "30", "--run", str(world["run"]), *extra])
    assert message in one_error_line(r)
