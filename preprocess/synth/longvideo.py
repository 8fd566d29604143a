"""Synthetic long videos in the CAS(ME)^2 or SAMM Long Videos layout, for spotting.

``generate_long_videos(OUT, layout="cas2")`` writes ``OUT/rawpic/s15/15_0101synthetic/img{1..N}.jpg``
(30 fps, colour) and ``OUT/CASME_sq_gt_synth.xlsx``; ``layout="samm-lv"`` writes
``OUT/SAMM_longvideos/006_1/006_1_{0001..N}.jpg`` (200 fps, greyscale), ``OUT/SAMMLV_gt_synth.xlsx``
and the micro-expressions' emotions in ``OUT/SAMM_Micro_FACS_Codes_synth.xlsx``. The tables have
the real formats (``longvideo_tables``), so ``read_long_videos(layout, OUT)`` reads them unchanged.

Each subject is one procedural face (``face.render_face``, lit by ``casme3.camera_shading``) in a
larger frame. Each video, ``seconds`` long on average (0.5-1.5 x), holds at random, non-overlapping
times (at least ``GAP_S`` apart):
- macro-expressions (0.5-3 s, about one per 12 s): AU fields of ``motion.AUS`` at ``MACRO_GAIN``
  times the micro amplitude, rising, holding, then falling;
- micro-expressions (0.2-0.5 s, about one per 10 s): the small AU motion of today's generator
  (``motion.au_field``), the class carried by the AUs (CAS(ME)^2 objective classes or SAMM emotions
  in the real tables' proportions);
- blinks (AU45 closing the upper lids, 0.1-0.3 s, every 2-6 s), which MEGC does not annotate;
- occasional head turns (3-8 degrees of roll and a shift over 0.5-1.5 s, kept afterwards),
on top of a slow head drift, flicker, sensor noise and JPEG. With the calibrated ``preset="real"`` (the
default) the AU amplitudes spread as real ones do (``presets``), and the face's skin moves all the time
(``background.skin_bursts``: 0.3-1.5 s, about one per second, at the real level), so a spotter sees a
face that is never still; ``preset="easy"`` is the clean generator of format version 1. Every event
(blinks and turns too) is listed in ``OUT/synth-events.json`` for evaluation. The same arguments give the same bytes.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path

import cv2
import numpy as np

from .longvideo_tables import (CAS2_VIDEOS, TableRow, cas2_names, samm_names, write_cas2_table,
                               write_sammlv_tables)
from .background import skin_bursts
from .motion import au_field
from .presets import DEFAULT_PRESET, FORMAT_VERSION, get_preset
from .writer import FLICKER_STD, JPEG_QUALITY, NOISE_BANK, render_subjects, reuse_or_clear

LAYOUTS = {"cas2": 30, "samm-lv": 200}  # layout -> fps
TABLES = {"cas2": "CASME_sq_gt_synth.xlsx", "samm-lv": "SAMMLV_gt_synth.xlsx"}
SAMM_CODES = "SAMM_Micro_FACS_Codes_synth.xlsx"
EVENTS_FILE = "synth-events.json"
SETTINGS_FILE = "synth-settings.json"
MICRO_S, MACRO_S, BLINK_S, TURN_S = (0.2, 0.5), (0.5, 3.0), (0.1, 0.3), (0.5, 1.5)
MICRO_EVERY_S, MACRO_EVERY_S, BLINK_EVERY_S, TURN_EVERY_S = 10.0, 12.0, (2.0, 6.0), 40.0
GAP_S = 0.6  # least time between two events
PLACE_TRIES = 20  # draws of the events' lengths before one event is dropped
MACRO_GAIN = (3.0, 5.0)  # macro amplitude, times the micro fields'
BLINK_PX = 7.0  # upper-lid travel of a full blink, pixels at 224
FACE_SCALE = (0.45, 0.6)  # face image side, as a fraction of the frame's shorter side
MAX_SUBJECTS = {"cas2": 85, "samm-lv": 99}  # folders s15..s99, subjects 006..104

# micro-expression classes: (table class, emotion, weight, AU choices)
CAS2_MICRO = [("negative", "disgust", 21, ("4+9", "4+10", "4+7", "9+10", "4")), ("others", "others", 19,
              ("14", "17", "24", "15+17")), ("surprise", "surprise", 9, ("1+2", "1", "2")),
              ("positive", "happiness", 8, ("6+12", "12"))]
SAMM_MICRO = [("", "Anger", 57, ("4+7", "4", "4+24")), ("", "Other", 26, ("17", "24", "15")),
              ("", "Happiness", 26, ("6+12", "12")), ("", "Surprise", 15, ("1+2", "1", "2")),
              ("", "Contempt", 12, ("14",)), ("", "Disgust", 9, ("9", "9+10")), ("", "Fear", 8, ("1+4",)),
              ("", "Sadness", 6, ("15", "1+4+15"))]
MACRO_AUS = ("6+12", "1+2", "4+7", "9+10", "12", "15+17", "4+9", "1+2+12")
MACRO_CLASS = {"6+12": "positive", "12": "positive", "1+2+12": "positive", "1+2": "surprise"}  # else negative


@dataclass(frozen=True)
class Event:
    kind: str  # "micro" | "macro" | "blink" | "turn"
    onset: int  # frame numbers from 1
    apex: int
    offset: int
    aus: str = ""
    emotion: str = ""
    objective: str = ""
    gain: float = 1.0  # macro: times the micro amplitude; turn: roll in degrees


@dataclass(frozen=True)
class VideoPlan:
    subject: int  # 1-based
    video: int  # 1-based
    frames: int
    events: tuple[Event, ...]


# planning


def _place(rng: np.random.Generator, lengths: list[int], total: int, gap: int) -> list[int] | None:
    """Onsets (from 1) of events of ``lengths`` in a random order, non-overlapping, at least ``gap``
    frames apart and from the ends; None when they do not fit."""
    free = total - sum(lengths) - gap * (len(lengths) + 1)
    if free < 0:
        return None
    order = rng.permutation(len(lengths))
    cuts = np.sort(rng.integers(0, free + 1, len(lengths)))
    onsets, start, prev = [0] * len(lengths), 1 + gap, 0
    for slot, i in enumerate(order):
        start += int(cuts[slot] - prev)
        prev = int(cuts[slot])
        onsets[i] = start
        start += lengths[i] + gap
    return onsets


def plan_videos(layout: str, subjects: int, videos_per_subject: int, seconds: float, seed: int) -> list[VideoPlan]:
    fps = LAYOUTS[layout]
    classes = CAS2_MICRO if layout == "cas2" else SAMM_MICRO
    weights = np.array([c[2] for c in classes], np.float64)
    plans = []
    for s in range(1, subjects + 1):
        for v in range(1, videos_per_subject + 1):
            rng = np.random.default_rng([seed, 21, s, v])
            n = max(int(round(rng.uniform(0.5, 1.5) * seconds * fps)), int(3 * fps))
            dur = n / fps
            kinds = (["macro"] * max(1, int(rng.poisson(dur / MACRO_EVERY_S)))
                     + ["micro"] * max(1, int(rng.poisson(dur / MICRO_EVERY_S)))
                     + ["turn"] * int(rng.poisson(dur / TURN_EVERY_S))
                     + ["blink"] * max(1, int(round(dur / rng.uniform(*BLINK_EVERY_S)))))
            room = dur - MICRO_S[0] - 3 * GAP_S  # what one macro-expression may take in a short video
            spans = {"micro": MICRO_S, "macro": (MACRO_S[0], min(MACRO_S[1], max(MACRO_S[0], room))),
                     "blink": BLINK_S, "turn": TURN_S}
            while True:  # drop blinks, then turns, then expressions until everything fits
                for _ in range(PLACE_TRIES):
                    lengths = [max(3, int(round(rng.uniform(*spans[k]) * fps))) for k in kinds]
                    onsets = _place(rng, lengths, n, int(GAP_S * fps))
                    if onsets is not None:
                        break
                if onsets is not None:
                    break
                least = {"blink": 0, "turn": 0, "macro": 1, "micro": 1}
                drop = next((k for k in ("blink", "turn", "macro", "micro") if kinds.count(k) > least[k]), None)
                if drop is None:
                    raise ValueError(f"a video of {dur:.1f} s cannot hold one macro- and one micro-expression: "
                                     "use longer --seconds")
                kinds.remove(drop)
            events = []
            for kind, onset, length in zip(kinds, onsets, lengths):
                offset = onset + length - 1
                apex = onset + max(1, int(round(rng.uniform(0.3, 0.6) * (length - 1))))
                if kind == "micro":
                    objective, emotion, _, aus = classes[rng.choice(len(classes), p=weights / weights.sum())]
                    events.append(Event(kind, onset, apex, offset, str(rng.choice(aus)), emotion, objective))
                elif kind == "macro":
                    aus = str(rng.choice(MACRO_AUS))
                    events.append(Event(kind, onset, apex, offset, aus, "", MACRO_CLASS.get(aus, "negative"),
                                        float(rng.uniform(*MACRO_GAIN))))
                elif kind == "blink":
                    events.append(Event(kind, onset, onset + (length - 1) // 2, offset, "45"))
                else:
                    events.append(Event(kind, onset, offset, offset, "", gain=float(rng.choice([-1, 1])
                                                                                   * rng.uniform(3, 8))))
            plans.append(VideoPlan(s, v, n, tuple(sorted(events, key=lambda e: e.onset))))
    return plans


# rendering


def intensity(frames: np.ndarray, e: Event) -> np.ndarray:
    """0 outside the event, 1 at the apex. Micro: raised cosine up to the apex and down to the offset;
    macro: up in the first 30 % of its span, held, down in the last 30 %; blink: closing then opening;
    turn: a smooth ramp from 0 to 1 that stays at 1 (the head keeps its new pose)."""
    f = np.asarray(frames, np.float64)
    if e.kind == "turn":
        ramp = np.clip((f - e.onset) / max(e.offset - e.onset, 1), 0, 1)
        return (0.5 * (1 - np.cos(np.pi * ramp))).astype(np.float32)
    if e.kind == "macro":
        span = e.offset - e.onset
        up, down = e.onset + 0.3 * span, e.offset - 0.3 * span
        rise = 0.5 * (1 - np.cos(np.pi * np.clip((f - e.onset) / max(up - e.onset, 1), 0, 1)))
        fall = 0.5 * (1 + np.cos(np.pi * np.clip((f - down) / max(e.offset - down, 1), 0, 1)))
        return np.where(f <= down, rise, fall).astype(np.float32)
    rise = 0.5 * (1 - np.cos(np.pi * np.clip((f - e.onset) / max(e.apex - e.onset, 1), 0, 1)))
    fall = 0.5 * (1 + np.cos(np.pi * np.clip((f - e.apex) / max(e.offset - e.apex, 1), 0, 1)))
    return np.where(f <= e.apex, rise, fall).astype(np.float32)


def _blink_field(points: dict, size: int) -> np.ndarray:
    """Both upper lids closing: AU45's blobs, scaled so the largest travel is ``BLINK_PX`` at 224."""
    field = au_field("45", points, size, np.random.default_rng(0))
    return field * np.float32(BLINK_PX * size / 224 / max(float(np.hypot(*field).max()), 1e-6))


def _pose(rng: np.random.Generator, n: int, size: int, turns: list[tuple[np.ndarray, float]]) -> np.ndarray:
    """(n, 3): roll in degrees, x and y shift in pixels. A slow drift (a smoothed random walk, a few
    pixels over tens of seconds) plus each turn's roll and shift, scaled by its intensity."""
    walk = np.cumsum(rng.normal(0, 1, (n, 3)), 0)
    k = max(3, n // 20) | 1
    smooth = np.stack([np.convolve(np.pad(walk[:, i], k // 2, mode="edge"), np.ones(k) / k, "valid")
                       for i in range(3)], 1)
    smooth -= smooth.mean(0)
    smooth /= max(float(np.abs(smooth).max()), 1e-6)
    pose = smooth * np.array([1.0, 0.03 * size, 0.03 * size])  # up to 1 degree and 3 % of the face
    for env, roll in turns:
        pose += env[:, None] * np.array([roll, 0.015 * size * roll, 0.005 * size * abs(roll)])
    return pose


def render_video(face, plan: VideoPlan, seed: int, width: int, height: int, grey: bool, preset=DEFAULT_PRESET):
    """Yield (frame number, JPEG bytes) for frames 1..plan.frames."""
    from .casme3 import _backdrop

    preset = get_preset(preset)
    rng = np.random.default_rng([seed, 22, plan.subject, plan.video])
    size = face.image.shape[0]
    frames = np.arange(1, plan.frames + 1)
    pad = int(max(width, height))
    source = _backdrop(face.image, pad)  # BGR float32, (size + 2 pad)^2
    fields = []
    for e in plan.events:
        if e.kind in ("micro", "macro"):
            fields.append((intensity(frames, e), au_field(e.aus, face.points, size, rng, amp_px=preset.amp_px,
                                                          max_px=preset.max_px, shapes=preset.shapes,
                                                          amp_scale=preset.amp_scale, amp_sigma=preset.amp_sigma) * np.float32(e.gain)))
    blink = _blink_field(face.points, size)
    fields += [(intensity(frames, e), blink) for e in plan.events if e.kind == "blink"]
    turns = [(intensity(frames, e), e.gain) for e in plan.events if e.kind == "turn"]
    pose = _pose(rng, len(frames), size, turns)
    short = min(width, height)
    x0 = (width - size) / 2 + rng.uniform(-0.08, 0.08) * short
    y0 = (height - size) / 2 + rng.uniform(-0.05, 0.05) * short
    gain = rng.uniform(0.92, 1.08) * (1 + rng.normal(0, FLICKER_STD, len(frames)))
    noise_pad = 32
    bank = (rng.standard_normal((NOISE_BANK, height + noise_pad, width + noise_pad, 3), dtype=np.float32)
            * np.float32(preset.noise_std))
    crops = rng.integers(0, noise_pad + 1, (len(frames), 2))
    # drawn from a stream of its own, so that the easy preset's bytes are those of format version 1
    fields += skin_bursts(np.random.default_rng([seed, 23, plan.subject, plan.video]), len(frames),
                          LAYOUTS["samm-lv" if grey else "cas2"], size, preset)
    gy, gx = np.mgrid[0:size, 0:size].astype(np.float32)
    face_box = (slice(pad, pad + size), slice(pad, pad + size))
    base = source[face_box].copy()
    for t, n in enumerate(frames):
        active = [(env[t], f) for env, f in fields if env[t] > 0]
        if active:
            d = sum(a * f for a, f in active)  # (2, size, size) content displacement
            # remap samples the source at map(x): content moves by +displacement
            source[face_box] = cv2.remap(source, gx + pad - d[0], gy + pad - d[1], cv2.INTER_LINEAR,
                                         borderMode=cv2.BORDER_REPLICATE)
        roll, dx, dy = pose[t]
        m = cv2.getRotationMatrix2D((pad + size / 2, pad + size / 2), float(roll), 1.0)
        m[:, 2] += (x0 - pad + dx, y0 - pad + dy)
        img = cv2.warpAffine(source, m, (width, height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        if active:
            source[face_box] = base
        img *= np.float32(gain[t])
        cy, cx = crops[t]
        img += bank[t % NOISE_BANK, cy : cy + height, cx : cx + width]
        img = np.clip(img + 0.5, 0, 255).astype(np.uint8)
        if grey:
            img = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)
        ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
        if not ok:
            raise RuntimeError(f"JPEG encoding failed for frame {n} of video {plan.subject}/{plan.video}")
        yield int(n), buf.tobytes()


def _frame_folder(root: Path, layout: str, plan: VideoPlan) -> tuple[Path, str]:
    """(folder, file-name format with {n})."""
    if layout == "cas2":
        subject, video, _ = cas2_names(plan.subject, plan.video)
        return root / "rawpic" / subject / f"{video}synthetic", "img{n}.jpg"
    _, video = samm_names(plan.subject, plan.video)
    return root / "SAMM_longvideos" / video, video + "_{n:04d}.jpg"


def _render_subject(plans: list[VideoPlan], layout: str, seed: int, width: int, height: int, root: Path,
                    preset: str = DEFAULT_PRESET) -> int:
    from .casme3 import camera_shading
    from .face import render_face

    cv2.setNumThreads(1)  # one thread per worker; the parallelism is across subjects
    rng = np.random.default_rng([seed, 20, plans[0].subject])
    short = min(width, height)
    size = int(rng.integers(round(FACE_SCALE[0] * short), round(FACE_SCALE[1] * short) + 1))
    face = camera_shading(render_face(rng, size))
    for plan in plans:
        folder, name = _frame_folder(root, layout, plan)
        folder.mkdir(parents=True, exist_ok=True)
        for n, data in render_video(face, plan, seed, width, height, grey=layout == "samm-lv", preset=preset):
            (folder / name.format(n=n)).write_bytes(data)
    return len(plans)


def table_rows(plans: list[VideoPlan]) -> list[TableRow]:
    rows = []
    for p in plans:
        expressions = [e for e in p.events if e.kind in ("micro", "macro")]
        for k, e in enumerate(expressions, start=1):
            emotion = e.emotion or {"positive": "happiness", "surprise": "surprise"}.get(e.objective, "disgust")
            rows.append(TableRow(p.subject, p.video, k, e.onset, e.apex, e.offset, e.kind, e.aus, emotion, e.objective))
    return rows


def generate_long_videos(
    out_dir,
    *,
    layout: str = "cas2",
    subjects: int = 4,
    videos_per_subject: int = 2,
    seconds: float = 40.0,
    seed: int = 0,
    width: int = 320,
    height: int = 240,
    jobs: int | None = None,
    progress: bool = True,
    overwrite: bool = False,
    preset: str = DEFAULT_PRESET,
) -> Path:
    """Write the videos under ``out_dir`` and return the annotation-table path (reused when finished
    with the same settings; ``overwrite`` replaces a dataset made with other settings). ``preset``: "real"
    (calibrated motion, the default) or "easy" (the clean generator of format version 1)."""
    get_preset(preset)
    if layout not in LAYOUTS:
        raise ValueError(f"layout {layout!r}: choose one of {', '.join(LAYOUTS)}")
    most_videos = len(CAS2_VIDEOS) if layout == "cas2" else 9
    checks = (("subjects", subjects, 1, MAX_SUBJECTS[layout]),
              ("videos_per_subject", videos_per_subject, 1, most_videos),
              ("seed", seed, 0, None), ("width", width, 128, 4096), ("height", height, 96, 4096))
    for name, value, low, high in checks:
        if not isinstance(value, int) or value < low or (high is not None and value > high):
            bound = f"between {low} and {high}" if high is not None else f">= {low}"
            raise ValueError(f"{name} must be an integer {bound}, got {value!r}")
    if not (isinstance(seconds, (int, float)) and 2 <= seconds <= 600):
        raise ValueError(f"seconds must be between 2 and 600, got {seconds!r}")
    if jobs is not None and (not isinstance(jobs, int) or jobs < 1):
        raise ValueError(f"jobs must be a positive integer or None, got {jobs!r}")
    out = Path(out_dir)
    frames_dir = out / ("rawpic" if layout == "cas2" else "SAMM_longvideos")
    table = out / TABLES[layout]
    settings = {"layout": layout, "subjects": subjects, "videos_per_subject": videos_per_subject,
                "seconds": float(seconds), "seed": seed, "width": width, "height": height, "fps": LAYOUTS[layout],
                "preset": preset, "format_version": FORMAT_VERSION}
    if reuse_or_clear(out, settings, frames=frames_dir, table=table, settings_file=out / SETTINGS_FILE,
                      overwrite=overwrite):
        return table
    plans = plan_videos(layout, subjects, videos_per_subject, float(seconds), seed)
    by_subject = [[p for p in plans if p.subject == s] for s in range(1, subjects + 1)]
    task = partial(_render_subject, layout=layout, seed=seed, width=width, height=height, root=out, preset=preset)
    render_subjects(task, by_subject, jobs=jobs, progress=progress,
                    label=f"synth {layout}: {subjects} subjects x {videos_per_subject} videos", total=len(plans))
    events = [{"subject": (cas2_names if layout == "cas2" else samm_names)(p.subject, p.video)[0],
               "video": (cas2_names if layout == "cas2" else samm_names)(p.subject, p.video)[1],
               "frames": p.frames, "fps": LAYOUTS[layout], "events": [asdict(e) for e in p.events]} for p in plans]
    (out / EVENTS_FILE).write_text(json.dumps(events, indent=1) + "\n")
    rows = table_rows(plans)
    if layout == "cas2":
        write_cas2_table(table, rows)  # written last: its presence marks a finished dataset
    else:
        write_sammlv_tables(table, out / SAMM_CODES, rows)
    return table

