"""SMIC-HS: labels come from the folders ``HS/s1/micro/{negative,positive,surprise}/s1_ne_01/image*.bmp``
(cropped release: ``SMIC_all_cropped/HS/.../reg_image*.bmp``). There is no apex (-1).

Without an annotation file a clip is every frame of its folder in frame-number order: onset and offset
are the first and last frame numbers, and a gap is a missing frame. With ``HS_cropped.csv``
(Subject, Filename, OnsetFrame, OffsetFrame, Estimated Emotion) the csv gives onset, offset and label,
and the folder must agree: the clip must sit under its label's folder and hold every frame
onset..offset. ``root`` is the folder holding ``HS/`` or ``SMIC_all_cropped/``, or ``HS/`` itself.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from ..records import DatasetError, DatasetIndex
from .common import Entry, IndexBuilder, as_int, as_text, frame_files, frame_pattern, resolve_classes
from .tables import column_key, read_csv

FPS = 100.0
CLASSES = ("negative", "positive", "surprise")
CSV_COLUMNS = ("Subject", "Filename", "OnsetFrame", "OffsetFrame", "Estimated Emotion")
_K = {c: column_key(c) for c in CSV_COLUMNS}


@dataclass(frozen=True)
class ClipFolder:
    subject: str  # "s1"
    emotion: str  # the label folder's name
    path: Path


def hs_root(root: Path) -> Path:
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f"{root}: SMIC root folder not found")
    for hs in (root / "SMIC_all_cropped" / "HS", root / "HS", root):
        if hs.is_dir() and (hs.name == "HS" or any(hs.glob("s[0-9]*/micro"))):
            return hs
    raise DatasetError(
        f"{root}: no SMIC-HS frames found: expected HS/s1/micro/negative/s1_ne_01/image*.bmp or "
        f"SMIC_all_cropped/HS/s1/micro/negative/s1_ne_01/reg_image*.bmp under it"
    )


def scan_folders(hs: Path) -> tuple[dict[str, list[ClipFolder]], re.Pattern]:
    """{clip name: folders holding it} under ``hs/sN/micro/EMOTION/``, and the frame-name pattern."""
    clips: dict[str, list[ClipFolder]] = {}
    for subject in sorted(p for p in hs.iterdir() if p.is_dir() and re.fullmatch(r"s\d+", p.name)):
        micro = subject / "micro"
        for emotion in sorted(p for p in micro.iterdir() if p.is_dir()) if micro.is_dir() else ():
            for clip in sorted(p for p in emotion.iterdir() if p.is_dir()):
                clips.setdefault(clip.name, []).append(ClipFolder(subject.name, emotion.name, clip))
    # the cropped release prefixes "reg_"; decide from the first clip that has frames
    prefix = "image"
    for folders in clips.values():
        if frame_files(folders[0].path, frame_pattern("reg_image", "bmp|jpg|png")):
            prefix = "reg_image"
            break
        if frame_files(folders[0].path, frame_pattern("image", "bmp|jpg|png")):
            break
    return clips, frame_pattern(prefix, "bmp|jpg|png")


def _from_folders(index: IndexBuilder, clips: dict[str, list[ClipFolder]], pattern: re.Pattern) -> None:
    for name, folders in clips.items():
        for f in folders:
            numbers = sorted(frame_files(f.path, pattern))
            if not numbers:
                index.problem(f.path, name, f"no frames named like {pattern.pattern} in the clip folder")
                continue
            e = Entry(str(f.path), None, f.subject, name, numbers[0], -1, numbers[-1], emotion=f.emotion)
            label = index.select(e, CLASSES)
            if label is not None:
                index.add(e, label, f.path, pattern, FPS)


def _from_csv(
    index: IndexBuilder, csv: Path, hs: Path, clips: dict[str, list[ClipFolder]], pattern: re.Pattern
) -> None:
    listed = set()
    for row, cells in read_csv(csv, CSV_COLUMNS):
        name = as_text(cells[_K["Filename"]])
        n = as_int(as_text(cells[_K["Subject"]]).lstrip("sS"))
        onset, offset = as_int(cells[_K["OnsetFrame"]]), as_int(cells[_K["OffsetFrame"]])
        if not name or None in (n, onset, offset):
            index.problem(csv, name or "?", f"malformed row: {dict(cells)}", row)
            continue
        listed.add(name)
        e = Entry(str(csv), row, f"s{n}", name, onset, -1, offset, emotion=as_text(cells[_K["Estimated Emotion"]]))
        label = index.select(e, CLASSES)
        if label is None:
            continue
        mine = [f for f in clips.get(name, []) if f.subject == e.subject]
        if not mine:
            where = f"{e.subject}/micro/*/{name}"
            index.problem(csv, name, f"clip folder not found: no {where} under {hs}", row)
        elif len(mine) > 1:
            index.problem(csv, name, f"clip in several folders: {', '.join(str(f.path) for f in mine)}", row)
        elif mine[0].emotion.lower() != label:
            index.problem(csv, name, f"label mismatch: csv says {label!r}, folder {mine[0].path}", row)
        else:
            index.add(e, label, mine[0].path, pattern, FPS)
            numbers = sorted(frame_files(mine[0].path, pattern))
            if numbers and (numbers[0], numbers[-1]) != (onset, offset):
                index.warn(f"{csv}, row {row}: {name}: csv range {onset}..{offset} differs from the folder's "
                           f"frames {numbers[0]}..{numbers[-1]}; using the csv range")
    unlisted = sorted(set(clips) - listed)
    if unlisted:
        more = ", ..." if len(unlisted) > 10 else ""
        index.warn(f"{len(unlisted)} clip folder(s) not listed in {csv}, left out: {', '.join(unlisted[:10])}{more}")


def read_smic(
    root: Path, annotations: Path | None = None, *, strict: bool = False, classes: Sequence[str] | None = None
) -> DatasetIndex:
    hs = hs_root(Path(root))
    clips, pattern = scan_folders(hs)
    if not clips:
        raise DatasetError(f"{hs}: no clip folders found: expected sN/micro/EMOTION/CLIP/ folders under it")
    index = IndexBuilder("smic", resolve_classes("smic", classes, CLASSES, CLASSES), strict)
    if annotations is None:
        _from_folders(index, clips, pattern)
    else:
        _from_csv(index, Path(annotations), hs, clips, pattern)
    result = index.build()
    result.whole_frames = pattern.pattern.lstrip("^").startswith("image")  # raw HS frames: faces not cropped
    return result
