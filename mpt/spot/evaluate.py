"""Predicted intervals as ``mpt spot --csv`` writes them (CSV: subject, video, onset, offset, type), written
and read back, and a corpus's ground truth as the same spots; ``mpt spot evaluate`` scores them
(``mpt.megc.submit.evaluate_spotting_file``, with ``mpt_core.spot_metric``)."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Iterable

from mpt_core.spot_metric import TYPES, Spot

CSV_HEADER = ("subject", "video", "onset", "offset", "type")
TYPE_NAMES = {"micro": "micro", "macro": "macro", "me": "micro", "mae": "macro", "micro-expression": "micro",
              "macro-expression": "macro"}


def write_predictions(path: Path, spots: Iterable[Spot]) -> Path:
    """The MEGC submission CSV, with a header row."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(CSV_HEADER)
        for s in spots:
            w.writerow([s.subject, s.video, s.onset, s.offset, s.type])
    return path


def read_predictions(path: Path, videos: dict[tuple[str, str], object] | None = None) -> list[Spot]:
    """Rows of a predictions CSV (a header row is optional). Every bad row is a ``ValueError``
    naming the file and the row: a wrong field count, a non-integer frame, onset > offset, an
    unknown type, or (with ``videos``, keyed by (subject, video)) a video the corpus does not have."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{path}: predictions file not found")
    if path.stat().st_size == 0:  # a crashed writer's file, not "nothing spotted" (that has its header row)
        raise ValueError(f"{path}: empty file (0 bytes); a predictions CSV has the header row "
                         f"{','.join(CSV_HEADER)} and one row per interval")
    try:
        rows = list(csv.reader(path.read_text(encoding="utf-8-sig").splitlines()))
    except (UnicodeDecodeError, csv.Error) as e:
        raise ValueError(f"{path}: unreadable predictions CSV ({e})") from None
    out = []
    for n, row in enumerate(rows, start=1):
        cells = [c.strip() for c in row]
        if not any(cells):
            continue
        if n == 1 and [c.lower() for c in cells] == list(CSV_HEADER):
            continue
        where = f"{path}, row {n}"
        if n == 1 and not all(c.lstrip("-").isdigit() for c in cells[2:4]):
            raise ValueError(f"{where}: header {','.join(cells)!r} is not {','.join(CSV_HEADER)} (and not a data "
                             "row: onset and offset are not frame numbers)")
        if len(cells) != len(CSV_HEADER):
            raise ValueError(f"{where}: {len(cells)} fields, expected {len(CSV_HEADER)} ({', '.join(CSV_HEADER)})")
        subject, video, onset, offset, kind = cells
        if not (onset.lstrip("-").isdigit() and offset.lstrip("-").isdigit()):
            raise ValueError(f"{where}: onset {onset!r} and offset {offset!r} must be integer frame numbers")
        onset_n, offset_n = int(onset), int(offset)
        if onset_n < 0:
            raise ValueError(f"{where}: onset {onset_n} is negative; frame numbers start at 0")
        if onset_n > offset_n:
            raise ValueError(f"{where}: onset {onset_n} > offset {offset_n}")
        if kind.lower() not in TYPE_NAMES:
            raise ValueError(f"{where}: type {kind!r} is not one of {', '.join(TYPES)}")
        if videos is not None:
            subject, video = _table_video(subject, video, videos)
            if (subject, video) not in videos:
                raise ValueError(f"{where}: unknown video {subject}/{video}: not in the annotation table")
            last = _last_frame(videos[(subject, video)])
            if last is not None and offset_n > last:
                raise ValueError(f"{where}: offset {offset_n} is past the end of video {subject}/{video} (its last "
                                 f"frame is {last})")
        out.append(Spot(subject, video, onset_n, offset_n, TYPE_NAMES[kind.lower()]))
    return out


def _table_video(subject: str, video: str, videos: dict) -> tuple[str, str]:
    """The table's (subject, video) for a CSV's: itself, or the one video of that subject whose code
    starts the name (``mpt spot FOLDER --csv`` writes the frames folder's name, ``15_0101disgustingteeth``,
    for the table's ``15_0101``, as the corpus reader matches them)."""
    if (subject, video) in videos:
        return subject, video
    hits = [k for k in videos if k[0] == subject and video.startswith(k[1]) and not video[len(k[1]):][:1].isdigit()]
    return hits[0] if len(hits) == 1 else (subject, video)


def _last_frame(video) -> int | None:
    numbers = getattr(video, "numbers", None)
    return numbers[-1] if numbers else None


def truth_spots(index) -> list[Spot]:
    """The ground truth of a ``LongVideoIndex``."""
    return [Spot(v.subject, v.video, i.onset, i.offset, i.type) for v, i in index.intervals]
