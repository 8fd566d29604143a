"""Predicted intervals in the MEGC submission layout (CSV: subject, video, onset, offset, type), read
back and scored against a long-video corpus's table with the MEGC metric (``mpt_core.spot_metric``)."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Iterable

from mpt_core.spot_metric import TYPES, Spot, as_json, evaluate

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
        if len(cells) != len(CSV_HEADER):
            raise ValueError(f"{where}: {len(cells)} fields, expected {len(CSV_HEADER)} ({', '.join(CSV_HEADER)})")
        subject, video, onset, offset, kind = cells
        if not (onset.lstrip("-").isdigit() and offset.lstrip("-").isdigit()):
            raise ValueError(f"{where}: onset {onset!r} and offset {offset!r} must be integer frame numbers")
        onset_n, offset_n = int(onset), int(offset)
        if onset_n > offset_n:
            raise ValueError(f"{where}: onset {onset_n} > offset {offset_n}")
        if kind.lower() not in TYPE_NAMES:
            raise ValueError(f"{where}: type {kind!r} is not one of {', '.join(TYPES)}")
        if videos is not None and (subject, video) not in videos:
            raise ValueError(f"{where}: unknown video {subject}/{video}: not in the annotation table")
        out.append(Spot(subject, video, onset_n, offset_n, TYPE_NAMES[kind.lower()]))
    return out


def truth_spots(index) -> list[Spot]:
    """The ground truth of a ``LongVideoIndex``."""
    return [Spot(v.subject, v.video, i.onset, i.offset, i.type) for v, i in index.intervals]


def evaluate_predictions(predictions: Path, dataset: str, annotations: Path) -> dict:
    """The metric's JSON object for a predictions CSV against a corpus's table (read alone, no frames)."""
    from preprocess.readers import read_long_videos

    index = read_long_videos(dataset, None, annotations)
    videos = {(v.subject, v.video): v for v in index.videos}
    return as_json(evaluate(read_predictions(predictions, videos), truth_spots(index)))
