"""Hostile but fair input, second round (issue 30): every command that reads a long input, a corpus or a
run, or writes an output, answers a bad case with exit 1 and one line `error: <what, where, why>` (or
goes on with one `warning:` line), never with success for something it did not do, and never
writes over one of its inputs.

One table, one row per case and per command: the arguments, the expected exit code and the words the
one line must hold. The rows were written from the issue's cases, not from the code's messages.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from typer.testing import CliRunner

from mpt.cli import app
from mpt_core.fileio import process_lock

runner = CliRunner()
REPO = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}
ENV.pop("MPT_DEBUG", None)
ENV.pop("OPENCV_FFMPEG_LOGLEVEL", None)  # the command itself must quiet FFmpeg


# the world: small files, each standing for one hostile case


def _video(path: Path, frames, fps: float = 30.0, fourcc: str = "MJPG") -> Path:
    h, w = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), fps, (w, h))
    for f in frames:
        writer.write(cv2.cvtColor(f, cv2.COLOR_RGB2BGR))
    writer.release()
    return path


def _astronaut_scene():
    from skimage import data as skimage_data

    from facescenes import scene

    return scene(skimage_data.astronaut())


def smiling_frames(n: int = 48, start: int = 12, ramp: int = 10) -> np.ndarray:
    """A real face (the astronaut photograph) that breaks into a broad open-mouthed smile from frame
    ``start`` and tilts its head a little as it does (5 degrees, 7 px): the face stays where it was."""
    from facescenes import local_bump, noisy

    still, eyes = _astronaut_scene()
    mid, iod = eyes.mean(0), float(np.linalg.norm(eyes[1] - eyes[0]))
    mouth = mid + (0, 1.12 * iod)
    rng = np.random.default_rng(1)
    frames = []
    for i in range(n):
        k = min(1.0, max(0.0, (i - start) / ramp))
        f = still.copy()
        if k > 0:
            centre = tuple(int(v) for v in mouth)
            cv2.ellipse(f, centre, (int(0.42 * iod), int(0.16 * iod * k) + 1), 0, 0, 180, (60, 25, 30), -1)
            cv2.ellipse(f, (centre[0], centre[1] + 1), (int(0.36 * iod), int(0.07 * iod * k) + 1), 0, 0, 180,
                        (235, 230, 220), -1)
            for side in (-1, 1):
                f = local_bump(f, mouth + (side * 0.45 * iod, 0), (side * 7 * k, -10 * k), sigma=0.35 * iod)
            f = local_bump(f, mouth + (0, 0.45 * iod), (0, 9 * k), sigma=0.45 * iod)
            m = cv2.getRotationMatrix2D(tuple(float(v) for v in mid), 5 * k, 1.0)
            m[:, 2] += (4 * k, 6 * k)
            f = cv2.warpAffine(f, m, (f.shape[1], f.shape[0]), borderMode=cv2.BORDER_REPLICATE)
        frames.append(noisy(f, rng))
    return np.stack(frames)


def ok(*args) -> str:
    r = runner.invoke(app, [*map(str, args)])
    assert r.exit_code == 0, r.output
    return r.stdout


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    import torch
    from safetensors.torch import save_file

    from mpt_core.clip import PreprocessSettings
    from mpt_core.compat import import_timm
    from mpt_core.model import ModelSettings
    from preprocess.pipeline import build_cache
    from preprocess.synth import generate_synthetic
    from train.loop import run_loso
    from train.settings import TrainSettings

    tmp = tmp_path_factory.mktemp("hostile")
    w = {"tmp": tmp}
    # a corpus and a trained run (predict needs one whose models load)
    data = w["data"] = tmp / "data"
    generate_synthetic(data, subjects=2, clips_per_subject=2, seed=0, size=64, progress=False)
    cache = build_cache("casme2", data, data / "CASME2-coding-synth.xlsx", settings=PreprocessSettings(size=32),
                        cache_dir=tmp / "cache", jobs=1, progress=False)
    torch.manual_seed(0)
    vit = import_timm().create_model("vit_tiny_patch16_224", pretrained=False, num_classes=0, img_size=32, depth=1)
    save_file(dict(vit.state_dict()), str(tmp / "vit.safetensors"))
    w["run"] = run_loso(cache, train_settings=TrainSettings(epochs=1, batch_size=4, device="cpu", precision="fp32"),
                        model_settings=ModelSettings(backbone="vit_tiny_patch16_224", depth=1, img_size=32),
                        out=tmp / "run", weights=tmp / "vit.safetensors", progress=False)
    # a long-video corpus (its table and frames)
    cas2 = w["cas2"] = tmp / "cas2"
    w["cas2_table"] = Path(ok("synth", cas2, "--layout", "cas2", "--subjects", "2", "--videos-per-subject", "1",
                              "--seconds", "2", "--width", "160", "--height", "120", "--seed", "1", "--jobs", "1")
                           .strip().splitlines()[-1])
    w["cas2_video"] = next(p for p in (cas2 / "rawpic").rglob("*") if p.is_dir() and p.parent.name.startswith("s")
                           and p.parent.parent.name == "rawpic")
    # a run folder as far as a check before the work can tell, and one with a truncated config.json
    (tmp / "fake_run").mkdir()
    (tmp / "fake_run" / "config.json").write_text("{}\n")
    (tmp / "bad_run").mkdir()
    text = (w["run"] / "config.json").read_text()
    (tmp / "bad_run" / "config.json").write_text(text[: len(text) // 2])
    # videos: noise with no face (3 s), a face (2.4 s) and its truncated copies
    rng = np.random.default_rng(0)
    _video(tmp / "noise.avi", [rng.integers(0, 255, (120, 160, 3), dtype=np.uint8) for _ in range(90)])
    still, _ = _astronaut_scene()
    face = _video(tmp / "face.avi", [still] * 72)
    blob = face.read_bytes()
    (tmp / "trunc.avi").write_bytes(blob[: len(blob) * 3 // 10])  # 22 of 72 frames decode
    mp4 = _video(tmp / "face.mp4", [still[::4, ::4]] * 10, fourcc="mp4v").read_bytes()
    (tmp / "nomoov.mp4").write_bytes(mp4[: len(mp4) // 2])  # the index (moov atom) is at the end: gone
    # a frame folder with frame 5 missing
    gap = w["gap"] = tmp / "gap"
    gap.mkdir()
    for n in (*range(0, 5), *range(6, 12)):
        cv2.imwrite(str(gap / f"img{n}.jpg"), cv2.cvtColor(still[::4, ::4], cv2.COLOR_RGB2BGR))
    # predictions CSVs for spot evaluate
    video = w["cas2_video"]
    subject, code = video.parent.name, video.name.split("synthetic")[0]
    last = max(int(p.stem[3:]) for p in video.iterdir())
    csvs = {"empty": "", "negative": f"{subject},{code},-4,10,micro\n",
            "past_end": f"subject,video,onset,offset,type\n{subject},{code},10,{last + 40},micro\n",
            "wrong_header": f"sub,vid,start,end,kind\n{subject},{code},10,20,micro\n"}
    for name, body in csvs.items():
        (tmp / f"{name}.csv").write_text(body)
    w["last"] = last
    # folders of other kinds
    (tmp / "instructed").mkdir()
    (tmp / "instructed" / "instruct.json").write_text("{}\n")
    (tmp / "strjson" / "str.json").mkdir(parents=True)
    (tmp / "a_file").write_text("not a folder\n")
    from test_sweep import write_spec

    write_spec(tmp / "tiny.toml", data, tmp / "sweep-cache", seeds=(0,))
    return w


def T(w, name):
    """A path of the world (the table names them by key so that the rows read as the cases do)."""
    return str(w[name]) if name in w else str(w["tmp"] / name)


# (case, command line with {names} from the world, exit code, words of the one line)
CASES = [
    # success reported for nothing: a face in no frame at all is one error, whatever the command
    ("no face, spotted first", "predict {noise.avi} --run {run}", 1, "no face found in any of its 90 frames"),
    ("no face, spot", "spot {noise.avi} --no-progress", 1, "no face found in any of its 90 frames"),
    ("no face, track", "track {noise.avi} --no-progress", 1, "no face found in any of its 90 frames"),
    ("no face, one clip", "predict {noise.avi} --run {run} --spot off", 1, "no face found in any frame"),
    # inputs overwritten
    ("magnify over its input", "magnify {face.avi} -o {face.avi}", 1, "is one of the command's inputs"),
    ("track video over its input", "track {face.avi} --video {face.avi}", 1, "is one of the command's inputs"),
    ("spot csv over a frame", "spot {gap} --csv {gap}/img1.jpg", 1, "inside the input folder"),
    ("spot plot into the frames", "spot {gap} --plot {gap}/plot.png", 1, "inside the input folder"),
    ("spot dataset csv in the root", "spot --dataset cas2 --root {cas2} --csv {cas2}/p.csv", 1,
     "inside the dataset root"),
    ("save crops into the input", "predict {gap} --fps 30 --run {run} --save-crops {gap}", 1,
     "is one of the command's inputs"),
    # outputs of the wrong kind
    ("instruct into the root", "instruct casme2 --root {data} --out {data}", 1, "inside the dataset root"),
    ("instruct into a frame folder", "instruct casme2 --root {data} --out {data}/Cropped/sub01", 1,
     "inside the dataset root"),
    ("instruct into a run", "instruct casme2 --root {data} --out {run}", 1, "holds a training run"),
    ("instruct into another corpus", "instruct casme2 --root {data} --out {cas2}", 1, "looks like a dataset"),
    ("str into an instruct folder", "str --dataset cas2 --root {cas2} --run {fake_run} --out {instructed}", 1,
     "holds an instruction set"),
    ("str into a run", "str --dataset cas2 --root {cas2} --run {fake_run} --out {run}", 1, "holds a training run"),
    ("str into a corpus", "str --dataset cas2 --root {cas2} --run {fake_run} --out {data}", 1,
     "looks like a dataset (it holds an annotation table: CASME2-coding-synth.xlsx)"),
    ("sweep into an instruct folder", "sweep {tiny.toml} --out {instructed} --no-progress", 1,
     "holds an instruction set"),
    # messages that say why, before the work
    ("output under a file", "track {face.avi} --out {a_file}/t.npz", 1, "a_file is a file, not a folder"),
    ("str out is a file", "str --dataset cas2 --root {cas2} --run {fake_run} --out {a_file}", 1,
     "is a file, not a folder"),
    ("plot suffix", "spot {face.avi} --plot {tmp}/s.txt", 1, "--plot {tmp}/s.txt: must end in .png, .pdf, .svg"),
    ("truncated config.json, predict", "predict {face.avi} --run {bad_run}", 1,
     "bad_run/config.json: not valid JSON"),
    ("truncated config.json, str", "str --dataset cas2 --root {cas2} --run {bad_run} --out {tmp}/s1", 1,
     "bad_run/config.json: not valid JSON"),
    ("str.json is a folder", "str --dataset cas2 --root {cas2} --run {fake_run} --out {strjson}", 1,
     "is a folder where mpt str writes a file"),
    # smaller ones
    ("track over a gap", "track {gap} --fps 30 --no-progress", 1, "missing frame(s) 5 between 0 and 11"),
    ("predict a truncated video", "predict {trunc.avi} --run {run}", 1,
     "truncated or corrupt: only 22 of the 72 frames"),
    ("evaluate an empty CSV", "spot evaluate {empty.csv} --dataset cas2 --annotations {cas2_table}", 1,
     "empty file (0 bytes)"),
    ("evaluate a negative onset", "spot evaluate {negative.csv} --dataset cas2 --annotations {cas2_table}", 1,
     "onset -4 is negative"),
    ("evaluate past the end", "spot evaluate {past_end.csv} --dataset cas2 --annotations {cas2_table} --root {cas2}",
     1, "is past the end of video"),
    ("evaluate a wrong header", "spot evaluate {wrong_header.csv} --dataset cas2 --annotations {cas2_table}", 1,
     "header 'sub,vid,start,end,kind' is not subject,video,onset,offset,type"),
]


def _fill(w, text: str) -> str:
    import re

    return re.sub(r"\{([^}]+)\}", lambda m: T(w, m.group(1)), text)


def _argv(w, line: str) -> list[str]:
    return [_fill(w, part) for part in line.split()]


def _tree_digest(*paths) -> dict:
    out = {}
    for root in paths:
        root = Path(root)
        for p in [root] if root.is_file() else sorted(q for q in root.rglob("*") if q.is_file()):
            out[str(p)] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


@pytest.mark.parametrize("case,line,code,words", CASES, ids=[c[0] for c in CASES])
def test_hostile_case(world, case, line, code, words):
    inputs = _tree_digest(world["data"], world["cas2"], world["gap"], world["tmp"] / "face.avi", world["run"])
    r = runner.invoke(app, _argv(world, line))
    assert r.exit_code == code, (case, r.output)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), (case, r.stderr)
    assert _fill(world, words) in lines[0], (case, lines[0])
    # no command wrote over (or into) what it reads
    assert _tree_digest(world["data"], world["cas2"], world["gap"], world["tmp"] / "face.avi", world["run"]) \
        == inputs, case
    assert not list(world["tmp"].rglob("*.tmp-*")), case
    assert not (world["tmp"] / "s1").exists(), case  # a folder created for a failed command is gone


def test_nothing_is_created_for_a_refused_output(world):
    """A refused output folder is not created; a refused file is not touched."""
    before = sorted(p.name for p in world["tmp"].iterdir())
    r = runner.invoke(app, _argv(world, "track {face.avi} --out {tmp}/new/t.txt"))
    assert r.exit_code == 1 and "must end in .npz" in r.stderr
    assert sorted(p.name for p in world["tmp"].iterdir()) == before


def test_no_command_writes_over_its_input(world, tmp_path):
    """Each command that writes a file is given one of its inputs as the output: refused, bytes unchanged."""
    import shutil

    face = shutil.copy(world["tmp"] / "face.avi", tmp_path / "face.avi")
    frames = shutil.copytree(world["gap"], tmp_path / "frames")
    table = shutil.copy(world["cas2_table"], tmp_path / "table.xlsx")
    before = _tree_digest(tmp_path)
    gif = shutil.copy(face, tmp_path / "clip.gif")  # an input that --gif would write beside clip.mp4
    before = _tree_digest(tmp_path)
    for argv in (["magnify", face, "-o", face], ["magnify", gif, "-o", tmp_path / "clip.mp4", "--gif"],
                 ["track", face, "--video", face], ["spot", frames, "--csv", frames / "img1.jpg"],
                 ["spot", face, "--plot", face],
                 ["spot", "--dataset", "cas2", "--root", world["cas2"], "--annotations", table, "--csv", table],
                 ["predict", frames, "--fps", "30", "--run", world["run"], "--save-crops", frames]):
        r = runner.invoke(app, [str(a) for a in argv])
        assert r.exit_code == 1, (argv, r.output)
        assert r.stderr.startswith("error: ") and len(r.stderr.strip().splitlines()) == 1, (argv, r.stderr)
        assert _tree_digest(tmp_path) == before, argv


def test_spot_csv_reads_back_with_spot_evaluate(world, tmp_path):
    """`mpt spot VIDEO --csv` names the subject and the video as the corpus lays them out, and
    `mpt spot evaluate` reads the file back and scores it."""
    video = world["cas2_video"]
    out = tmp_path / "one.csv"
    ok("spot", video, "--csv", out, "--no-progress")
    rows = out.read_text().splitlines()
    assert rows[0] == "subject,video,onset,offset,type"
    assert all(r.split(",")[:2] == [video.parent.name, video.name] for r in rows[1:])
    result = json.loads(ok("spot", "evaluate", out, "--dataset", "cas2", "--annotations", world["cas2_table"],
                           "--json"))
    tp_fp = result["overall"]["tp"] + result["overall"]["fp"]
    assert tp_fp == len(rows) - 1  # every written interval was read back and scored


def test_ffmpeg_log_is_silenced(world):
    """A video whose index is gone: FFmpeg's own "moov atom not found" does not precede the error."""
    r = subprocess.run([sys.executable, "-m", "mpt", "track", str(world["tmp"] / "nomoov.mp4")], cwd=REPO, env=ENV,
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 1
    assert r.stderr.strip().splitlines() == [f"error: {world['tmp'] / 'nomoov.mp4'}: not a readable video or a "
                                             "folder of frames (OpenCV cannot open it)"], r.stderr


@pytest.mark.skipif(os.geteuid() == 0 if hasattr(os, "geteuid") else True,
                    reason="root may write in a read-only folder; the check is a real write probe")
def test_unwritable_output_is_refused_before_the_work(world, tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        r = runner.invoke(app, _argv(world, f"track {{face.avi}} --out {ro}/t.npz"))
        assert r.exit_code == 1 and r.stderr.startswith(f"error: --out {ro}/t.npz: cannot write in {ro}"), r.stderr
        r = runner.invoke(app, _argv(world, f"str --dataset cas2 --root {{cas2}} --run {{fake_run}} --out {ro}/s"))
        assert r.exit_code == 1 and "cannot write in" in r.stderr, r.stderr
    finally:
        ro.chmod(0o755)


def test_unwritable_output_message_names_option_and_folder(world, tmp_path, monkeypatch):
    """Where the suite runs as root (who may write anywhere), the folder's refusal of a new file is
    simulated at the probe itself; the line and its timing (before any work) are the command's."""
    import tempfile

    real = tempfile.mkstemp

    def refuse(*args, dir=None, **kwargs):
        if Path(dir) == tmp_path / "ro":
            raise PermissionError(13, "Permission denied")
        return real(*args, dir=dir, **kwargs)

    (tmp_path / "ro").mkdir()
    monkeypatch.setattr(tempfile, "mkstemp", refuse)
    for line, option in ((f"track {{face.avi}} --out {tmp_path}/ro/t.npz", f"--out {tmp_path}/ro/t.npz"),
                         (f"str --dataset cas2 --root {{cas2}} --run {{run}} --out {tmp_path}/ro/s", f"--out "
                          f"{tmp_path}/ro/s"),
                         (f"spot {{noise.avi}} --csv {tmp_path}/ro/x/p.csv", f"--csv {tmp_path}/ro/x/p.csv")):
        r = runner.invoke(app, _argv(world, line))
        assert r.exit_code == 1
        assert r.stderr.strip() == f"error: {option}: cannot write in {tmp_path}/ro (Permission denied); choose a " \
                                   "writable folder", r.stderr
    assert sorted(p.name for p in (tmp_path / "ro").iterdir()) == []


def test_table_names_never_reach_outside_the_root(tmp_path):
    """A table's clip names that are absolute paths or climb out with .. are skipped with a line each
    (an error with --strict); the frames outside the root are not read."""
    from fabricate import write_frames, write_xlsx

    root, outside = tmp_path / "root", tmp_path / "outside"
    write_frames(outside / "clipX", range(1, 11), "reg_img{}.jpg")
    write_frames(root / "Cropped" / "sub01" / "EP01", range(1, 11), "reg_img{}.jpg")
    header = ["Subject", "Filename", "OnsetFrame", "ApexFrame", "OffsetFrame", "Action Units", "Estimated Emotion"]
    write_xlsx(root / "CASME2-coding-x.xlsx", header, [
        [1, "EP01", 1, 5, 10, "4", "disgust"], [1, "../../../outside/clipX", 1, 5, 10, "4", "disgust"],
        [1, str(outside / "clipX"), 1, 5, 10, "4", "happiness"]])
    r = runner.invoke(app, ["datasets", "summary", "casme2", "--root", str(root)])
    assert r.exit_code == 0, r.output
    assert "2 clip(s) skipped" in r.output
    assert "reaches outside the root (..); frames outside the root are not read" in r.output
    assert "is a path, not a folder name under the root" in r.output
    r = runner.invoke(app, ["datasets", "summary", "casme2", "--root", str(root), "--strict"])
    assert r.exit_code == 1 and "reaches outside the root" in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_magnify_keeps_a_smiling_face(tmp_path):
    """A real face that smiles broadly (and tilts its head a little) stays where it was: every frame is
    magnified. A face that moves away by half its eye distance is still cut there."""
    from facescenes import noisy
    from preprocess.face.align import face_kept_until, locate_face

    frames = smiling_frames()
    video = _video(tmp_path / "smile.avi", frames)
    r = runner.invoke(app, ["magnify", str(video), "-o", str(tmp_path / "m.mp4"), "--size", "64"])
    assert r.exit_code == 0, r.output
    assert r.stdout.startswith(f"{tmp_path / 'm.mp4'}: {len(frames)} frames"), r.stdout
    assert "no longer where" not in r.stderr

    still, _ = _astronaut_scene()
    rng = np.random.default_rng(2)
    shift = np.float32([[1, 0, 25], [0, 1, 0]])
    moved = [noisy(still, rng) for _ in range(6)] + [noisy(cv2.warpAffine(still, shift, (640, 480),
                                                                          borderMode=cv2.BORDER_REPLICATE), rng)] * 3
    assert face_kept_until(np.stack(moved), locate_face(moved[0])) == 6


# two processes, one output: the second is refused at once (no waiting, no timing: the test holds the lock)


def _refused_while_held(lock_path: Path, argv: list, option_path: str) -> None:
    held = process_lock(lock_path)
    assert held.try_acquire()
    try:
        r = subprocess.run([sys.executable, "-m", "mpt", *map(str, argv)], cwd=REPO, env=ENV, capture_output=True,
                           text=True, timeout=300)
    finally:
        held.release()
    assert r.returncode == 1, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith(f"error: {option_path}: being written by process {os.getpid()}"), lines[0]
    assert "wait for it to finish or choose another" in lines[0]


def test_second_instruct_into_one_folder_is_refused(world, tmp_path):
    out = tmp_path / "ins"
    out.mkdir()
    _refused_while_held(out / ".lock", ["instruct", "casme2", "--root", world["data"], "--out", out, "--folds",
                                        "--no-progress"], f"--out {out}")
    assert sorted(p.name for p in out.iterdir()) == [".lock"]  # the refused process wrote nothing


def test_second_str_into_one_folder_is_refused(world, tmp_path):
    out = tmp_path / "str"
    out.mkdir()
    _refused_while_held(out / ".lock", ["str", "--dataset", "cas2", "--root", world["cas2"], "--run",
                                        world["tmp"] / "fake_run", "--out", out], f"--out {out}")
    assert not (out / "str.json").exists()


def test_second_spot_dataset_into_one_csv_is_refused(world, tmp_path):
    csv = tmp_path / "spots" / "p.csv"
    csv.parent.mkdir()
    _refused_while_held(csv.parent / ".p.csv.lock", ["spot", "--dataset", "cas2", "--root", world["cas2"], "--csv",
                                                     csv], f"--csv {csv}")
    assert not csv.exists()


def test_second_sweep_into_one_folder_is_refused(world, tmp_path):
    from test_sweep import write_spec

    spec = write_spec(tmp_path / "tiny.toml", world["data"], tmp_path / "cache", seeds=(0,))
    out = tmp_path / "sweep"
    out.mkdir()
    _refused_while_held(out / ".lock", ["sweep", spec, "--out", out, "--no-progress"], f"--out {out}")
    assert not (out / "results.json").exists() and not (tmp_path / "cache").exists()
