"""The synthetic dataset is on disk exactly like CASME II Cropped and the CASME II reader reads it."""

import re

import cv2
import numpy as np
import openpyxl
import pytest
from typer.testing import CliRunner

from preprocess.synth import PRESETS, generate_synthetic

SUBJECTS, CLIPS, SIZE = 6, 5, 96
# From the issue: CASME II 2014, 5-class subset, 246 clips.
CASME2 = {"happiness": 32, "surprise": 25, "disgust": 63, "repression": 27, "others": 99}
# AU sets allowed per class, from the issue text (others: any AU not used by the four emotions).
EMOTION_AUS = {"happiness": {"6", "12"}, "surprise": {"1", "2"}, "disgust": {"4", "9", "10"}, "repression": {"14", "15", "17"}}


@pytest.fixture(scope="module")
def synth(tmp_path_factory):
    out = tmp_path_factory.mktemp("synth")
    coding = generate_synthetic(out, subjects=SUBJECTS, clips_per_subject=CLIPS, seed=3, size=SIZE, jobs=2, progress=False)
    return out, coding


def test_coding_file_has_the_real_2014_layout(synth, annotations_dir):
    _, coding = synth
    assert coding.name == "CASME2-coding-synth.xlsx"
    real = openpyxl.load_workbook(annotations_dir / "CASME2-coding-20140508.xlsx")
    ours = openpyxl.load_workbook(coding)
    assert ours.sheetnames == real.sheetnames
    header = lambda wb: [c.value for c in next(wb["Sheet1"].iter_rows(max_row=1))]  # noqa: E731
    assert header(ours) == header(real)
    rows = list(ours["Sheet1"].iter_rows(min_row=2, values_only=True))
    assert len(rows) == SUBJECTS * CLIPS
    for r in rows:  # same cell types as the real file: text subject, empty C and G, int frames
        assert re.fullmatch(r"\d\d", r[0]) and r[2] is None and r[6] is None
        assert all(isinstance(v, int) for v in r[3:6])


def test_casme2_reader_reads_it(synth):
    from preprocess.readers import read_dataset

    out, coding = synth
    index = read_dataset("casme2", out, coding, strict=True)
    assert index.skipped == []
    assert len(index.clips) == SUBJECTS * CLIPS
    assert index.subjects == [f"sub{s:02d}" for s in range(1, SUBJECTS + 1)]
    n = SUBJECTS * CLIPS
    for name, count in index.class_counts().items():  # CASME II's proportions, to the nearest clip
        assert abs(count - n * CASME2[name] / 246) < 1, (name, count)
    for clip in index.clips:
        assert clip.fps == 200
        assert clip.onset < clip.apex < clip.offset
        assert 30 <= clip.offset - clip.onset + 1 <= 120
        assert len(clip.frames) == clip.offset - clip.onset + 1
        assert [int(re.search(r"\d+", f.stem).group()) for f in clip.frames] == list(range(clip.onset, clip.offset + 1))
        # the calibrated default draws each class's AUs as real CASME II codes them (AU4 in others too)
        assert clip.au in {aus for aus, _ in PRESETS["real"].class_aus[clip.label]}, clip


def test_easy_preset_keeps_each_class_to_its_own_aus():
    from preprocess.synth.writer import plan_clips

    for plan in plan_clips(SUBJECTS, CLIPS, seed=3, preset="easy"):
        aus = set(plan.aus.split("+"))
        if plan.label in EMOTION_AUS:
            assert aus <= EMOTION_AUS[plan.label], plan
        else:
            assert not aus & set().union(*EMOTION_AUS.values()), plan


def test_clip_folders(synth):
    out, coding = synth
    rows = list(openpyxl.load_workbook(coding)["Sheet1"].iter_rows(min_row=2, values_only=True))
    for subject, name, _, onset, _, offset, *_ in rows:
        folder = out / "Cropped" / f"sub{subject}" / name
        numbers = sorted(int(p.stem[len("reg_img"):]) for p in folder.glob("reg_img*.jpg"))
        assert len(numbers) == len(list(folder.iterdir()))
        assert numbers == list(range(numbers[0], numbers[-1] + 1))  # contiguous absolute frame numbers
        assert 1 < numbers[0] <= onset and offset <= numbers[-1]  # a few neutral frames may pad the clip
        img = cv2.imread(str(folder / f"reg_img{onset}.jpg"))
        assert img.shape == (SIZE, SIZE, 3) and img.std() > 10


def test_faces_differ_between_subjects_and_stay_within_one(synth):
    out, coding = synth
    rows = list(openpyxl.load_workbook(coding)["Sheet1"].iter_rows(min_row=2, values_only=True))
    onset = {}
    for subject, name, _, on, *_ in rows:
        img = cv2.imread(str(out / "Cropped" / f"sub{subject}" / name / f"reg_img{on}.jpg")).astype(np.float32)
        img = cv2.GaussianBlur(img, (0, 0), 2)
        onset.setdefault(subject, []).append(img / img.mean())  # per-clip exposure is a nuisance
    within = np.mean([np.abs(a - b).mean() for imgs in onset.values() for a, b in zip(imgs, imgs[1:])])
    subjects = sorted(onset)
    between = np.mean([np.abs(onset[a][0] - onset[b][0]).mean() for a, b in zip(subjects, subjects[1:])])
    assert between > 3 * within, (between, within)


def test_bad_arguments_are_errors(tmp_path):
    for kwargs in ({"subjects": 0}, {"clips_per_subject": 0}, {"size": 8}, {"jobs": 0}, {"seed": -1}):
        with pytest.raises(ValueError):
            generate_synthetic(tmp_path / "x", progress=False, **kwargs)


def test_cli_writes_reuses_and_refuses_other_settings(tmp_path):
    from mpt.cli import app

    runner = CliRunner()
    args = ["synth", str(tmp_path), "--subjects", "2", "--clips-per-subject", "2", "--size", "48", "--jobs", "1"]
    first = runner.invoke(app, args)
    assert first.exit_code == 0, first.output
    coding = tmp_path / "CASME2-coding-synth.xlsx"
    assert first.output.strip().splitlines()[-1] == str(coding)
    stamp = coding.stat().st_mtime_ns
    again = runner.invoke(app, args)
    assert again.exit_code == 0 and coding.stat().st_mtime_ns == stamp  # reused, not rewritten
    other = runner.invoke(app, args[:-2] + ["--seed", "1"])
    assert other.exit_code == 1 and other.stderr.startswith("error: ") and "--overwrite" in other.stderr
    replaced = runner.invoke(app, args[:-2] + ["--seed", "1", "--overwrite"])
    assert replaced.exit_code == 0, replaced.output
