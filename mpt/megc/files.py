"""MEGC submission files: written as the challenge's participants write them, read back for scoring.

- Spotting (cross-cultural spotting, CCS): one CSV per dataset, ``cas_pred.csv`` (CAS(ME)^2/^3, 30 fps)
  and ``samm_pred.csv`` (SAMM, 200 fps), header ``vid,pred_onset,pred_offset,type``, one row per
  spotted interval, type ``me`` (micro) or ``mae`` (macro), frame numbers as the video's own (the
  numbers in its frame files), as the MEGC baselines write them (``genbing99/MTSN-Spot-ME-MaE``).
- Spot-then-recognize (STR): one CSV, header ``subject,video,onset,offset,emotion``, one row per
  spotted micro-expression, emotion ``negative``, ``positive`` or ``surprise`` (the columns the
  public STRS evaluator reads); a spotted interval that could not be classified has an empty
  emotion (it still counts as spotted; its class is wrong). The same layout holds a ground truth.

Every bad row is a ``SubmissionError`` naming the file and the row.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Iterable

from mpt_core.megc_metric import Row

SPOT_HEADER = ("vid", "pred_onset", "pred_offset", "type")
STR_HEADER = ("subject", "video", "onset", "offset", "emotion")
SPOT_TYPES = {"micro": "me", "macro": "mae"}
SPOT_FILES = {"cas": "cas_pred.csv", "samm": "samm_pred.csv"}
CORPUS_PART = {"cas2": "cas", "samm-lv": "samm", "casme3-lv": "cas"}  # which spotting file a corpus's videos go to
STR_FILE = "str_pred.csv"
STR_CLASSES = ("negative", "positive", "surprise")
SAMM_MIN_FPS = 100.0  # an input at this rate or more is a SAMM-like (200 fps) video, below a CAS-like (30 fps) one


class SubmissionError(ValueError):
    """A submission or truth file that cannot be read; the message names the file, the row and why."""


# helpers


def part_of(fps: float) -> str:
    """The spotting file an input of this frame rate belongs to."""
    return "samm" if fps >= SAMM_MIN_FPS else "cas"


def _rows(path: Path, header: tuple[str, ...]) -> list[tuple[int, list[str]]]:
    """(row number, cells) after the header row, which must be ``header``."""
    path = Path(path)
    if not path.is_file():
        raise SubmissionError(f"{path}: file not found")
    try:
        rows = list(csv.reader(path.read_text(encoding="utf-8-sig").splitlines()))
    except (UnicodeDecodeError, csv.Error) as err:
        raise SubmissionError(f"{path}: unreadable CSV ({err})") from None
    if not rows or [c.strip().lower() for c in rows[0]] != list(header):
        got = ",".join(rows[0]) if rows else "nothing"
        raise SubmissionError(f"{path}: the first row must be the header {','.join(header)} (got {got})")
    out = []
    for n, row in enumerate(rows[1:], start=2):
        cells = [c.strip() for c in row]
        if not any(cells):
            continue
        if len(cells) != len(header):
            raise SubmissionError(f"{path}, row {n}: {len(cells)} fields, expected {len(header)} ({','.join(header)})")
        out.append((n, cells))
    return out


def _frames(path: Path, n: int, onset: str, offset: str) -> tuple[int, int]:
    if not (onset.lstrip("-").isdigit() and offset.lstrip("-").isdigit()):
        raise SubmissionError(f"{path}, row {n}: onset {onset!r} and offset {offset!r} must be integer frame numbers")
    a, b = int(onset), int(offset)
    if a > b:
        raise SubmissionError(f"{path}, row {n}: onset {a} > offset {b}")
    return a, b


def _write(path: Path, header, rows) -> Path:
    from mpt_core.fileio import atomic_write

    def write(tmp: Path) -> None:
        with open(tmp, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(header)
            w.writerows(rows)

    Path(path).parent.mkdir(parents=True, exist_ok=True)
    atomic_write(Path(path), write)
    return Path(path)


# spotting


def write_spotting(folder: Path, intervals: Iterable[tuple[str, str, int, int, str]]) -> list[Path]:
    """``folder/cas_pred.csv`` and/or ``folder/samm_pred.csv`` from (part, vid, onset, offset,
    type micro|macro); a part with no interval still gets its file (header only) when it is named."""
    by_part: dict[str, list] = {}
    for part, vid, onset, offset, kind in intervals:
        by_part.setdefault(part, [])
        if kind is not None:
            by_part[part].append((vid, onset, offset, SPOT_TYPES[kind]))
    return [_write(Path(folder) / SPOT_FILES[part], SPOT_HEADER, rows) for part, rows in sorted(by_part.items())]


def read_spotting(path: Path, videos: dict[str, tuple[str, str]]) -> list[Row]:
    """Rows (subject, video, onset, offset, micro|macro) of a spotting submission file, in file
    order; ``videos`` maps each vid to its (subject, video)."""
    out = []
    names = {v: k for k, v in SPOT_TYPES.items()}
    for n, (vid, onset, offset, kind) in _rows(path, SPOT_HEADER):
        a, b = _frames(path, n, onset, offset)
        if kind.lower() not in names:
            raise SubmissionError(f"{path}, row {n}: type {kind!r} is not me or mae")
        if vid not in videos:
            raise SubmissionError(f"{path}, row {n}: unknown vid {vid!r}: not a video of the ground truth")
        out.append(Row(*videos[vid], a, b, names[kind.lower()]))
    return out


def is_spotting_file(path: Path) -> bool:
    """Whether the file's first row is the spotting submission header."""
    try:
        first = Path(path).read_text(encoding="utf-8-sig").splitlines()[:1]
    except (OSError, UnicodeDecodeError):
        return False
    return bool(first) and [c.strip().lower() for c in first[0].split(",")] == list(SPOT_HEADER)


# spot-then-recognize


def write_str(path: Path, rows: Iterable[Row]) -> Path:
    """The STR file (predictions or a ground truth) in the order given."""
    return _write(path, STR_HEADER, [(r.subject, r.video, r.onset, r.offset, r.label) for r in rows])


def read_str(path: Path) -> list[Row]:
    """Rows of an STR file (predictions or ground truth) in file order; emotions in lower case."""
    out = []
    for n, (subject, video, onset, offset, emotion) in _rows(path, STR_HEADER):
        if not subject or not video:
            raise SubmissionError(f"{path}, row {n}: empty subject or video")
        out.append(Row(subject, video, *_frames(path, n, onset, offset), emotion.lower()))
    return out
