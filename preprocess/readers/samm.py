"""SAMM: ``SAMM_Micro_FACS_Codes_v2.xlsx`` plus ``SAMM/006/006_1_2/006_05562.jpg`` frames.

The header sits below 13 rows of notes (spreadsheet row 14, pandas' ``header=13``); it is found by
its column names. Subjects are text (``'006'``); emotions are capitalised (``'Anger'``) and matched
without case. ``root`` is the folder holding ``SAMM/`` or ``SAMM/`` itself. Without an annotation
file, the single ``SAMM_Micro_FACS_Codes*.xlsx`` in ``root``, its parent or ``root/SAMM`` is used.
Two rows of v2 have their apex outside onset..offset (028_4_1, 032_3_1): they are kept, with a warning.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Callable, Sequence

from ..records import DatasetError, DatasetIndex
from .common import Entry, IndexBuilder, as_int, as_text, find_one, frame_pattern, read_coding, resolve_classes

FPS = 200.0
CLASSES = ("anger", "contempt", "happiness", "surprise", "other")
EMOTIONS = CLASSES + ("disgust", "fear", "sadness")
CODING_GLOB = "SAMM_Micro_FACS_Codes*.xlsx"
COLUMNS = {
    "subject": "Subject", "clip": "Filename", "onset": "Onset Frame", "apex": "Apex Frame",
    "offset": "Offset Frame", "emotion": "Estimated Emotion", "au": "Action Units",
}


def subject_id(value: object) -> str | None:
    """``'006'`` or ``6`` -> ``'006'`` (the folder name)."""
    text = as_text(value)
    n = as_int(text)
    return f"{n:03d}" if n is not None else (text or None)


def read_samm_coding(path: Path, problem: Callable[[str, str, int], None]) -> list[Entry]:
    """Every well-formed row of the SAMM coding file; ``problem(clip, reason, row)`` gets the others."""
    return read_coding(Path(path), COLUMNS, subject_id, problem)


def frames_root(root: Path) -> Path:
    """The folder holding the ``006/006_1_2`` subject/clip folders."""
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f"{root}: SAMM root folder not found")
    if (root / "SAMM").is_dir():
        return root / "SAMM"
    if root.name == "SAMM" or any(p.is_dir() and re.fullmatch(r"\d{3}", p.name) for p in root.iterdir()):
        return root
    raise DatasetError(f"{root}: no SAMM frames found: expected SAMM/006/006_1_2/006_05562.jpg under it")


def subject_frames(subject: str) -> re.Pattern:
    """Frame names of one subject: ``006_05562.jpg``."""
    return frame_pattern(f"{subject}_")


def read_samm(
    root: Path, annotations: Path | None = None, *, strict: bool = False, classes: Sequence[str] | None = None
) -> DatasetIndex:
    root = Path(root)
    folder = frames_root(root)
    if annotations is None:
        annotations = find_one("samm", [root, root.parent, folder], CODING_GLOB, "SAMM coding")
    index = IndexBuilder("samm", resolve_classes("samm", classes, CLASSES, EMOTIONS), strict)
    for e in read_samm_coding(annotations, lambda clip, why, row: index.problem(annotations, clip, why, row)):
        label = index.select(e, EMOTIONS)
        if label is not None:
            index.add(e, label, folder / e.subject / e.clip, subject_frames(e.subject), FPS)
    return index.build()
