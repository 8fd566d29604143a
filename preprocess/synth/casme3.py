"""A synthetic micro-expression dataset in the CAS(ME)^3 Part A layout: whole video frames.

``generate_synthetic_casme3(OUT)`` writes 30 fps recordings ``OUT/part_A/spNO.N/{a..m}/color/{1..last}.jpg``,
each holding one or more micro-expressions, and the label table ``OUT/`` + ``LABEL_FILE`` (sheet
``label``, the real v2 table's columns, frame numbers as text), which ``read_dataset("casme3", OUT,
strict=True)`` reads with nothing skipped. Emotions follow the real table's proportions; each is
drawn as AUs of ``motion.AUS``, so the label is carried by motion only.

The face of a subject is ``face.render_face`` (the CASME II-layout synth is untouched), lit as a
camera sees it (``camera_shading``), placed in a larger frame at a per-recording offset and roll
over a backdrop continued from its own, and moved by ``motion``'s AU fields, head drift, flicker,
noise and JPEG as in ``writer.render_clip``. Faces in whole frames must be found by the aligner
(OpenCV's Haar cascades), so every micro-expression's onset frame is checked: a recording whose
onset frames do not show exactly one Haar face around the eyes is placed again (0.7 % of first
placements), and after ``PLACEMENTS`` failures the subject gets another face. The same arguments
give the same bytes, serially or in parallel.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from functools import lru_cache, partial
from pathlib import Path

import cv2
import numpy as np

from .face import Face, render_face
from .background import skin_bursts
from .motion import au_field, envelope, head_drift
from .presets import DEFAULT_PRESET, FORMAT_VERSION, get_preset
from .writer import (FLICKER_STD, NOISE_BANK, _write_stable_zip, camera_jpeg, quota, render_subjects,
                     reuse_or_clear)

FPS = 30
LABEL_FILE = "cas(me)3_part_A_ME_label_JpgIndex_synth.xlsx"
FRAMES_DIR = "part_A"
SETTINGS_FILE = "synth-settings.json"
HEADER = ("Subject", "Filename", "Onset", "Apex", "Offset", "AU", "Objective class", "emotion")
SHEETS = ("label", "Sheet1", "Sheet3")  # as in the real table (the other two are empty)
# the real v2 table, 860 rows ('Others' counted with 'others')
CASME3_COUNTS = {"anger": 64, "disgust": 250, "fear": 86, "happy": 55, "others": 161, "sad": 57, "surprise": 187}
EMOTION_AUS = {  # emotion -> (AU string, weight) choices, every AU one of motion.AUS
    "anger": [("4+7", 2), ("4+24", 2), ("4+7+24", 1)],
    "disgust": [("4+9", 2), ("9+10", 2), ("4+10", 1), ("9", 1)],
    "fear": [("1+4", 2), ("1+4+5", 1), ("4+5", 1)],
    "happy": [("6+12", 3), ("12", 2)],
    "others": [("45", 3), ("14", 2)],
    "sad": [("15", 1), ("15+17", 2), ("1+4+15", 1)],
    "surprise": [("1+2", 3), ("1+2+5", 1), ("2", 1)],
}
OBJECTIVE_CLASS = {"happy": "I", "surprise": "II", "anger": "III", "disgust": "IV", "sad": "V", "fear": "VI",
                   "others": "VII"}  # a plausible value for the column; no reader uses it
RECORDINGS = "abcdefghijklm"  # recording names of a subject, as in the real table
SPAN = (9, 36)  # onset..offset frames: 0.3-1.2 s, about the real table's 5th to 75th percentile
FACE_SCALE = (0.55, 0.8)  # side of the rendered face image, as a fraction of the frame's shorter side
MAX_ROLL_DEG = 6.0
PLACEMENTS = 6  # placements tried per recording before the subject gets another face
FACES = 5  # faces tried per subject before giving up


@dataclass(frozen=True)
class MicroExpression:
    emotion: str
    aus: str  # e.g. "4+9"
    onset: int
    apex: int
    offset: int


@dataclass(frozen=True)
class Recording:
    subject: int  # folder spNO.{subject}
    index: int  # recording index within the subject, seeds its own RNG
    name: str  # 'a'..'m'
    last: int  # frames 1..last
    mes: tuple[MicroExpression, ...]

    @property
    def folder(self) -> str:
        return f"spNO.{self.subject}/{self.name}/color"


# planning


def plan_recordings(subjects: int, clips_per_subject: int, seed: int) -> list[Recording]:
    """Emotions in the real table's proportions, shuffled from the seed; about two micro-expressions
    per recording (so a recording is not a clip key), with neutral frames between them."""
    n = subjects * clips_per_subject
    emotions = np.repeat(np.arange(len(CASME3_COUNTS)), quota(n, tuple(CASME3_COUNTS.values())))
    np.random.default_rng([seed, 10]).shuffle(emotions)
    names = tuple(CASME3_COUNTS)
    out = []
    for s in range(1, subjects + 1):
        rng = np.random.default_rng([seed, 13, s])
        n_rec = min(len(RECORDINGS), math.ceil(clips_per_subject / 2))
        letters = sorted(rng.choice(list(RECORDINGS), n_rec, replace=False))
        per = np.ones(n_rec, int) + np.bincount(rng.integers(0, n_rec, clips_per_subject - n_rec), minlength=n_rec)
        k = (s - 1) * clips_per_subject
        for r, (letter, count) in enumerate(zip(letters, per)):
            frame, mes = int(rng.integers(5, 25)), []
            for _ in range(count):
                emotion = names[emotions[k]]
                k += 1
                span = int(rng.integers(SPAN[0], SPAN[1] + 1))
                apex = frame + max(1, round(rng.uniform(0.25, 0.6) * (span - 1)))
                mes.append(MicroExpression(emotion, _sample_aus(rng, emotion), frame, apex, frame + span - 1))
                frame += span - 1 + int(rng.integers(10, 30))
            out.append(Recording(s, r, str(letter), mes[-1].offset + int(rng.integers(3, 10)), tuple(mes)))
    return out


def _sample_aus(rng: np.random.Generator, emotion: str) -> str:
    choices, weights = zip(*EMOTION_AUS[emotion])
    p = np.asarray(weights, np.float64)
    return choices[rng.choice(len(choices), p=p / p.sum())]


# rendering


def camera_shading(face: Face) -> Face:
    """The face as a camera sees it rather than as drawn: exposure set on the skin, shadowed eye
    sockets, eyes darker than the drawn white sclera, light on the cheekbones and the nose bridge.

    Haar's frontal-face features are exactly these contrasts. Without them, 11 % of the drawn faces
    (mostly dark skin with pale eyes) fail ``one_face`` in a whole frame; with them, 0.7 % (150 subjects).
    """
    img, p = face.image, face.points
    size = img.shape[0]
    ys, xs = np.mgrid[0:size, 0:size].astype(np.float32)

    def blob(point, sx, sy):
        return np.exp(-(((xs - point[0]) / sx) ** 2 + ((ys - point[1]) / sy) ** 2) / 2)

    skin = [img[int(y), int(x)] @ np.float32([0.299, 0.587, 0.114]) for x, y in
            (p["cheek_l"], p["cheek_r"], p["glabella"], p["nose_tip"])]
    gain = float(np.clip(150.0 / max(np.mean(skin), 1.0), 0.6, 2.0))  # exposure: skin at ~150 grey
    d = abs(p["eye_l"][0] - p["eye_r"][0])  # inter-ocular distance
    m = np.full((size, size), gain, np.float32)
    for k in "lr":
        (ex, ey), (_, by) = p[f"eye_{k}"], p[f"brow_mid_{k}"]
        ry = (p[f"eye_bot_{k}"][1] - p[f"eye_top_{k}"][1]) / 2
        m *= 1 - 0.6 * blob((ex, ey), 0.22 * d, 1.2 * ry)  # the eye
        m *= 1 - 0.3 * blob((ex, (ey + by) / 2), 0.3 * d, 0.5 * (ey - by))  # its socket
        cx, cy = p[f"cheek_{k}"]
        m *= 1 + 0.2 * blob((cx, cy + 0.05 * d), 0.22 * d, 0.12 * d)  # cheekbone
    nx, ny = p["nose_tip"]
    m *= 1 + 0.2 * blob((nx, (p["eye_l"][1] + ny) / 2), 0.07 * d, 0.3 * d)  # nose bridge
    return Face(image=img * m[..., None], points=p)


def _backdrop(img: np.ndarray, pad: int) -> np.ndarray:
    """``img`` inside a margin of ``pad``: its backdrop (a vertical gradient, fitted on its side
    columns) continued, and its bottom row (neck and backdrop) repeated downwards."""
    size = img.shape[0]
    side = np.concatenate([img[:, :2], img[:, -2:]], 1).mean(1)  # (size, 3)
    rows = np.arange(size, dtype=np.float32)
    coef = np.linalg.lstsq(np.stack([rows, np.ones_like(rows)], 1), side, rcond=None)[0]  # (2, 3)
    every = np.arange(-pad, size + pad, dtype=np.float32)
    out = np.repeat((np.stack([every, np.ones_like(every)], 1) @ coef)[:, None], size + 2 * pad, 1)
    out[pad : pad + size, pad : pad + size] = img
    out[pad + size :] = out[pad + size - 1]
    return np.ascontiguousarray(out[..., ::-1], np.float32)  # BGR


@lru_cache(maxsize=None)
def _cascade() -> cv2.CascadeClassifier:
    return cv2.CascadeClassifier(cv2.data.haarcascades + "haarcascade_frontalface_default.xml")


def one_face(gray: np.ndarray, eyes: np.ndarray) -> bool:
    """Exactly one Haar face, around both ``eyes`` ((2, 2) pixels), at OpenCV's default
    minNeighbors (3) and at the aligner's (5)."""
    for neighbours in (3, 5):
        boxes = _cascade().detectMultiScale(gray, scaleFactor=1.1, minNeighbors=neighbours)
        if len(boxes) != 1:
            return False
        x, y, w, h = boxes[0]
        if not ((eyes >= (x, y)) & (eyes <= (x + w, y + h))).all():
            return False
    return True


def render_recording(
    face: Face, rec: Recording, seed: int, width: int, height: int, place: tuple[int, int, float],
    preset=DEFAULT_PRESET,
) -> list[bytes] | None:
    """JPEG bytes of frames 1..rec.last with the face at ``place`` = (x0, y0, roll in degrees), or
    None when an onset frame does not show exactly one face (``one_face``). The ``preset`` sets the AU
    amplitudes, the noise and the skin's background motion (``background.skin_bursts``)."""
    preset = get_preset(preset)
    rng = np.random.default_rng([seed, 2, rec.subject, rec.index])  # the same motion wherever the face is
    size = face.image.shape[0]
    fields = [au_field(me.aus, face.points, size, rng, amp_px=preset.amp_px, max_px=preset.max_px,
                       shapes=preset.shapes, amp_scale=preset.amp_scale, amp_sigma=preset.amp_sigma) for me in rec.mes]  # (2, size, size) each
    frames = np.arange(1, rec.last + 1)
    envs = [envelope(frames, me.onset, me.apex, me.offset) for me in rec.mes]
    # a stream of its own, so that the easy preset's bytes are those of format version 1
    for env, field in skin_bursts(np.random.default_rng([seed, 14, rec.subject, rec.index]), len(frames), FPS, size,
                                  preset):
        fields.append(field)
        envs.append(env)
    drift = head_drift(rng, len(frames), size) + rng.uniform(-1.5, 1.5, 2).astype(np.float32) * size / 224
    gain = rng.uniform(0.92, 1.08) * (1 + rng.normal(0, FLICKER_STD, len(frames)))
    pad = 32
    bank = rng.standard_normal((NOISE_BANK, height + pad, width + pad, 3), dtype=np.float32) * np.float32(preset.noise_std)
    crops = rng.integers(0, pad + 1, (len(frames), 2))
    # frame pixel -> face-image pixel (the inverse of: rotate by roll about the centre, shift to x0, y0)
    x0, y0, roll = place
    to_frame = cv2.getRotationMatrix2D((size / 2, size / 2), roll, 1.0)
    to_frame[:, 2] += (x0, y0)
    inv = cv2.invertAffineTransform(to_frame)
    gy, gx = np.mgrid[0:height, 0:width].astype(np.float32)
    u = (inv[0, 0] * gx + inv[0, 1] * gy + inv[0, 2]).astype(np.float32)  # (H, W)
    v = (inv[1, 0] * gx + inv[1, 1] * gy + inv[1, 2]).astype(np.float32)
    margin = int(math.ceil(max(0, -u.min(), -v.min(), u.max() - size, v.max() - size))) + 4
    source = _backdrop(face.image, margin)
    moves = [[cv2.remap(f[i], u, v, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT) for i in (0, 1)] for f in fields]
    eyes = cv2.transform(np.float32([[face.points["eye_l"], face.points["eye_r"]]]), to_frame)[0]
    onsets = {me.onset for me in rec.mes}
    out = []
    for t, n in enumerate(frames):
        # remap samples the source at map(x): content moves by +displacement
        map_x, map_y = u + (margin - drift[t, 0]), v + (margin - drift[t, 1])
        for env, (mx, my) in zip(envs, moves):
            if env[t] > 0:
                map_x, map_y = map_x - env[t] * mx, map_y - env[t] * my
        img = cv2.remap(source, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        cy, cx = crops[t]
        buf = camera_jpeg(img, gain[t], bank[t % NOISE_BANK, cy : cy + height, cx : cx + width],
                          where=f"{rec.folder}/{n}.jpg")
        if n in onsets and not one_face(cv2.imdecode(buf, cv2.IMREAD_GRAYSCALE), eyes):
            return None
        out.append(buf.tobytes())
    return out


def _render_subject(recordings: list[Recording], seed: int, width: int, height: int, root: Path,
                    preset: str = DEFAULT_PRESET) -> int:
    """One worker task: a face that every recording shows detectably, then its frames on disk."""
    cv2.setNumThreads(1)  # one thread per worker; the parallelism is across subjects
    subject = recordings[0].subject
    short = min(width, height)
    for attempt in range(FACES):
        rng = np.random.default_rng([seed, 11, subject, attempt])
        size = int(rng.integers(round(FACE_SCALE[0] * short), round(FACE_SCALE[1] * short) + 1))
        face = camera_shading(render_face(rng, size))
        written = []
        for rec in recordings:
            for _ in range(PLACEMENTS):
                x0 = rng.integers(round(0.05 * size), width - round(1.05 * size) + 1)
                y0 = rng.integers(0, height - round(1.1 * size) + 1)  # room below the chin for a face crop
                place = (int(x0), int(y0), float(rng.uniform(-MAX_ROLL_DEG, MAX_ROLL_DEG)))
                frames = render_recording(face, rec, seed, width, height, place, preset)
                if frames is not None:
                    written.append((rec, frames))
                    break
            else:
                break  # this face failed in every placement: try another face
        if len(written) == len(recordings):
            for rec, frames in written:
                folder = root / rec.folder
                folder.mkdir(parents=True, exist_ok=True)
                for n, data in enumerate(frames, start=1):
                    (folder / f"{n}.jpg").write_bytes(data)
            return sum(len(rec.mes) for rec in recordings)
    raise RuntimeError(f"synthetic subject spNO.{subject}: no face detectable in every recording after {FACES} faces")


def write_label(path: Path, recordings: list[Recording]) -> None:
    """The label table in the real v2 layout; byte-stable (fixed timestamps) for a given input."""
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = SHEETS[0]
    ws.append(HEADER)
    for rec in recordings:
        for me in rec.mes:
            ws.append([f"spNO.{rec.subject}", rec.name, str(me.onset), str(me.apex), str(me.offset), me.aus,
                       OBJECTIVE_CLASS[me.emotion], me.emotion])
    for name in SHEETS[1:]:
        wb.create_sheet(name)
    buf = io.BytesIO()
    wb.save(buf)
    _write_stable_zip(path, buf.getvalue())


def generate_synthetic_casme3(
    out_dir,
    *,
    subjects: int = 8,
    clips_per_subject: int = 6,
    seed: int = 0,
    width: int = 320,
    height: int = 240,
    jobs: int | None = None,
    progress: bool = True,
    overwrite: bool = False,
    preset: str = DEFAULT_PRESET,
) -> Path:
    """Write the dataset under ``out_dir`` and return the label-table path. ``preset``: "real" (calibrated
    motion, the default) or "easy" (the clean generator of format version 1).

    A finished dataset with the same settings is reused as it is. ``jobs=None`` uses every CPU
    core; ``jobs=1`` renders in this process. ``overwrite`` replaces an existing dataset made with
    other settings (otherwise that is an error).
    """
    checks = (("subjects", subjects, 1, 999), ("clips_per_subject", clips_per_subject, 1, 100), ("seed", seed, 0, None),
              ("width", width, 128, 4096), ("height", height, 96, 4096))
    for name, value, low, high in checks:
        if not isinstance(value, int) or value < low or (high is not None and value > high):
            bound = f"between {low} and {high}" if high is not None else f">= {low}"
            raise ValueError(f"{name} must be an integer {bound}, got {value!r}")
    if jobs is not None and (not isinstance(jobs, int) or jobs < 1):
        raise ValueError(f"jobs must be a positive integer or None, got {jobs!r}")
    get_preset(preset)
    out = Path(out_dir)
    root, label, settings_path = out / FRAMES_DIR, out / LABEL_FILE, out / SETTINGS_FILE
    settings = {"layout": "casme3", "subjects": subjects, "clips_per_subject": clips_per_subject, "seed": seed,
                "width": width, "height": height, "fps": FPS, "preset": preset, "format_version": FORMAT_VERSION}
    if reuse_or_clear(out, settings, frames=root, table=label, settings_file=settings_path, overwrite=overwrite):
        return label  # finished earlier with the same settings: reuse

    recordings = plan_recordings(subjects, clips_per_subject, seed)
    by_subject = [[r for r in recordings if r.subject == s] for s in range(1, subjects + 1)]
    task = partial(_render_subject, seed=seed, width=width, height=height, root=root, preset=preset)
    render_subjects(task, by_subject, jobs=jobs, progress=progress, label=f"synth casme3: {subjects} subjects",
                    total=subjects * clips_per_subject)
    write_label(label, recordings)  # written last: its presence marks a finished dataset
    return label
