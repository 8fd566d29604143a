"""CAS(ME)^2 long videos: ``CASME_sq_gt.xlsx`` (the dataset's ``CAS(ME)^2code_final.xlsx``) plus
whole frames ``rawpic/s15/15_0101disgustingteeth/img1.jpg`` at 30 fps.

The table has no header row and three sheets whose names vary between copies, so each is found by
what it holds: the expressions (participant index, expression name ``anger1_1``, onset, apex,
offset, AUs, objective class, type, self-reported emotion), ``naming rule1`` (participant number,
folder ``s15``, participant index) and ``naming rule2`` (video code ``0101``, video name
``disgust1``). A row's participant index goes through rule1 to its folder, its expression name
``anger1_1`` (video ``anger1``, expression 1) through rule2 to the code ``0401``; the video is
``15_0401`` and its frames are in the one folder of ``rawpic/s15`` named ``15_0401`` plus a
description. Rows are numbered as in the spreadsheet (the first row is 1).

Conventions, each applied visibly (``LongVideoIndex.changed`` names the row):
- offset 0 (44 macro rows): the interval ends at the apex, as most spotting code does;
- offset before the apex (3 macro rows, 1-6 frames): the interval ends at the apex too;
- apex 0 (row 309): the apex is unknown (-1); onset..offset is kept.
Rows that still cannot be right (an onset of 0, onset after offset, an unknown participant, video
or type) are skipped and named.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Sequence

from ..records import DatasetError, DatasetIndex
from .common import as_int, as_text, frame_pattern, resolve_preset
from .longvideo import Interval, LongVideoBuilder, LongVideoIndex, micro_clips

FPS = 30.0
TABLE_GLOBS = ("CASME_sq_gt*.xlsx", "CAS(ME)^2code*.xlsx", "CAS(ME)2*.xlsx")
OBJECTIVE = ("negative", "positive", "surprise", "others")
TYPES = {"micro-expression": "micro", "macro-expression": "macro"}
EXPRESSION = re.compile(r"([a-z]+\d*)_(\d+)")
SUBJECT_DIR = re.compile(r"s\d+")
FRAMES = frame_pattern("img")


def frames_root(root: Path) -> Path:
    """The ``rawpic`` folder: ``root/rawpic`` or ``root`` itself."""
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f"{root}: CAS(ME)^2 root folder not found")
    if (root / "rawpic").is_dir():
        return root / "rawpic"
    if root.name == "rawpic" or any(p.is_dir() and SUBJECT_DIR.fullmatch(p.name) for p in root.iterdir()):
        return root
    raise DatasetError(f"{root}: no CAS(ME)^2 frames found: expected rawpic/s15/15_0101.../img1.jpg under it")


def find_table(root: Path) -> Path:
    hits = sorted({p for folder in (root, root.parent) if folder.is_dir() for g in TABLE_GLOBS for p in folder.glob(g)})
    if len(hits) == 1:
        return hits[0]
    if hits:
        raise DatasetError(f"cas2: several annotation tables ({', '.join(map(str, hits))}): "
                           "pass one with --annotations")
    raise DatasetError(f"cas2: no annotation table ({', '.join(TABLE_GLOBS)}) in {root} or its parent: "
                       "pass it with --annotations")


def read_sheets(path: Path) -> tuple[list[tuple[int, tuple]], dict[int, tuple[int, str]], dict[str, str]]:
    """(numbered expression rows, {participant index: (number, folder)}, {video name: code})."""
    import openpyxl

    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"{path}: annotation file not found")
    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as e:  # openpyxl raises many kinds for a file that is not a spreadsheet
        raise DatasetError(f"{path}: unreadable annotation file, not an .xlsx spreadsheet ({e})") from None
    sheets = [[tuple(r) for r in ws.iter_rows(values_only=True)] for ws in book.worksheets]
    book.close()
    expressions = subjects = videos = None
    for rows in sheets:
        data = [r for r in rows if any(v is not None for v in r)]
        if not data:
            continue
        if expressions is None and sum(EXPRESSION.fullmatch(as_text(r[1]) if len(r) > 1 else "") is not None
                                       for r in data) > len(data) / 2:
            expressions = [(n, r) for n, r in enumerate(rows, start=1) if any(v is not None for v in r)]
        elif subjects is None and all(len(r) >= 3 and SUBJECT_DIR.fullmatch(as_text(r[1])) for r in data):
            subjects = {}
            for r in data:
                number, index = as_int(r[0]), as_int(r[2])
                if subjects.setdefault(index, (number, as_text(r[1]))) != (number, as_text(r[1])):
                    raise DatasetError(f"{path}: naming rule1 gives participant index {index} two folders")
        elif videos is None and all(len(r) >= 2 and re.fullmatch(r"\d{1,4}", as_text(r[0])) for r in data):
            videos = {as_text(r[1]): f"{as_int(r[0]):04d}" for r in data}
    missing = [what for what, got in (("expressions (no header; anger1_1 in column 2)", expressions),
                                      ("naming rule1 (number, s15, index)", subjects),
                                      ("naming rule2 (0101, disgust1)", videos)) if got is None]
    if missing:
        raise DatasetError(f"{path}: malformed CAS(ME)^2 table: no sheet holds the {' or the '.join(missing)}")
    return expressions, subjects, videos


def read_cas2_videos(root: Path | None, annotations: Path | None = None, *, strict: bool = False) -> LongVideoIndex:
    """The videos and their intervals; ``root`` None reads the table alone (no frames looked up)."""
    if root is None and annotations is None:
        raise DatasetError("cas2: without a root, pass the annotation table")
    rawpic = frames_root(Path(root)) if root is not None else None
    table = Path(annotations) if annotations is not None else find_table(Path(root))
    expressions, subjects, videos = read_sheets(table)
    out = LongVideoBuilder("cas2", table, strict)
    folders: dict[str, list[str]] = {}  # subject folder -> its video folders

    def video_folder(subject: str, video: str) -> Path | None:
        if rawpic is None:
            return None
        if subject not in folders:
            d = rawpic / subject
            folders[subject] = sorted(p.name for p in d.iterdir() if p.is_dir()) if d.is_dir() else []
        hits = [n for n in folders[subject] if n.startswith(video) and not n[len(video):][:1].isdigit()]
        return rawpic / subject / hits[0] if len(hits) == 1 else None

    def missing_folder(subject: str, video: str) -> str:
        hits = [n for n in folders.get(subject, []) if n.startswith(video)]
        if len(hits) > 1:
            return f"several frames folders for video {video} in {rawpic / subject}: {', '.join(hits)}"
        return f"frames folder not found: no {rawpic / subject}/{video}* folder"

    for row, cells in expressions:
        cells = tuple(cells) + (None,) * (9 - len(cells))
        index, name = as_int(cells[0]), as_text(cells[1])
        onset, apex, offset = (as_int(c) for c in cells[2:5])
        kind = TYPES.get(as_text(cells[7]).lower())
        m = EXPRESSION.fullmatch(name)
        bad = [what for what, ok in (("participant", index in subjects), ("expression name", m is not None),
                                     ("onset", onset is not None), ("apex", apex is not None),
                                     ("offset", offset is not None), ("type", kind is not None)) if not ok]
        if bad:
            out.skip(name or "?", f"malformed row: bad {', '.join(bad)} ({', '.join(map(repr, cells[:8]))})", row)
            continue
        if m.group(1) not in videos:
            out.skip(name, f"video {m.group(1)!r} not in naming rule2 ({', '.join(videos)})", row)
            continue
        if onset == 0:
            out.skip(name, "onset 0: frame 0 does not exist (frames are numbered from 1)", row)
            continue
        if apex == 0:
            out.change(name, f"apex 0: frame 0 does not exist; apex unknown (-1), onset {onset}..offset {offset} "
                       "kept", row)
            apex = -1
        if offset == 0 and apex > 0:
            out.change(name, f"offset 0: the interval ends at the apex, offset {apex}", row)
            offset = apex
        elif apex > 0 and offset < apex:
            out.change(name, f"offset {offset} before apex {apex}: the interval ends at the apex, offset {apex}", row)
            offset = apex
        number, subject = subjects[index]
        video = f"{number}_{videos[m.group(1)]}"
        interval = Interval(name=name, onset=onset, apex=apex, offset=offset, type=kind, au=as_text(cells[5]),
                            emotion=as_text(cells[8]), objective=as_text(cells[6]).lower(), row=row)
        out.add(subject, video, video_folder(subject, video), interval)
    return out.build(lambda video: FRAMES, FPS, missing_folder, frames=rawpic is not None)


def read_cas2(root: Path, annotations: Path | None = None, *, strict: bool = False,
              classes: str | Sequence[str] | None = None) -> DatasetIndex:
    """The micro-expressions as a recognition dataset, labelled by objective class (``cas2-4``)."""
    chosen = resolve_preset("cas2", classes, "cas2-4", OBJECTIVE)
    index = read_cas2_videos(root, annotations, strict=strict)
    return micro_clips(index, chosen, lambda i: i.objective, OBJECTIVE, strict)
