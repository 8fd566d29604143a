"""MEGC2019 composite: 3 classes over CASME II, SAMM and SMIC-HS from the official list
``combined_3class_gt.csv`` (no header: ``dataset,subject,clip,label``; label 0 negative, 1 positive,
2 surprise).

``root`` holds ``casme2/``, ``samm/`` and ``smic/``, each in its own layout (see those readers). The
list is ``annotations``, or ``root/combined_3class_gt.csv`` when not given. Onset, apex and offset of
CASME II and SAMM clips come from their coding files, found as the single ``casme2/CASME2-coding-*.xlsx``
and ``samm/SAMM_Micro_FACS_Codes*.xlsx``; a SMIC clip is every frame of its folder. The list's SMIC
names are zero-padded (``s01``, ``s01_ne_01``) while the folders are not (``s1_ne_01``). Subjects are
prefixed with their dataset (``casme2/sub01``, ``samm/006``, ``smic/s1``) so LOSO folds stay distinct.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Callable, Sequence

from ..records import DatasetError, DatasetIndex
from . import casme2, samm, smic
from .common import Entry, IndexBuilder, as_text, find_one, frame_files, resolve_classes
from .tables import read_csv_plain

CLASSES = ("negative", "positive", "surprise")
LABELS = {"0": "negative", "1": "positive", "2": "surprise"}
FIELDS = ("dataset", "subject", "clip", "label")
GT_NAME = "combined_3class_gt.csv"
# which 3-class label each source emotion belongs to (CASME II / SAMM others are not in the list)
EMOTION_CLASS = {
    **dict.fromkeys(("negative", "disgust", "repression", "anger", "contempt", "fear", "sadness"), "negative"),
    "positive": "positive", "happiness": "positive", "surprise": "surprise",
}

# (subject as in the list, clip as in the list) -> (entry, clip folder, frame pattern, fps), or why not
Lookup = Callable[[str, str], "tuple[Entry, Path, re.Pattern, float] | str"]


def smic_name(name: str) -> str:
    """``s01`` -> ``s1``, ``s01_ne_01`` -> ``s1_ne_01`` (the list is zero-padded, the folders are not)."""
    return re.sub(r"^s0*(\d+)", lambda m: f"s{int(m.group(1))}", name.strip(), flags=re.IGNORECASE)


def _coded(name: str, root: Path, warn: Callable[[str], None]) -> Lookup:
    """Lookup for CASME II or SAMM clips: coding-file rows plus the dataset's frame layout."""
    if name == "casme2":
        folder, pattern, notes = casme2.frames_root(root)
        coding = find_one("megc2019", [root, folder], casme2.CODING_GLOB, "CASME II coding")
        read, subject_id, patterns = casme2.read_casme2_coding, casme2.subject_id, lambda s: pattern
        for n in notes:
            warn(n)
    else:
        folder = samm.frames_root(root)
        coding = find_one("megc2019", [root, folder], samm.CODING_GLOB, "SAMM coding")
        read, subject_id, patterns = samm.read_samm_coding, samm.subject_id, samm.subject_frames
    rows: dict[tuple[str, str], Entry] = {}
    for e in read(coding, lambda clip, why, row: warn(f"{coding}, row {row}: clip {clip}: {why}")):
        rows.setdefault((e.subject, e.clip), e)

    def lookup(subject: str, clip: str):
        e = rows.get((subject_id(subject), clip.strip()))
        if e is None:
            return f"no row for subject {subject} clip {clip} in {coding}"
        return e, folder / e.subject / e.clip, patterns(e.subject), casme2.FPS if name == "casme2" else samm.FPS

    return lookup


def _smic(root: Path) -> Lookup:
    hs = smic.hs_root(root)
    clips, pattern = smic.scan_folders(hs)

    def lookup(subject: str, clip: str):
        subject, name = smic_name(subject), smic_name(clip)
        mine = [f for f in clips.get(name, []) if f.subject == subject]
        if len(mine) != 1:
            found = "no" if not mine else "several"
            return f"{found} clip folder {subject}/micro/*/{name} under {hs}"
        numbers = sorted(frame_files(mine[0].path, pattern))
        if not numbers:
            return f"no frames named like {pattern.pattern} in {mine[0].path}"
        e = Entry(str(mine[0].path), None, subject, name, numbers[0], -1, numbers[-1], emotion=mine[0].emotion)
        return e, mine[0].path, pattern, smic.FPS

    return lookup


def read_megc2019(
    root: Path, annotations: Path | None = None, *, strict: bool = False, classes: Sequence[str] | None = None
) -> DatasetIndex:
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f"{root}: MEGC2019 root folder not found (it holds casme2/, samm/ and smic/)")
    gt = Path(annotations) if annotations is not None else find_one("megc2019", [root], GT_NAME, "MEGC2019 list")
    index = IndexBuilder("megc2019", resolve_classes("megc2019", classes, CLASSES, CLASSES), strict)
    lookups: dict[str, Lookup] = {}
    for row, cells in read_csv_plain(gt, FIELDS):
        dataset, subject, clip = (as_text(cells.get(k)) for k in FIELDS[:3])
        label = LABELS.get(as_text(cells.get("label")))
        if cells["#fields"] != len(FIELDS):
            index.problem(gt, clip or "?", f"malformed row: {cells['#fields']} fields, expected {len(FIELDS)}", row)
            continue
        if dataset not in ("casme2", "samm", "smic"):
            index.problem(gt, clip, f"unknown dataset {dataset!r} (known: casme2, samm, smic)", row)
            continue
        if label is None:
            index.problem(gt, clip, f"unknown label {cells['label']!r} (known: 0, 1, 2)", row)
            continue
        if label not in index.classes:
            index.exclude(label)
            continue
        if dataset not in lookups:
            sub = root / dataset
            lookups[dataset] = _smic(sub) if dataset == "smic" else _coded(dataset, sub, index.warn)
        found = lookups[dataset](subject, clip)
        if isinstance(found, str):
            index.problem(gt, clip, found, row)
            continue
        e, clip_dir, pattern, fps = found
        if EMOTION_CLASS.get(e.emotion.lower()) != label:
            index.warn(f"{gt}, row {row}: {dataset}/{e.clip}: listed as {label} but annotated {e.emotion!r}")
        e = Entry(str(gt), row, f"{dataset}/{e.subject}", e.clip, e.onset, e.apex, e.offset, e.au, e.emotion)
        index.add(e, label, clip_dir, pattern, fps)
    return index.build()
