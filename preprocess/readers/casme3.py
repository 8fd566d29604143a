"""CAS(ME)^3 Part A: ``cas(me)3_part_A_ME_label_JpgIndex_v2.xlsx`` plus whole video frames
``spNO.1/e/color/62.jpg`` (30 fps, not cropped: ``DatasetIndex.whole_frames`` is set, so faces
must be detected and aligned downstream). ``depth/*.png`` frames are not read.

The table (sheet ``label``; Subject, Filename, Onset, Apex, Offset, AU, Objective class, emotion)
stores frame numbers as text. ``Filename`` names a recording of the subject (a letter), and a
recording holds several micro-expressions, so a clip is one row keyed by subject, recording and
onset, named ``spNO.1_e_62``. Subjects are the LOSO unit. ``root`` is the folder holding the
``spNO.*`` subject folders or its parent; without an annotation file, the single
``*part_A_ME_label*.xlsx`` in ``root``, its parent or the subject folders' folder is used.

Rows that cannot be right are problems, never patched: a frame number 0 (frames are numbered from
1), onset after apex or offset, apex before onset or after offset, and an onset..offset span longer
than ``max_seconds`` (v2 has six impossible rows, SOURCES.md, and three rows of 13-24 s, which the
10 s default also reports). The capitalised ``Others`` of three rows is read as ``others``, with
one warning. Classes: a preset (``casme3-4``, the default; ``casme3-7``; ``casme3-3``, see
``common.CLASS_PRESETS``) or a list of emotions and merged classes.
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path
from typing import Callable, Sequence

from ..records import DatasetError, DatasetIndex
from .common import (Entry, IndexBuilder, as_text, find_one, frame_pattern, path_name_problem, read_coding,
                     resolve_preset)

FPS = 30.0
MAX_SECONDS = 10.0  # no micro-expression lasts this long; longer onset..offset spans are annotation errors
EMOTIONS = ("anger", "disgust", "fear", "happy", "others", "sad", "surprise")  # every label of v2, lower case
DEFAULT_CLASSES = "casme3-4"
LABEL_GLOB = "*part_A_ME_label*.xlsx"
COLUMNS = {
    "subject": "Subject", "clip": "Filename", "onset": "Onset", "apex": "Apex",
    "offset": "Offset", "emotion": "emotion", "au": "AU",
}
SUBJECT_DIR = re.compile(r"spNO\.\d+")
FRAMES = frame_pattern("")  # color/62.jpg


def clip_name(subject: str, recording: str, onset: int) -> str:
    return f"{subject}_{recording}_{onset}"


def read_casme3_label(path: Path, problem: Callable[[str, str, int], None]) -> list[tuple[Entry, str]]:
    """(entry named ``spNO.1_e_62``, its recording folder name) for every well-formed row of the
    label table; ``problem(clip, reason, row)`` gets the others."""
    rows = read_coding(Path(path), COLUMNS, lambda v: as_text(v) or None, problem)
    return [(replace(e, clip=clip_name(e.subject, e.clip, e.onset)), e.clip) for e in rows]


def frames_root(root: Path) -> Path:
    """The folder holding the ``spNO.*`` subject folders: ``root`` or one of its sub-folders."""
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f"{root}: CAS(ME)^3 root folder not found")

    def holds_subjects(folder: Path) -> bool:
        return any(p.is_dir() and SUBJECT_DIR.fullmatch(p.name) for p in folder.iterdir())

    if holds_subjects(root):
        return root
    found = [p for p in sorted(root.iterdir()) if p.is_dir() and holds_subjects(p)]
    if len(found) > 1:
        names = ", ".join(p.name for p in found)
        raise DatasetError(f"{root}: several folders hold spNO.* subject folders ({names}): pass one as the root")
    if not found:
        raise DatasetError(
            f"{root}: no CAS(ME)^3 frames found: expected spNO.1/a/color/1.jpg under it or under one of its folders"
        )
    return found[0]


def annotation_problem(e: Entry, max_seconds: float) -> str | None:
    """Why the row's onset, apex and offset cannot be right, or None."""
    zero = [name for name, n in (("onset", e.onset), ("apex", e.apex), ("offset", e.offset)) if n == 0]
    if zero:
        return f"{' and '.join(zero)} 0: frame 0 does not exist (frames are numbered from 1)"
    if e.onset > e.offset:
        apex = f"apex {e.apex} and " if e.apex != -1 and e.apex < e.onset else ""
        return f"onset {e.onset} after {apex}offset {e.offset}"
    if e.apex != -1 and e.apex < e.onset:
        return f"apex {e.apex} before onset {e.onset}"
    if e.apex > e.offset:
        return f"apex {e.apex} after offset {e.offset}"
    frames = e.offset - e.onset + 1
    if frames > max_seconds * FPS:
        return (f"onset {e.onset}..offset {e.offset} is {frames:,} frames ({frames / FPS:.1f} s at {FPS:g} fps), "
                f"longer than max_seconds {max_seconds:g} s")
    return None


def read_casme3(
    root: Path,
    annotations: Path | None = None,
    *,
    strict: bool = False,
    classes: str | Sequence[str] | None = None,
    max_seconds: float = MAX_SECONDS,
) -> DatasetIndex:
    root = Path(root)
    if not max_seconds > 0:
        raise DatasetError(f"casme3: max_seconds must be positive, got {max_seconds!r}")
    folder = frames_root(root)
    if annotations is None:
        annotations = find_one("casme3", [root, root.parent, folder], LABEL_GLOB, "CAS(ME)^3 label")
    chosen, merged = resolve_preset("casme3", classes, DEFAULT_CLASSES, EMOTIONS)
    index = IndexBuilder("casme3", chosen, strict)
    folded: dict[str, list[int]] = {}  # emotion as written -> rows, where it differs from the lower-case label
    problem = lambda clip, why, row: index.problem(annotations, clip, why, row)  # noqa: E731
    for e, recording in read_casme3_label(annotations, problem):
        if e.emotion != e.emotion.lower() and e.emotion.lower() in EMOTIONS:
            folded.setdefault(e.emotion, []).append(e.row)
        why = annotation_problem(e, max_seconds)
        if why is not None:
            index.problem(annotations, e.clip, why, e.row)
            continue
        label = index.classify(e, EMOTIONS, merged)
        outside = path_name_problem(e.subject, recording)
        if label is not None and outside:
            index.problem(annotations, e.clip, outside, e.row)
        elif label is not None:
            index.add(e, label, folder / e.subject / recording / "color", FRAMES, FPS)
    for text, rows in folded.items():
        index.warn(f"{annotations}: emotion {text!r} in {len(rows)} row(s) ({', '.join(map(str, rows))}) "
                   f"read as {text.lower()!r}")
    return replace(index.build(), whole_frames=True)
