"""CASME II: a coding .xlsx (2014 or 2019 revision, or ``mpt synth``'s) plus frame folders.

Frames: ``Cropped/subXX/CLIP/reg_imgN.jpg`` (official crop) or ``CASME2_RAW_selected/subXX/CLIP/imgN.jpg``
(raw), where N is the absolute frame index used by OnsetFrame/ApexFrame/OffsetFrame. ``root`` is the
folder holding ``Cropped/`` (or ``CASME2_RAW_selected/``), or that folder itself. Without an annotation
file, the single ``CASME2-coding-*.xlsx`` in ``root`` or its parent is used. Columns are found by
header name, so both revisions (the 2019 one adds ``Objective Classes``) read the same way.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Callable, Sequence

from ..records import DatasetError, DatasetIndex
from .common import Entry, IndexBuilder, as_int, as_text, find_one, frame_pattern, read_coding, resolve_classes

FPS = 200.0
CLASSES = ("happiness", "surprise", "disgust", "repression", "others")
EMOTIONS = CLASSES + ("sadness", "fear")  # every label the coding files use
LAYOUTS = (("Cropped", "reg_img"), ("CASME2_RAW_selected", "img"))  # preferred first
CODING_GLOB = "CASME2-coding-*.xlsx"
COLUMNS = {
    "subject": "Subject", "clip": "Filename", "onset": "OnsetFrame", "apex": "ApexFrame",
    "offset": "OffsetFrame", "emotion": "Estimated Emotion", "au": "Action Units",
}


def subject_id(value: object) -> str | None:
    """``1``, ``'01'`` or ``'sub01'`` -> ``'sub01'`` (the folder name); None if not a subject number."""
    text = as_text(value).lower()
    n = as_int(text[3:] if text.startswith("sub") else text)
    return None if n is None else f"sub{n:02d}"


def read_casme2_coding(path: Path, problem: Callable[[str, str, int], None]) -> list[Entry]:
    """Every well-formed row of a CASME II coding file; ``problem(clip, reason, row)`` gets the others."""
    return read_coding(Path(path), COLUMNS, subject_id, problem)


def frames_root(root: Path) -> tuple[Path, re.Pattern, list[str]]:
    """The folder holding ``subXX/CLIP`` folders, the frame-name pattern, and notes on the choice."""
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f"{root}: CASME II root folder not found")
    found = [(root / name, prefix) for name, prefix in LAYOUTS if (root / name).is_dir()]
    found += [(root, prefix) for name, prefix in LAYOUTS if root.name == name]
    if not found:  # a renamed copy: sniff the frame names of the first clip folder that has frames
        clips = (c for sub in sorted(root.glob("sub[0-9]*")) if sub.is_dir() for c in sorted(sub.iterdir()))
        for clip in clips:
            names = [f.name for f in clip.iterdir()] if clip.is_dir() else []
            found = [(root, p) for _, p in LAYOUTS if any(frame_pattern(p).fullmatch(n) for n in names)][:1]
            if found:
                break
    if not found:
        raise DatasetError(
            f"{root}: no CASME II frames found: expected Cropped/subXX/CLIP/reg_imgN.jpg or "
            f"CASME2_RAW_selected/subXX/CLIP/imgN.jpg under it (or root being one of those folders)"
        )
    notes = [f"both Cropped/ and CASME2_RAW_selected/ in {root}: using {found[0][0]}"] if len(found) > 1 else []
    return found[0][0], frame_pattern(found[0][1]), notes


def read_casme2(
    root: Path, annotations: Path | None = None, *, strict: bool = False, classes: Sequence[str] | None = None
) -> DatasetIndex:
    root = Path(root)
    folder, pattern, notes = frames_root(root)
    if annotations is None:
        annotations = find_one("casme2", [root, root.parent], CODING_GLOB, "CASME II coding")
    index = IndexBuilder("casme2", resolve_classes("casme2", classes, CLASSES, EMOTIONS), strict)
    index.warnings += notes
    for e in read_casme2_coding(annotations, lambda clip, why, row: index.problem(annotations, clip, why, row)):
        label = index.select(e, EMOTIONS)
        if label is not None:
            index.add(e, label, folder / e.subject / e.clip, pattern, FPS)
    result = index.build()
    result.whole_frames = folder.name == "CASME2_RAW_selected"  # the raw release: 640x480, faces not cropped
    return result
