"""The synthetic CAS(ME)^3 dataset: the real table's layout, whole frames in which OpenCV's Haar
cascade and dlib's HOG detector find the face, read strictly by the casme3 reader, and the label carried by motion."""

import hashlib
import re

import cv2
import numpy as np
import openpyxl
import pytest

from preprocess.readers import read_dataset
from preprocess.synth.casme3 import generate_synthetic_casme3

SUBJECTS, CLIPS, WIDTH, HEIGHT = 4, 4, 320, 240
REAL_LABEL = "cas(me)3_part_A_ME_label_JpgIndex_v2.xlsx"
# facial anatomy: AUs that move only the brows and eyes, and AUs that move only the mouth and chin
UPPER_AUS, LOWER_AUS = {"1", "2", "4", "5", "7", "45"}, {"12", "14", "15", "17", "24"}


@pytest.fixture(scope="module")
def synth(tmp_path_factory):
    # the easy preset: these tests locate each micro-expression's motion, which needs a face that is still
    # elsewhere (the calibrated default moves everywhere a little; its bytes are tested below)
    out = tmp_path_factory.mktemp("synth_casme3")
    label = generate_synthetic_casme3(out, subjects=SUBJECTS, clips_per_subject=CLIPS, seed=2, width=WIDTH,
                                      height=HEIGHT, jobs=2, progress=False, preset="easy")
    return out, label


@pytest.fixture(scope="module")
def index(synth):
    out, _ = synth
    return read_dataset("casme3", out, strict=True, classes="casme3-7")


def _cascade(name):
    return cv2.CascadeClassifier(cv2.data.haarcascades + name)


def test_label_table_has_the_real_layout(synth, annotations_dir):
    _, label = synth
    real_path = annotations_dir / REAL_LABEL
    if not real_path.is_file():
        pytest.skip(f"{real_path} not found")
    real, ours = openpyxl.load_workbook(real_path), openpyxl.load_workbook(label)
    assert ours.sheetnames == real.sheetnames == ["label", "Sheet1", "Sheet3"]
    header = lambda wb: [c.value for c in next(wb["label"].iter_rows(max_row=1))][:8]  # noqa: E731
    assert header(ours) == header(real)
    rows = list(ours["label"].iter_rows(min_row=2, values_only=True))
    assert len(rows) == SUBJECTS * CLIPS
    for subject, recording, *frames, au, objective, emotion in rows:
        assert re.fullmatch(r"spNO\.\d+", subject) and re.fullmatch(r"[a-m]", recording)
        assert all(isinstance(f, str) and f.isdigit() for f in frames)  # frame numbers stored as text
        assert objective in {"I", "II", "III", "IV", "V", "VI", "VII"}
    pairs = [(r[0], r[1]) for r in rows]
    assert len(set(pairs)) < len(pairs)  # some recording holds several micro-expressions


def test_reader_reads_it_strictly(synth, index):
    out, _ = synth
    assert index.skipped == [] and index.warnings == []
    assert len(index.clips) == SUBJECTS * CLIPS and len(index.subjects) == SUBJECTS
    assert index.whole_frames
    for c in index.clips:
        assert c.fps == 30 and c.onset < c.apex < c.offset
        assert c.offset - c.onset + 1 <= 2 * 30  # a micro-expression, not seconds of motion
        assert c.frames[0].parent.parent.parent.parent == out / "part_A" and c.frames[0].parent.name == "color"
    folders = {c.frames[0].parent for c in index.clips}
    for folder in folders:  # whole recordings, numbered from 1
        numbers = sorted(int(p.stem) for p in folder.iterdir())
        assert numbers == list(range(1, len(numbers) + 1))
        assert cv2.imread(str(folder / "1.jpg")).shape == (HEIGHT, WIDTH, 3)
    four = read_dataset("casme3", out / "part_A", strict=True)  # default classes; the table found in the parent
    assert len(four.clips) == len(index.clips)


def test_haar_cascade_finds_one_face_in_every_onset_frame(index):
    faces, eyes = _cascade("haarcascade_frontalface_default.xml"), _cascade("haarcascade_eye.xml")
    boxes, pairs = set(), 0
    for c in index.clips:
        gray = cv2.imread(str(c.frames[0]), cv2.IMREAD_GRAYSCALE)
        found = faces.detectMultiScale(gray)
        assert len(found) == 1, (c.clip, found)
        x, y, w, h = (int(v) for v in found[0])
        assert w < 0.9 * min(WIDTH, HEIGHT)  # a face inside a larger frame
        boxes.add((c.subject, x // 8, y // 8))
        pairs += len(eyes.detectMultiScale(gray[y : y + h // 2, x : x + w])) >= 2
    assert len(boxes) > SUBJECTS  # the face moves between recordings
    assert pairs >= 0.9 * len(index.clips)


def test_hog_detector_finds_one_face_and_its_landmarks_in_every_onset_frame(index):
    """``--face auto`` (dlib's HOG detector, then 68 landmarks) on every onset frame, without the
    fallbacks: one face, upright or upsampled once, its eyes where Haar's eye cascade puts eyes."""
    pytest.importorskip("dlib")
    from preprocess.face.landmarks import detect_faces, eye_centres, fit_landmarks

    for c in index.clips:
        gray = cv2.imread(str(c.frames[0]), cv2.IMREAD_GRAYSCALE)
        found = detect_faces(gray, 0) or detect_faces(gray, 1)
        assert len(found) == 1, (c.clip, found)
        (x, y, w, h), _ = found[0]
        left, right = eye_centres(fit_landmarks(gray, found[0][0]))
        assert x < left[0] < right[0] < x + w and y < left[1] < y + h / 2 and y < right[1] < y + h / 2
        haar = _cascade("haarcascade_eye.xml").detectMultiScale(gray[int(y) : int(y + h / 2), int(x) : int(x + w)])
        for eye in (left, right):  # a landmark eye centre lies in one of the eye boxes (when Haar finds any)
            assert len(haar) == 0 or any(ex <= eye[0] - x <= ex + ew and ey <= eye[1] - y <= ey + eh
                                         for ex, ey, ew, eh in haar), (c.clip, eye, haar)


def test_motion_is_where_the_action_units_are(index):
    """Between the onset and the apex, brow/eye AUs change the upper half of the face box and
    mouth AUs the lower half."""
    faces = _cascade("haarcascade_frontalface_default.xml")
    seen = {"upper": 0, "lower": 0}
    for c in index.clips:
        aus = set(c.au.split("+"))
        grey = [cv2.imread(str(c.frames[i]), cv2.IMREAD_GRAYSCALE).astype(np.float32) for i in (0, c.apex - c.onset)]
        onset, apex = (cv2.GaussianBlur(g, (0, 0), 1.5) for g in grey)
        x, y, w, h = faces.detectMultiScale(onset.astype(np.uint8))[0]
        change = cv2.GaussianBlur(np.abs(apex - onset)[y : y + h, x : x + w], (0, 0), 3)
        peak = np.unravel_index(change.argmax(), change.shape)[0] / h
        if aus <= UPPER_AUS:
            assert peak < 0.5, (c.clip, c.au, peak)
            seen["upper"] += 1
        elif aus <= LOWER_AUS:
            assert peak > 0.5, (c.clip, c.au, peak)
            seen["lower"] += 1
    assert seen["upper"] and seen["lower"], seen


def _digest(root):
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def test_same_seed_same_bytes_serial_and_parallel(tmp_path):
    small = dict(subjects=2, clips_per_subject=2, seed=7, width=192, height=144, progress=False)
    generate_synthetic_casme3(tmp_path / "a", jobs=1, **small)
    generate_synthetic_casme3(tmp_path / "b", jobs=2, **small)
    a, b = _digest(tmp_path / "a"), _digest(tmp_path / "b")
    assert a == b and sum(k.endswith(".jpg") for k in a) > 2 * 2 * 9
    label = generate_synthetic_casme3(tmp_path / "a", jobs=1, **small)  # finished: reused as it is
    assert _digest(tmp_path / "a") == a and label.name in a
    with pytest.raises(FileExistsError, match="other settings"):
        generate_synthetic_casme3(tmp_path / "a", jobs=1, **{**small, "seed": 8})
    with pytest.raises(ValueError, match="width"):
        generate_synthetic_casme3(tmp_path / "c", width=32)
