"""`mpt spot` end to end on tiny synthetic long videos (`mpt synth --layout cas2`: 2 subjects, about 5 s, 320x240),
its outputs, and the bad inputs of the issue, each one `error:` line."""

import csv
import json
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
from typer.testing import CliRunner

from mpt.cli import app

runner = CliRunner()


@pytest.fixture(scope="module")
def synth(tmp_path_factory):
    out = tmp_path_factory.mktemp("spot") / "data"
    r = runner.invoke(app, ["synth", str(out), "--layout", "cas2", "--subjects", "2", "--videos-per-subject", "1",
                            "--seconds", "5", "--width", "320", "--height", "240", "--seed", "3", "--jobs", "1"])
    assert r.exit_code == 0, r.output
    return out, Path(r.stdout.strip().splitlines()[-1])


def folder(out: Path, subject="s15") -> Path:
    return next((out / "rawpic" / subject).iterdir())


def spot(*args):
    return runner.invoke(app, ["spot", *map(str, args), "--no-progress"])


def test_dataset_json_eval_csv_plot(synth, tmp_path):
    out, table = synth
    r = spot("--dataset", "cas2", "--root", out, "--eval", "--json", "--csv", tmp_path / "pred.csv",
             "--plot", tmp_path / "spot.png", "--report", tmp_path / "spot.html")
    assert r.exit_code == 0, r.output
    result = json.loads(r.stdout)  # exactly one object on stdout
    assert [v["video"] for v in result["videos"]] == ["15_0101", "16_0101"]
    assert set(result["folds"]) == {"s15", "s16"} and all("p" in f for f in result["folds"].values())
    for v in result["videos"]:
        assert v["p"] == result["folds"][v["subject"]]["p"]  # each subject's p came from the other subject
        assert v["fps"] == 30 and v["lost"] == []
        for i in v["intervals"]:
            assert set(i) == {"onset", "apex", "offset", "type", "score", "starts_before"}
            assert i["onset"] <= i["apex"] <= i["offset"]
    events = json.loads((out / "synth-events.json").read_text())
    truth = sum(e["kind"] in ("micro", "macro") for v in events for e in v["events"])
    ev = result["evaluation"]
    assert set(ev) == {"micro", "macro", "overall", "subjects"}
    assert ev["overall"]["tp"] + ev["overall"]["fn"] == truth  # every annotated expression is counted
    assert ev["overall"]["tp"] > 0
    with open(tmp_path / "pred.csv") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["subject", "video", "onset", "offset", "type"]
    assert len(rows) - 1 == sum(len(v["intervals"]) for v in result["videos"])
    again = runner.invoke(app, ["spot", "evaluate", str(tmp_path / "pred.csv"), "--dataset", "cas2",
                                "--annotations", str(table), "--json"])
    assert again.exit_code == 0 and json.loads(again.stdout) == ev  # the CSV scores as the run did
    assert (tmp_path / "spot.png").read_bytes()[:4] == b"\x89PNG"
    # the evaluation page: the overall figures as text, one embedded plot per video, nothing from the network
    page = (tmp_path / "spot.html").read_text()
    assert result["report"] == str(tmp_path / "spot.html")
    assert f"{ev['overall']['f1']:.4f}" in page and "http://" not in page and "https://" not in page
    assert page.count('src="data:image/png;base64,') >= 2 and "s15/15_0101" in page


def test_single_input_json_and_table(synth):
    out, _ = synth
    r = spot(folder(out), "--json")
    assert r.exit_code == 0, r.output
    result = json.loads(r.stdout)
    assert {"input", "fps", "intervals", "lost"} <= set(result) and result["fps"] == 30 and result["lost"] == []
    numbers = sorted(int(p.stem[3:]) for p in folder(out).iterdir())
    assert all(numbers[0] <= i["onset"] <= i["offset"] <= numbers[-1] for i in result["intervals"])
    table = spot(folder(out))
    assert table.exit_code == 0 and "interval(s)" in table.stdout


def test_video_shorter_than_the_window(synth, tmp_path):
    out, _ = synth
    short = tmp_path / "short"
    short.mkdir()
    for p in sorted(folder(out).iterdir(), key=lambda p: int(p.stem[3:]))[:20]:
        shutil.copy(p, short)
    r = spot(short)
    assert r.exit_code == 1 and r.stdout == ""
    assert r.stderr.startswith("error: ") and len(r.stderr.splitlines()) == 1
    assert "shorter than the spotter's window" in r.stderr and str(short) in r.stderr


@pytest.mark.parametrize("step", [3, 10, 30, 100])
def test_step_too_sparse_for_the_shortest_expression(synth, step):
    """At 30 fps every 3rd frame leaves 2 processed frames in a 0.2 s micro-expression: refused
    before any work, with the largest step that would do; --step 2 runs."""
    out, table = synth
    for args in ([folder(out)], ["--dataset", "cas2", "--root", out, "--annotations", table]):
        r = spot(*args, "--step", step)
        assert r.exit_code == 1 and r.stdout == "" and len(r.stderr.splitlines()) == 1, r.output
        assert r.stderr.startswith("error: ") and f"--step {step} at 30 fps" in r.stderr
        assert "use --step 2 or less" in r.stderr


def test_step_two_types_by_seconds(synth):
    out, _ = synth
    r = spot(folder(out), "--step", "2", "--json")
    assert r.exit_code == 0, r.output
    result = json.loads(r.stdout)
    assert result["step"] == 2
    for i in result["intervals"]:  # micro up to 0.5 s, whatever the step
        seconds = (i["offset"] - i["onset"] + 2) / result["fps"]
        assert i["type"] == ("micro" if seconds <= 0.5 + 1e-9 else "macro"), i


def test_face_lost_for_a_while(synth, tmp_path):
    out, _ = synth
    video = tmp_path / "lost"
    shutil.copytree(folder(out), video)
    first = cv2.imread(str(video / "img1.jpg"))
    blank = np.full_like(first, 120)  # no face at all
    for n in range(40, 80):
        cv2.imwrite(str(video / f"img{n}.jpg"), blank)
    r = spot(video, "--json")
    assert r.exit_code == 0, r.output
    result = json.loads(r.stdout)
    lost = set(result["lost"])
    assert set(range(50, 70)) <= lost <= set(range(25, 95))  # checks every 0.5 s (fallback track) at most
    assert not any(i["onset"] <= n <= i["offset"] for i in result["intervals"] for n in lost)
    table = spot(video)
    assert "face lost in" in table.stdout


def test_table_row_whose_frames_folder_is_missing(synth, tmp_path):
    out, table = synth
    copy = tmp_path / "data"
    shutil.copytree(out, copy)
    shutil.rmtree(folder(copy, "s16"))
    r = spot("--dataset", "cas2", "--root", copy, "--annotations", table)
    assert r.exit_code == 1 and len(r.stderr.splitlines()) == 1
    assert r.stderr.startswith("error: ") and "frames folder not found" in r.stderr and ", row " in r.stderr


@pytest.mark.parametrize("args, message", [
    (["--dataset", "cas2"], "--dataset needs --root"),
    (["somewhere", "--dataset", "cas2", "--root", "."], "either INPUT... or --dataset"),
    (["--dataset", "casme2", "--root", "."], "--dataset 'casme2' is not one of cas2, samm-lv"),
    (["x.mp4", "--eval"], "--eval applies to --dataset only"),
    (["x.mp4", "--report", "r.html"], "--report needs --dataset and --eval"),
    (["missing-folder"], "not found"),
])
def test_bad_options(args, message):
    r = spot(*args)
    assert r.exit_code == 1 and message in r.stderr and len(r.stderr.splitlines()) == 1


def test_preprocess_caches_the_micro_expressions_as_clips(synth, tmp_path):
    """`mpt preprocess cas2`: the micro-expressions of the long videos as whole-frame clips, faces aligned,
    the subjects as the LOSO unit (what spot-then-recognize trains on)."""
    import h5py

    out, table = synth
    events = json.loads((out / "synth-events.json").read_text())
    micro = {(v["subject"], e["onset"]) for v in events for e in v["events"] if e["kind"] == "micro"}
    r = runner.invoke(app, ["preprocess", "cas2", "--root", str(out), "--annotations", str(table), "--cache-dir",
                            str(tmp_path / "cache"), "--size", "32", "--frames", "4", "--jobs", "1", "--strict",
                            "--no-progress"])
    assert r.exit_code == 0, r.output
    cache = Path(r.stdout.strip().splitlines()[-1])
    with h5py.File(cache) as f:
        faces = [json.loads(s) for s in f["face"][()]]
        subjects = [s.decode() if isinstance(s, bytes) else s for s in f["subject"][()]]
        onsets = list(f["onset"][()])
        identity = json.loads(f.attrs["input"])
    assert identity["face"] not in (None, "none") and identity["dataset"] == "cas2"  # whole frames: aligned
    assert len(faces) == len(micro) and set(zip(subjects, onsets)) == micro
    assert all(face for face in faces)  # every clip carries its face transform


def test_samm_lv_at_200_fps_every_7th_frame(tmp_path):
    """SAMM-LV's 200 fps: every 7th frame is processed; k and the intervals are in input frame numbers."""
    out = tmp_path / "samm"
    r = runner.invoke(app, ["synth", str(out), "--layout", "samm-lv", "--subjects", "2", "--videos-per-subject", "1",
                            "--seconds", "3", "--width", "320", "--height", "240", "--seed", "4", "--jobs", "1"])
    assert r.exit_code == 0, r.output
    r = spot("--dataset", "samm-lv", "--root", out, "--eval", "--json")
    assert r.exit_code == 0, r.output
    result = json.loads(r.stdout)
    assert [v["video"] for v in result["videos"]] == ["006_1", "007_1"]
    for v in result["videos"]:
        assert (v["fps"], v["step"], v["k"]) == (200, 7, 42)  # k: 6 processed frames = 42 input frames
        assert v["first"] == 1 and (v["last"] - 1) % 7 == 0
        for i in v["intervals"]:
            assert all((i[key] - 1) % 7 == 0 for key in ("onset", "apex", "offset"))  # processed frames 1, 8, 15...
    events = json.loads((out / "synth-events.json").read_text())
    truth = sum(e["kind"] in ("micro", "macro") for v in events for e in v["events"])
    assert result["evaluation"]["overall"]["tp"] + result["evaluation"]["overall"]["fn"] == truth
