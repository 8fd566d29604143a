"""SAMM Long Videos: ``SAMMLV_gt.xlsx`` plus frames ``SAMM_longvideos/006_1/006_1_0001.jpg`` at 200 fps.

The table (sheet ``FACS_Movement_Only``) has notes above its header (spreadsheet row 10), found by
its column names: Subject, Filename (``006_1_2``: video ``006_1``, expression 2), Onset, Apex,
Offset, Type (``Macro`` or ``Micro - 1/2``), Action Units. It has no emotions: a micro-expression's
estimated emotion and objective class come from ``SAMM_Micro_FACS_Codes_v2.xlsx`` (the SAMM
reader's table, looked up beside the long-video table or in the root) by ``Filename``. That table
numbers frames differently for some videos (``006_1``: 2000 more); a micro-expression matches when
its onset-to-apex and onset-to-offset spans agree, and each video's shift is reported once.

Conventions, each applied visibly (``LongVideoIndex.changed`` names the row):
- fractional frame numbers (566.4) are rounded to the nearest frame, halves up (one line lists the rows);
- apex -1 means "not annotated" (the table's own note): kept as unknown, not a change;
- onset 0 (frame 0 does not exist: files start at 0001) is read as frame 1 and flagged; an onset at
  the first frame with the apex more than 4 s later (the longest macro-expression the spotter
  expects) is flagged too: the expression probably began before the recording. Both are kept,
  since the MEGC evaluation scores against them.
Rows that cannot be right otherwise (malformed cells, onset after offset, apex outside
onset..offset, unknown type) are skipped and named.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Sequence

from ..records import DatasetError, DatasetIndex
from .common import as_text, find_one, frame_pattern, resolve_preset
from .longvideo import Interval, LongVideoBuilder, LongVideoIndex, micro_clips
from .samm import read_samm_coding
from .tables import column_key, read_xlsx

FPS = 200.0
TABLE_GLOB = "SAMMLV*.xlsx"
CODING_GLOB = "SAMM_Micro_FACS_Codes*.xlsx"
COLUMNS = ("Subject", "Filename", "Onset", "Apex", "Offset", "Type")
EMOTIONS = ("anger", "contempt", "happiness", "surprise", "other", "disgust", "fear", "sadness")
FLAG_APEX_AFTER_START_S = 4.0
VIDEO_DIR = re.compile(r"\d{3}_\d+")


def frames_root(root: Path) -> Path:
    """The folder holding the ``006_1`` video folders: ``root/SAMM_longvideos`` or ``root``."""
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f"{root}: SAMM Long Videos root folder not found")
    if (root / "SAMM_longvideos").is_dir():
        return root / "SAMM_longvideos"
    if any(p.is_dir() and VIDEO_DIR.fullmatch(p.name) for p in root.iterdir()):
        return root
    raise DatasetError(f"{root}: no SAMM Long Videos frames found: expected SAMM_longvideos/006_1/006_1_0001.jpg")


def frame_number(value: object) -> tuple[int, bool] | None:
    """(the nearest frame, halves up; whether it was fractional), or None for a non-number."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return None
    try:
        x = float(value)
    except ValueError:
        return None
    if not math.isfinite(x):
        return None
    n = math.floor(x + 0.5)
    return n, abs(x - n) > 1e-6


def read_micro_codes(path: Path | None, warn) -> dict[str, object]:
    """{Filename: Entry} of SAMM_Micro_FACS_Codes (empty without the file)."""
    if path is None:
        return {}
    return {e.clip: e for e in read_samm_coding(path, lambda clip, why, row: warn(f"{path}, row {row}: {clip}: {why}"))}


def read_samm_lv_videos(root: Path | None, annotations: Path | None = None, *, strict: bool = False,
                        micro_codes: Path | None = None) -> LongVideoIndex:
    """The videos and their intervals; ``root`` None reads the table alone (no frames looked up)."""
    if root is None and annotations is None:
        raise DatasetError("samm-lv: without a root, pass the annotation table")
    folder = frames_root(Path(root)) if root is not None else None
    table = Path(annotations) if annotations is not None else find_one(
        "samm-lv", [Path(root), Path(root).parent, folder], TABLE_GLOB, "SAMM Long Videos table")
    if micro_codes is None:
        near = [table.parent] + ([Path(root), Path(root).parent] if root is not None else [])
        hits = [p for d in near if d.is_dir() for p in sorted(d.glob(CODING_GLOB))]
        micro_codes = hits[0] if hits else None
    out = LongVideoBuilder("samm-lv", table, strict)
    codes = read_micro_codes(micro_codes, out.warn)
    if micro_codes is None:
        out.warn(f"no {CODING_GLOB} beside {table}{f' or in {root}' if root else ''}: micro-expressions have no "
                 "emotion")
    key = {c: column_key(c) for c in COLUMNS + ("Action Units",)}
    rounded, shifts = [], {}
    for row, cells in read_xlsx(table, COLUMNS, ("Action Units",)):
        subject, name = as_text(cells[key["Subject"]]), as_text(cells[key["Filename"]])
        frames = {c: frame_number(cells[key[c]]) for c in ("Onset", "Apex", "Offset")}
        kind = as_text(cells[key["Type"]]).lower()
        kind = "macro" if kind == "macro" else "micro" if kind.startswith("micro") else None
        video = name.rsplit("_", 1)[0] if re.fullmatch(r"\d{3}_\d+_\d+", name) else None
        bad = [c for c, v in frames.items() if v is None] + [w for w, ok in (
            ("Subject", subject.isdigit()), ("Filename", video is not None and video.startswith(subject + "_")),
            ("Type", kind is not None)) if not ok]
        if bad:
            out.skip(name or "?", f"malformed row: bad {', '.join(bad)} "
                     f"({', '.join(f'{c} {cells[key[c]]!r}' for c in COLUMNS)})", row)
            continue
        (onset, f1), (apex, f2), (offset, f3) = frames.values()
        if f1 or f2 or f3:
            rounded.append(row)
        if apex != -1 and not onset <= apex <= offset:
            out.skip(name, f"apex {apex} outside onset {onset}..offset {offset}", row)
            continue
        if onset == 0:
            out.change(name, f"onset 0: frame 0 does not exist (files start at 0001); read as frame 1"
                       f"{'' if apex == -1 else f', apex {apex} later'}", row)
            onset = 1
        elif onset == 1 and apex != -1 and apex - onset > FLAG_APEX_AFTER_START_S * FPS:
            out.change(name, f"onset 1 (the recording's first frame) with apex {apex}, "
                       f"{(apex - onset) / FPS:.1f} s later: the expression probably began before the recording; "
                       "kept as annotated", row)
        emotion = objective = ""
        if kind == "micro":
            coded = codes.get(name)
            if coded is not None:
                shift = coded.onset - onset
                if coded.offset - coded.onset == offset - onset:
                    emotion, objective = coded.emotion, ""
                    if shift:
                        shifts.setdefault(video, set()).add(shift)
                else:
                    out.warn(f"{table}, row {row}: {name}: onset {onset}..offset {offset} does not match "
                             f"{coded.onset}..{coded.offset} in {micro_codes}: no emotion")
            elif codes:
                out.warn(f"{table}, row {row}: {name}: not in {micro_codes}: no emotion")
        interval = Interval(name=name, onset=onset, apex=apex, offset=offset, type=kind,
                            au=as_text(cells.get(key["Action Units"])), emotion=emotion, objective=objective, row=row)
        out.add(subject, video, folder / video if folder is not None else None, interval)
    if rounded:
        out.change("(fractional frames)", f"fractional onset, apex or offset rounded to the nearest frame (halves up) "
                   f"in {len(rounded)} rows: {', '.join(map(str, rounded))}", None)
    if shifts:
        listed = ", ".join(f"{v} {'/'.join(f'{s:+d}' for s in sorted(k))}" for v, k in sorted(shifts.items()))
        out.warn(f"{micro_codes} numbers the frames of {len(shifts)} videos differently (matched by the same "
                 f"onset-to-offset span): {listed}")
    return out.build(lambda video: frame_pattern(f"{video}_"), FPS,
                     lambda subject, video: f"frames folder not found: {folder / video}", frames=folder is not None)


def read_samm_lv(root: Path, annotations: Path | None = None, *, strict: bool = False,
                 classes: str | Sequence[str] | None = None) -> DatasetIndex:
    """The micro-expressions as a recognition dataset, labelled by SAMM's estimated emotion (``samm-lv-5``)."""
    chosen = resolve_preset("samm-lv", classes, "samm-lv-5", EMOTIONS)
    index = read_samm_lv_videos(root, annotations, strict=strict)
    return micro_clips(index, chosen, lambda i: i.emotion, EMOTIONS, strict)
