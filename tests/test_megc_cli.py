"""MEGC files end to end on tiny synthetic long videos: a 3-class run trained on one synthetic corpus
(`mpt synth --layout cas2` -> `mpt preprocess cas2 --classes cas2-3` -> `mpt train --fold all`, tiny random
backbone, 1 epoch), then
- `mpt str --unseen` on a folder of other synthetic long videos at 30 and 200 fps (a CAS(ME)^2-layout and a
  SAMM-layout video of other faces): submission written, then scored with its ground truth;
- `mpt spot --dataset --submission` / `mpt spot evaluate` and `mpt str --submission` / `mpt str --score`:
  written, read back, scored as the command that wrote them scored its intervals.
The point is the plumbing and the files, not accuracy."""

import csv
import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

import clierrors
from mpt.cli import app

runner = CliRunner()
THREE = {"anger": "negative", "contempt": "negative", "disgust": "negative", "fear": "negative",
         "sadness": "negative", "happiness": "positive", "surprise": "surprise", "negative": "negative",
         "positive": "positive"}


def ok(*args) -> str:
    r = runner.invoke(app, [*map(str, args)])
    assert r.exit_code == 0, r.output
    return r.stdout


def one_error_line(*args) -> str:
    return clierrors.one_error_line(runner.invoke(app, [*map(str, args)]))


def synth(out: Path, layout: str, subjects: int, seconds: float, seed: int) -> Path:
    return Path(ok("synth", out, "--layout", layout, "--subjects", subjects, "--videos-per-subject", 1, "--seconds",
                   seconds, "--width", 320, "--height", 240, "--seed", seed, "--jobs", 1).strip().splitlines()[-1])


def read_csv(path: Path) -> list[list[str]]:
    return list(csv.reader(path.read_text().splitlines()))


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("megc")
    train, table = tmp / "train", synth(tmp / "train", "cas2", 3, 6, 3)
    cache = ok("preprocess", "cas2", "--root", train, "--annotations", table, "--classes", "cas2-3", "--cache-dir",
               tmp / "cache", "--size", "32", "--frames", "4", "--jobs", "1", "--strict",
               "--no-progress").strip().splitlines()[-1]
    ok("train", "--cache", cache, "--fold", "all", "--backbone", "vit_tiny_patch16_224", "--depth", "1", "--img-size",
       "32", "--epochs", "1", "--device", "cpu", "--no-progress", "--out", tmp / "run")
    # the unseen set: other faces, other seeds; one 30 fps and one 200 fps video, frames in a folder each
    synth(tmp / "u30", "cas2", 1, 5, 11)
    synth(tmp / "u200", "samm-lv", 1, 3, 12)
    unseen = tmp / "unseen"
    unseen.mkdir()
    truth, rates = [], []
    for src, fps in ((tmp / "u30", 30), (tmp / "u200", 200)):
        for v in json.loads((src / "synth-events.json").read_text()):
            folder = next(p for p in src.rglob(v["video"] + "*") if p.is_dir())  # cas2: 15_0101synthetic
            shutil.copytree(folder, unseen / v["video"])
            rates.append((v["video"], fps, v["subject"]))
            truth += [(v["subject"], v["video"], e["onset"], e["offset"],
                       THREE.get((e["emotion"] or e["objective"]).lower(), "others"))
                      for e in v["events"] if e["kind"] == "micro"]
    (tmp / "videos.csv").write_text("video,fps,subject\n" + "".join(f"{v},{f},{s}\n" for v, f, s in rates))
    (tmp / "truth.csv").write_text("subject,video,onset,offset,emotion\n"
                                   + "".join(",".join(map(str, r)) + "\n" for r in truth))
    return {"tmp": tmp, "train": train, "table": table, "run": tmp / "run", "unseen": unseen, "truth": truth,
            "rates": rates}


def test_unseen_set_end_to_end(world):
    tmp = world["tmp"]
    out = json.loads(ok("str", "--unseen", world["unseen"], "--videos", tmp / "videos.csv", "--run", world["run"],
                        "--submission", tmp / "sub", "--truth", tmp / "truth.csv", "--device", "cpu", "--json",
                        "--no-progress"))
    sub = tmp / "sub"
    assert sorted(p.name for p in sub.iterdir()) == ["cas_pred.csv", "samm_pred.csv", "str_pred.csv", "unseen.json"]
    full = json.loads((sub / "unseen.json").read_text())
    assert {v["video"]: (v["fps"], v["dataset"]) for v in full["videos"]} == {
        world["rates"][0][0]: (30.0, "cas"), world["rates"][1][0]: (200.0, "samm")}
    # the challenge's headers and names
    strs = read_csv(sub / "str_pred.csv")
    assert strs[0] == ["subject", "video", "onset", "offset", "emotion"]
    assert {r[4] for r in strs[1:]} <= {"negative", "positive", "surprise", ""}
    micro = [(v["subject"], v["video"], i) for v in full["videos"] for i in v["intervals"] if i["type"] == "micro"]
    assert [(s, v, int(on), int(off)) for s, v, on, off, _ in strs[1:]] == [
        (s, v, i["onset"], i["offset"]) for s, v, i in micro]
    assert len(micro) > 0  # the synthetic micro-expressions are spotted
    for name, part in (("cas_pred.csv", "cas"), ("samm_pred.csv", "samm")):
        rows = read_csv(sub / name)
        assert rows[0] == ["vid", "pred_onset", "pred_offset", "type"]
        video = next(v for v in full["videos"] if v["dataset"] == part)
        assert [(r[0], int(r[1]), int(r[2]), r[3]) for r in rows[1:]] == [
            (video["video"], i["onset"], i["offset"], {"micro": "me", "macro": "mae"}[i["type"]])
            for i in video["intervals"]]
    # every classified interval's class is the 3-class argmax of its probabilities (a cas2-3 run: identity map)
    for _, _, i in micro:
        if i["emotion"]:
            assert i["emotion"] == max(i["probabilities"], key=i["probabilities"].get)
    # scored with its ground truth, both ways; read back by `mpt str --score`, the same figures
    scores = out["scores"]
    assert set(scores) == {"mpt", "megc", "reasons"}
    again = json.loads(ok("str", "--score", sub / "str_pred.csv", "--truth", tmp / "truth.csv", "--json"))
    assert again["mpt"] == scores["mpt"] and again["megc"] == scores["megc"]
    # mpt's spotting counts by this test's own matching: TP + FN = the truth's micro-expressions
    s = scores["mpt"]["spotting"]
    assert s["tp"] + s["fn"] == len(world["truth"]) and s["tp"] + s["fp"] == len(micro)


def test_unseen_errors(world, tmp_path):
    tmp = world["tmp"]
    base = ["str", "--unseen", world["unseen"], "--run", world["run"], "--submission", tmp_path / "s", "--device",
            "cpu", "--no-progress"]
    assert "no frame rate" in one_error_line(*base)  # frame folders without a videos table
    bad = tmp_path / "videos.csv"
    bad.write_text("video,fps\n" + "".join(f"{v},{f}\n" for v, f, _ in world["rates"]) + "ghost,30\n")
    assert "ghost not in" in one_error_line(*base, "--videos", bad)
    assert "needs --run RUN and --submission DIR" in one_error_line("str", "--unseen", world["unseen"], "--run",
                                                                     world["run"])
    run = tmp_path / "run"
    shutil.copytree(world["run"], run)
    config = json.loads((run / "config.json").read_text())
    (run / "config.json").write_text(json.dumps({**config, "classes": ["negative", "positive", "others"]}))
    line = one_error_line(*base[:4], run, *base[5:], "--videos", tmp / "videos.csv")
    assert "class(es) others map to none of negative, positive, surprise" in line
    assert not (tmp_path / "s").exists()  # nothing written before the checks


def test_corpus_spotting_submission_read_back(world, tmp_path):
    sub = tmp_path / "sub"
    spotted = json.loads(ok("spot", "--dataset", "cas2", "--root", world["train"], "--annotations", world["table"],
                            "--eval", "--submission", sub, "--json", "--no-progress"))
    assert spotted["submission"] == [str(sub / "cas_pred.csv")]
    rows = read_csv(sub / "cas_pred.csv")
    assert rows[0] == ["vid", "pred_onset", "pred_offset", "type"] and {r[3] for r in rows[1:]} <= {"me", "mae"}
    assert len(rows) - 1 == sum(len(v["intervals"]) for v in spotted["videos"])
    back = json.loads(ok("spot", "evaluate", sub / "cas_pred.csv", "--dataset", "cas2", "--annotations",
                         world["table"], "--json"))
    assert back == spotted["evaluation"]  # read back, scored as the run scored its intervals
    both = json.loads(ok("spot", "evaluate", sub / "cas_pred.csv", "--dataset", "cas2", "--annotations",
                         world["table"], "--json", "--megc"))
    assert both["mpt"]["overall"] == back["overall"] and set(both["megc"]) == {"micro", "macro", "overall"}
    text = ok("spot", "evaluate", sub / "cas_pred.csv", "--dataset", "cas2", "--annotations", world["table"], "--megc")
    assert "MEGC leaderboard" in text and ("Why they differ" in text or "agree" in text)
    bad = tmp_path / "bad.csv"
    bad.write_text("vid,pred_onset,pred_offset,type\nnot_a_video,1,10,me\n")
    assert "unknown vid 'not_a_video'" in one_error_line("spot", "evaluate", bad, "--dataset", "cas2", "--annotations",
                                                         world["table"])


def test_corpus_str_submission_read_back(world, tmp_path):
    out = json.loads(ok("str", "--dataset", "cas2", "--root", world["train"], "--annotations", world["table"], "--run",
                        world["run"], "--out", tmp_path / "str", "--device", "cpu", "--json", "--no-progress",
                        "--submission", tmp_path / "sub", "--megc"))
    rows = read_csv(tmp_path / "sub" / "str_pred.csv")
    assert rows[0] == ["subject", "video", "onset", "offset", "emotion"]
    assert len(rows) - 1 == out["spotting"]["tp"] + out["spotting"]["fp"]
    assert {r[4] for r in rows[1:]} <= {"negative", "positive", "surprise", ""}
    assert out["megc"]["mpt"]["strs"] == pytest.approx(out["strs"])  # the same definitions as mpt str's own
    back = json.loads(ok("str", "--score", tmp_path / "sub" / "str_pred.csv", "--dataset", "cas2", "--annotations",
                         world["table"], "--json"))
    assert back["mpt"]["strs"] == pytest.approx(out["strs"])
    assert back["mpt"]["spotting"] == out["spotting"]
    assert back["megc"] == out["megc"]["megc"]


def test_single_inputs_spotting_submission(world, tmp_path):
    """`mpt spot INPUT... --submission`: each input's name is its vid, its rate picks the file."""
    v30, v200 = (world["unseen"] / name for name, _, _ in world["rates"])
    sub = tmp_path / "sub"
    out = json.loads(ok("spot", v200, "--fps", "200", "--submission", sub, "--json", "--no-progress"))
    assert out["submission"] == [str(sub / "samm_pred.csv")]
    rows = read_csv(sub / "samm_pred.csv")
    assert rows[0] == ["vid", "pred_onset", "pred_offset", "type"]
    assert [(r[0], int(r[1]), int(r[2]), r[3]) for r in rows[1:]] == [
        (v200.name, i["onset"], i["offset"], {"micro": "me", "macro": "mae"}[i["type"]]) for i in out["intervals"]]
    same = tmp_path / "same" / v30.name
    same.parent.mkdir()
    same.symlink_to(v30, target_is_directory=True)
    line = one_error_line("spot", v30, same, "--fps", "30", "--submission", tmp_path / "twice", "--no-progress")
    assert f"two inputs share the name '{v30.name}'" in line
    assert not (tmp_path / "twice").exists()  # said before any spotting, nothing written


def test_unseen_folder_listing(world, tmp_path):
    """Frame folders and video files are videos; a table beside them is not, and is named; rates from the table
    or the file; a clash of names or frames lying loose in the folder is an error."""
    import cv2
    import numpy as np

    from mpt.megc.unseen import UnseenError, list_videos

    folder = tmp_path / "u"
    folder.mkdir()
    for name, _, _ in world["rates"]:
        (folder / name).symlink_to(world["unseen"] / name, target_is_directory=True)
    writer = cv2.VideoWriter(str(folder / "clip9.avi"), cv2.VideoWriter_fourcc(*"MJPG"), 25.0, (64, 48))
    for _ in range(5):
        writer.write(np.zeros((48, 64, 3), np.uint8))
    writer.release()
    shutil.copy(world["tmp"] / "videos.csv", folder / "videos.csv")
    videos, ignored = list_videos(folder, folder / "videos.csv")
    assert ignored == ["videos.csv"]
    got = {v.name: (v.fps, v.part, v.subject) for v in videos}
    assert got == {world["rates"][0][0]: (30.0, "cas", world["rates"][0][2]),
                   world["rates"][1][0]: (200.0, "samm", world["rates"][1][2]), "clip9": (25.0, "cas", "clip9")}
    shutil.copy(folder / "clip9.avi", folder / "clip9.mp4")
    with pytest.raises(UnseenError, match="two videos named 'clip9'"):
        list_videos(folder, folder / "videos.csv")
    (folder / "clip9.mp4").unlink()
    (folder / "img1.jpg").write_bytes(b"")
    with pytest.raises(UnseenError, match="holds frame images"):
        list_videos(folder, folder / "videos.csv")
