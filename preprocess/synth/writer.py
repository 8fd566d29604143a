"""Clip plans, frame rendering (remap + nuisances + JPEG) and the CASME II-style coding file."""

from __future__ import annotations

import io
import json
import os
import shutil
import re
import zipfile
from dataclasses import dataclass, replace
from pathlib import Path

import cv2
import numpy as np

from mpt_core.fileio import atomic_write

from .face import Face
from .motion import CASME2_COUNTS, CLASSES, au_field, envelope, head_drift, sample_aus
from .presets import DEFAULT_PRESET, Preset, get_preset

FPS = 200
SPAN = (30, 120)  # onset..offset frame count, inclusive
JPEG_QUALITY = 90
NOISE_STD = 2.0  # sensor noise, grey levels
NOISE_BANK = 5  # noise planes per clip
FLICKER_STD = 0.005  # per-frame illumination gain jitter
# The real 2014 coding file's Sheet1 header (columns C and G are empty).
HEADER = ("Subject", "Filename", None, "OnsetFrame", "ApexFrame", "OffsetFrame", None, "Action Units", "Estimated Emotion")


@dataclass(frozen=True)
class ClipPlan:
    subject: int  # 1-based; folder sub%02d
    index: int  # clip index within the subject, seeds the clip's own RNG
    name: str  # e.g. "EP02_01f"
    label: str
    aus: str  # e.g. "6+12"
    first: int  # first frame number in the folder (> 1, like the real data)
    onset: int
    apex: int
    offset: int
    last: int
    quantiles: tuple = ()  # ((AU, quantile of its amplitude), ...) in a stratified corpus; () draws them

    @property
    def folder(self) -> str:
        return f"sub{self.subject:02d}/{self.name}"


# output folder

def reuse_or_clear(out: Path, settings: dict, *, frames: Path, table: Path, settings_file: Path,
                   overwrite: bool) -> bool:
    """True when ``out`` already holds a finished dataset made with ``settings`` (reuse it). Otherwise
    clear an unfinished or ``overwrite``-able one (a dataset made with other settings is an error
    without ``overwrite``) and record ``settings``; the table, written last, marks it finished."""
    old = json.loads(settings_file.read_text()) if settings_file.is_file() else None
    if old == settings and table.is_file():
        return True
    if old != settings and (frames.exists() or table.exists()):
        if not overwrite:
            raise FileExistsError(f"{out} already holds a dataset made with other settings ({old}); "
                                  "choose another folder or pass overwrite=True (--overwrite)")
        shutil.rmtree(frames, ignore_errors=True)
        table.unlink(missing_ok=True)
    out.mkdir(parents=True, exist_ok=True)
    settings_file.write_text(json.dumps(settings, indent=2) + "\n")
    return False


# helpers


def render_subjects(task, groups: list, *, jobs: int | None, progress: bool, label: str, total: int) -> None:
    """Run ``task`` on each subject's group of plans, in ``jobs`` worker processes (default: every core;
    one: in this process), advancing a progress bar by what each task returns. Every task writes only its
    own subject's files, so the bytes do not depend on the order the workers finish in."""
    n_jobs = min(jobs or os.cpu_count() or 1, len(groups))
    if n_jobs == 1:
        results = map(task, groups)
    else:
        from joblib import Parallel, delayed

        results = Parallel(n_jobs=n_jobs, return_as="generator_unordered")(delayed(task)(g) for g in groups)
    from rich.progress import Progress

    with Progress(disable=not progress) as bar:
        job = bar.add_task(label, total=total)
        for done in results:
            bar.advance(job, done)


def camera_jpeg(img: np.ndarray, gain: float, noise: np.ndarray, *, where: str) -> np.ndarray:
    """What the camera adds to a rendered float frame (in place): the frame's flicker gain, sensor
    noise, 8-bit rounding and JPEG compression; returns the encoded bytes (a uint8 array)."""
    img *= np.float32(gain)
    img += noise
    img = np.clip(img + 0.5, 0, 255).astype(np.uint8)
    ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    if not ok:
        raise RuntimeError(f"JPEG encoding failed for {where}")
    return buf


def quota(n: int, counts=CASME2_COUNTS) -> list[int]:
    """Split ``n`` clips over the classes in CASME II's proportions (largest remainder)."""
    total = sum(counts)
    exact = [n * c / total for c in counts]
    out = [int(e) for e in exact]
    for i in sorted(range(len(counts)), key=lambda i: (out[i] - exact[i], i))[: n - sum(out)]:
        out[i] += 1
    return out


def plan_clips(subjects: int, clips_per_subject: int, seed: int, preset=DEFAULT_PRESET) -> list[ClipPlan]:
    """Labels follow the CASME II imbalance, shuffled from the seed; names and timing per subject; the
    AUs of each label come from the ``preset``'s choices: drawn clip by clip, or, for a stratified
    preset, spread over the label's clips in the choices' proportions (``stratify``)."""
    preset = get_preset(preset)
    class_aus = preset.class_aus
    n = subjects * clips_per_subject
    labels = np.repeat(np.arange(len(CLASSES)), quota(n))
    np.random.default_rng([seed, 0]).shuffle(labels)
    combos = _stratified_combos(labels, class_aus, np.random.default_rng([seed, 5])) if preset.stratify else None
    plans = []
    for s in range(1, subjects + 1):
        rng = np.random.default_rng([seed, 3, s])
        names: set[str] = set()
        for i in range(clips_per_subject):
            name = None
            while name is None or name in names:
                name = f"EP{rng.integers(1, 20):02d}_{rng.integers(1, 20):02d}" + ("f" if rng.random() < 0.4 else "")
            names.add(name)
            label = CLASSES[labels[(s - 1) * clips_per_subject + i]]
            span = int(rng.integers(SPAN[0], SPAN[1] + 1))
            first = int(rng.integers(2, 300))
            onset = first + int(rng.integers(0, 5))
            offset = onset + span - 1
            apex = onset + max(1, round(rng.uniform(0.25, 0.6) * (span - 1)))
            k = (s - 1) * clips_per_subject + i
            aus = sample_aus(rng, label, class_aus) if combos is None else combos[k]
            plans.append(ClipPlan(s, i, name, label, aus, first, onset, apex, offset, offset + int(rng.integers(0, 4))))
    return _stratified_amplitudes(plans, np.random.default_rng([seed, 6])) if preset.stratify else plans


def _systematic(weights, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` choices in the ``weights``' proportions by systematic sampling: each choice gets the floor or
    the ceiling of its expected count (unbiased), in a random order."""
    edges = np.cumsum(np.asarray(weights, np.float64))
    points = (np.arange(n) + rng.random()) / n * edges[-1]
    picks = np.minimum(np.searchsorted(edges, points, side="right"), len(edges) - 1)
    rng.shuffle(picks)
    return picks


def _stratified_combos(labels: np.ndarray, class_aus: dict, rng: np.random.Generator) -> list[str]:
    """Per clip (in corpus order), its AU combination: each label's clips split over its choices."""
    out = [""] * len(labels)
    for c, label in enumerate(CLASSES):
        where = np.flatnonzero(labels == c)
        choices, weights = zip(*class_aus[label])
        for k, pick in zip(where, _systematic(weights, len(where), rng)):
            out[k] = choices[pick]
    return out


def _stratified_amplitudes(plans: list[ClipPlan], rng: np.random.Generator) -> list[ClipPlan]:
    """Latin-hypercube amplitudes: the m clips with an AU get one quantile from each m-th of (0, 1), in a
    random order, so a corpus holds the amplitude distribution's full spread, not a chance part of it."""
    quantiles: list[dict] = [{} for _ in plans]
    aus = sorted({au for p in plans for au in p.aus.split("+")}, key=lambda a: (len(a), a))
    for au in aus:
        where = [k for k, p in enumerate(plans) if au in p.aus.split("+")]
        u = (rng.permutation(len(where)) + rng.random(len(where))) / len(where)
        for k, q in zip(where, u):
            quantiles[k][au] = float(q)
    return [replace(p, quantiles=tuple(q.items())) for p, q in zip(plans, quantiles)]


def render_clip(face: Face, plan: ClipPlan, seed: int, root: Path, preset=DEFAULT_PRESET) -> None:
    """Write reg_img{first..last}.jpg: the face warped by drift + AU motion (+ the preset's background
    motion), flicker, noise, JPEG."""
    preset = get_preset(preset)
    rng = np.random.default_rng([seed, 2, plan.subject, plan.index])
    size = face.image.shape[0]
    field = au_field(plan.aus, face.points, size, rng, amp_px=preset.amp_px, max_px=preset.max_px,
                     shapes=preset.shapes, amp_scale=preset.amp_scale, amp_sigma=preset.amp_sigma,
                     quantiles=dict(plan.quantiles) or None)
    frames = np.arange(plan.first, plan.last + 1)
    env = envelope(frames, plan.onset, plan.apex, plan.offset)
    drift = head_drift(rng, len(frames), size) + rng.uniform(-1.5, 1.5, 2).astype(np.float32) * size / 224
    gain = rng.uniform(0.92, 1.08) * (1 + rng.normal(0, FLICKER_STD, len(frames)))
    gy, gx = np.mgrid[0:size, 0:size].astype(np.float32)
    # Sensor noise: random crops of a small per-clip bank (drawing fresh normals per frame
    # would cost more than everything else in the frame loop together).
    pad = 32
    bank = rng.standard_normal((NOISE_BANK, size + pad, size + pad, 3), dtype=np.float32) * np.float32(preset.noise_std)
    crops = rng.integers(0, pad + 1, (len(frames), 2))
    background = _background(face, plan, seed, preset, frames)  # (n,) envelope, (2, H, W) field, or None
    bgr = np.ascontiguousarray(face.image[..., ::-1])
    folder = root / plan.folder
    folder.mkdir(parents=True, exist_ok=True)
    for t, n in enumerate(frames):
        # remap samples the source at map(x): content moves by +displacement
        map_x = gx - (env[t] * field[0] + drift[t, 0])
        map_y = gy - (env[t] * field[1] + drift[t, 1])
        if background is not None:
            move = background(t)
            map_x -= move[0]
            map_y -= move[1]
        img = cv2.remap(bgr, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        cy, cx = crops[t]
        buf = camera_jpeg(img, gain[t], bank[t % NOISE_BANK, cy : cy + size, cx : cx + size],
                          where=f"{folder}/reg_img{n}.jpg")
        (folder / f"reg_img{n}.jpg").write_bytes(buf.tobytes())


def _background(face: Face, plan: ClipPlan, seed: int, preset: Preset, frames: np.ndarray):
    """The preset's background motion as a function of the frame index (None for a still face): skin,
    faint other AUs and out-of-plane rotation on their own time course, and a steady head translation.
    Drawn from a stream of its own, so the easy preset's bytes are those of the old generator."""
    if preset.skin_px <= 0 and preset.other_rate <= 0 and preset.head_speed_px <= 0 and preset.rotate_deg <= 0:
        return None
    from .background import head_velocity, other_aus, relief_field, skin_field

    rng = np.random.default_rng([seed, 4, plan.subject, plan.index])
    size = face.image.shape[0]
    span = plan.last - plan.first
    peak = plan.first + rng.uniform(0.2, 0.8) * span  # the skin's own time course: up, then back
    skin_env = envelope(frames, plan.first, int(round(peak)), plan.last)
    slow = skin_field(rng, size, preset.skin_px, preset.skin_sigma)
    extra = other_aus(rng, plan.aus, preset.other_rate)
    if extra:
        slow += au_field("+".join(extra), face.points, size, rng, amp_px=("uniform", *preset.other_px),
                         max_px=preset.other_px[1], shapes=preset.shapes)
    # out-of-plane rotation and translation at a steady rate, 0 at the onset
    rate = preset.rotate_deg * np.exp(0.5 * rng.standard_normal(2)) * rng.choice([-1, 1], 2)
    per_frame = rate / max(plan.apex - plan.onset, 1)
    relief = relief_field(face.points, size, 1.0, 0.0), relief_field(face.points, size, 0.0, 1.0)
    velocity = head_velocity(rng, preset.head_speed_px, size)

    def move(t: int) -> np.ndarray:
        dt = float(frames[t] - plan.onset)
        out = skin_env[t] * slow + np.float32(per_frame[0] * dt) * relief[0] + np.float32(per_frame[1] * dt) * relief[1]
        out[0] += velocity[0] * dt
        out[1] += velocity[1] * dt
        return out

    return move


def write_coding(path: Path, plans: list[ClipPlan]) -> None:
    """The coding file in the real 2014 layout; byte-stable (fixed timestamps) for a given input."""
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "Sheet1"
    ws.append(HEADER)
    for p in plans:
        au = int(p.aus) if p.aus.isdigit() else p.aus  # the real file stores single AUs as numbers
        ws.append([f"{p.subject:02d}", p.name, None, p.onset, p.apex, p.offset, None, au, p.label])
        ws.cell(ws.max_row, 1).number_format = "@"  # Subject is text ('01') in the real file
    wb.create_sheet("Sheet2")
    wb.create_sheet("Sheet3")
    buf = io.BytesIO()
    wb.save(buf)
    _write_stable_zip(path, buf.getvalue())


def _write_stable_zip(path: Path, data: bytes) -> None:
    """Re-zip with fixed member dates and document timestamps so equal content gives equal bytes."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            body = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                body = re.sub(rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", b"2014-05-08T00:00:00Z", body)
            dst.writestr(zipfile.ZipInfo(info.filename, date_time=(2014, 5, 8, 0, 0, 0)), body, zipfile.ZIP_DEFLATED)
    atomic_write(path, lambda tmp: tmp.write_bytes(out.getvalue()))
