"""What every reader shares: cell parsing, frame lookup on disk, and the index builder that
turns each problem into a skipped clip (or, with ``strict``, an error)."""

from __future__ import annotations

import os
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

from ..records import ClipRecord, DatasetError, DatasetIndex, Problem
from .tables import column_key, read_xlsx

# helpers


def as_int(value: object) -> int | None:
    """An integer cell (int, integral float or digit string), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if value.is_integer() else None
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def as_text(value: object) -> str:
    """A cell as text; integral floats lose their ``.0`` (AU cells such as ``12`` come as numbers)."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def path_name_problem(*names: str) -> str | None:
    """Why a name from a table cannot be a folder name under the root (an absolute path, a separator,
    ``..``): the frames would be read from outside the root. None for an ordinary name."""
    for name in names:
        text = str(name)
        if text in (".", "..") or "/" in text or "\\" in text or Path(text).is_absolute() or text[1:3] == ":\\":
            return (f"the name {text!r} is a path, not a folder name under the root; frames outside the root are "
                    "not read")
    return None


def frame_pattern(prefix: str, exts: str = "jpg") -> re.Pattern:
    """File names ``{prefix}{number}.{ext}``; group 1 is the frame number."""
    return re.compile(rf"{re.escape(prefix)}(\d+)\.(?:{exts})", re.IGNORECASE)


def frame_files(clip_dir: Path, pattern: re.Pattern) -> dict[int, Path]:
    """{frame number: path} for the files in ``clip_dir`` whose whole name matches ``pattern``."""
    out: dict[int, Path] = {}
    with os.scandir(clip_dir) as it:
        for e in it:
            m = pattern.fullmatch(e.name)
            if m and e.is_file():
                out.setdefault(int(m.group(1)), Path(e.path))
    return out


def _ranges(numbers: Sequence[int]) -> str:
    parts, start = [], None
    for i, n in enumerate(numbers):
        if start is None:
            start = n
        if i + 1 == len(numbers) or numbers[i + 1] != n + 1:
            parts.append(str(start) if start == n else f"{start}-{n}")
            start = None
    return ", ".join(parts[:8]) + (", ..." if len(parts) > 8 else "")


def select_frames(clip_dir: Path, onset: int, offset: int, pattern: re.Pattern) -> tuple[Path, ...] | str:
    """Frames onset..offset inclusive in frame-number order, or the reason they cannot be had."""
    if not clip_dir.is_dir():
        return f"clip folder not found: {clip_dir}"
    files = frame_files(clip_dir, pattern)
    missing = [n for n in range(onset, offset + 1) if n not in files]
    if missing:
        return (
            f"missing frame(s) {_ranges(missing)} ({len(missing)} of {offset - onset + 1}, "
            f"onset {onset}..offset {offset}) in {clip_dir} (names like {pattern.pattern})"
        )
    return tuple(files[n] for n in range(onset, offset + 1))


def resolve_classes(dataset: str, classes: Sequence[str] | None, default: tuple[str, ...], known: tuple[str, ...]):
    """The class selection as a tuple (order = label index), checked against the dataset's labels."""
    if classes is None:
        return default
    chosen = tuple(str(c).strip().lower() for c in classes)
    unknown = [c for c in chosen if c not in known]
    if unknown or not chosen or len(set(chosen)) != len(chosen):
        raise DatasetError(
            f"{dataset}: bad class selection {list(classes)}: choose distinct names among {', '.join(known)}"
        )
    return chosen


# Named class protocols: each maps its classes, in label-index order, to the emotions it merges.
# A merged class keeps every clip's own emotion in ClipRecord.emotion.
_CASME3_NEGATIVE = ("anger", "disgust", "fear", "sad")
CLASS_PRESETS: dict[str, tuple[str, tuple[tuple[str, tuple[str, ...]], ...]]] = {  # name -> (dataset, classes)
    "casme3-7": ("casme3", tuple((e, (e,)) for e in ("anger", "disgust", "fear", "happy", "others", "sad",
                                                     "surprise"))),
    "casme3-4": ("casme3", (("negative", _CASME3_NEGATIVE), ("positive", ("happy",)), ("surprise", ("surprise",)),
                            ("others", ("others",)))),
    "casme3-3": ("casme3", (("negative", _CASME3_NEGATIVE), ("positive", ("happy",)), ("surprise", ("surprise",)))),
    # CAS(ME)^2 micro-expressions by their objective class (the table's own 4 classes), or the 3 of MEGC
    "cas2-4": ("cas2", tuple((c, (c,)) for c in ("negative", "positive", "surprise", "others"))),
    "cas2-3": ("cas2", tuple((c, (c,)) for c in ("negative", "positive", "surprise"))),
    # SAMM-LV micro-expressions by SAMM's estimated emotion: the 5 classes of the SAMM reader, or MEGC's 3
    "samm-lv-5": ("samm-lv", tuple((e, (e,)) for e in ("anger", "contempt", "happiness", "surprise", "other"))),
    "samm-lv-3": ("samm-lv", (("negative", ("anger", "contempt", "disgust", "fear", "sadness")),
                              ("positive", ("happiness",)), ("surprise", ("surprise",)))),
}


def resolve_preset(
    dataset: str, classes: str | Sequence[str] | None, default: str, emotions: tuple[str, ...]
) -> tuple[tuple[str, ...], dict[str, str]]:
    """The class selection (order = label index) and the class each selected emotion counts as.

    ``classes`` is None (the ``default`` preset), a preset name, a one-element list naming one (what
    the CLI's ``--classes casme3-7`` gives), or a list of names, each one of ``emotions`` or a merged
    class of this dataset's presets (``negative``); an emotion claimed twice is an error.
    """
    presets = {name: dict(spec) for name, (owner, spec) in CLASS_PRESETS.items() if owner == dataset}
    if isinstance(classes, str):
        classes = [classes]
    names = [str(c).strip().lower() for c in (classes if classes is not None else [default])]
    if len(names) == 1 and names[0] in CLASS_PRESETS:
        if names[0] not in presets:
            raise DatasetError(f"{dataset}: class preset {names[0]!r} is for {CLASS_PRESETS[names[0]][0]}, "
                               f"not {dataset}: choose one of {', '.join(presets)}")
        spec = presets[names[0]]
    else:
        merged = {cls: members for spec in presets.values() for cls, members in spec.items()}
        spec = {n: merged.get(n, (n,)) for n in names}
        claimed = [e for members in spec.values() for e in members]
        unknown = [n for n in names if n not in merged and n not in emotions]
        if unknown or not names or len(spec) != len(names) or len(set(claimed)) != len(claimed):
            groups = [c for c in merged if c not in emotions]
            raise DatasetError(
                f"{dataset}: bad class selection {list(classes)}: choose a preset ({', '.join(presets)}) or "
                f"distinct names among {', '.join(emotions + tuple(groups))}, each emotion in one class only"
            )
    return tuple(spec), {e: cls for cls, members in spec.items() for e in members}


def find_one(dataset: str, folders: Sequence[Path], glob: str, what: str) -> Path:
    """The single file matching ``glob`` in the first of ``folders`` that has any."""
    for folder in folders:
        hits = sorted(folder.glob(glob)) if folder.is_dir() else []
        if len(hits) == 1:
            return hits[0]
        if len(hits) > 1:
            names = ", ".join(h.name for h in hits)
            raise DatasetError(f"{dataset}: several {what} files in {folder} ({names}): pass one with --annotations")
    where = ", ".join(str(f) for f in folders)
    raise DatasetError(f"{dataset}: no {what} file ({glob}) found in {where}: pass it with --annotations")


def read_coding(
    path: Path,
    columns: dict[str, str],
    subject_id: Callable[[object], str | None],
    problem: Callable[[str, str, int], None],
) -> list["Entry"]:
    """Every well-formed row of a coding .xlsx; ``problem(clip, reason, row)`` gets the others.

    ``columns`` maps the roles subject, clip, onset, apex, offset, emotion and (optional) au to
    header names. A non-numeric apex (CASME II's ``/``) means unknown: -1.
    """
    key = {role: column_key(name) for role, name in columns.items()}
    required = tuple(name for role, name in columns.items() if role != "au")
    entries = []
    for row, cells in read_xlsx(path, required, (columns["au"],)):
        got = {
            "subject": subject_id(cells[key["subject"]]),
            "clip": as_text(cells[key["clip"]]),
            "onset": as_int(cells[key["onset"]]),
            "offset": as_int(cells[key["offset"]]),
        }
        bad = [f"{columns[role]} {cells[key[role]]!r}" for role, v in got.items() if v in (None, "")]
        if bad:
            problem(got["clip"] or "?", f"malformed row: bad {', '.join(bad)}", row)
            continue
        apex = as_int(cells[key["apex"]])
        entries.append(
            Entry(
                source=str(path), row=row, **got, apex=-1 if apex is None else apex,
                au=as_text(cells.get(key["au"])), emotion=as_text(cells[key["emotion"]]),
            )
        )
    return entries


# classes


@dataclass(frozen=True)
class Entry:
    """One annotated clip before its frames are looked up."""

    source: str  # annotation file or folder
    row: int | None  # 1-based row in ``source``
    subject: str
    clip: str
    onset: int
    apex: int
    offset: int
    au: str = ""
    emotion: str = ""

    @property
    def key(self) -> str:
        return f"{self.subject}/{self.clip}"


class IndexBuilder:
    """Collects clip records, problems and warnings for one dataset."""

    def __init__(self, dataset: str, classes: tuple[str, ...], strict: bool):
        self.dataset, self.classes, self.strict = dataset, classes, strict
        self.clips: list[ClipRecord] = []
        self.skipped: list[Problem] = []
        self.warnings: list[str] = []
        self.excluded: Counter[str] = Counter()  # clips left out by the class selection, per emotion
        self._rows: dict[str, Entry] = {}

    def problem(self, source: object, clip: str, reason: str, row: int | None = None) -> None:
        p = Problem(source=str(source), clip=clip, reason=reason, row=row)
        if self.strict:
            raise DatasetError(str(p))
        self.skipped.append(p)

    def warn(self, message: str) -> None:
        self.warnings.append(message)

    def exclude(self, emotion: str) -> None:
        self.excluded[emotion] += 1

    def select(self, e: Entry, emotions: tuple[str, ...]) -> str | None:
        """The class of an entry whose emotion is in the class selection; None otherwise
        (an unknown emotion is a problem, a known one outside the selection is counted as left out)."""
        label = e.emotion.lower()
        if label not in emotions:
            self.problem(e.source, e.clip, f"unknown label {e.emotion!r} (known: {', '.join(emotions)})", e.row)
            return None
        if label not in self.classes:
            self.exclude(label)
            return None
        return label

    def classify(self, e: Entry, emotions: tuple[str, ...], merged: dict[str, str]) -> str | None:
        """Like ``select``, for a selection that merges emotions: ``merged`` maps each selected
        emotion (lower case) to its class."""
        emotion = e.emotion.lower()
        if emotion not in emotions:
            self.problem(e.source, e.clip, f"unknown label {e.emotion!r} (known: {', '.join(emotions)})", e.row)
            return None
        if emotion not in merged:
            self.exclude(emotion)
            return None
        return merged[emotion]

    def claim(self, e: Entry) -> bool:
        """False (with a problem) if this subject/clip was already read."""
        key = e.key
        first = self._rows.get(key)
        if first is not None:
            where = f"row {first.row}" if first.row is not None else first.source
            self.problem(e.source, e.clip, f"duplicate clip {key} (first given at {where}); this one is skipped", e.row)
            return False
        self._rows[key] = e
        return True

    def add(self, e: Entry, label: str, clip_dir: Path, pattern: re.Pattern, fps: float) -> None:
        """Check one entry and its frames on disk; add its record or report the problem."""
        # an absolute name replaces the root in the join; ".." climbs out of it
        outside = path_name_problem(*(p for p in (e.subject, e.clip) if Path(p).is_absolute()))
        if not outside and ".." in clip_dir.parts:
            outside = f"the folder {clip_dir} reaches outside the root (..); frames outside the root are not read"
        if outside:
            self.problem(e.source, e.clip, outside, e.row)
            return
        if not self.claim(e):
            return
        frames = (
            f"onset {e.onset} > offset {e.offset}"
            if e.onset > e.offset
            else select_frames(clip_dir, e.onset, e.offset, pattern)
        )
        if isinstance(frames, str):
            self.problem(e.source, e.clip, frames, e.row)
            return
        if e.apex != -1 and not e.onset <= e.apex <= e.offset:  # kept: the method does not use the apex
            where = f"{e.source}, row {e.row}" if e.row is not None else e.source
            self.warn(f"{where}: clip {e.key}: apex {e.apex} outside onset {e.onset}..offset {e.offset}; kept")
        self.clips.append(
            ClipRecord(
                dataset=self.dataset, subject=e.subject, clip=e.clip, label=label,
                label_index=self.classes.index(label), frames=frames, onset=e.onset, apex=e.apex,
                offset=e.offset, fps=fps, au=e.au, emotion=e.emotion,
            )
        )

    def build(self) -> DatasetIndex:
        if self.excluded:
            n = sum(self.excluded.values())
            per = ", ".join(f"{k} {v}" for k, v in self.excluded.most_common())
            self.warnings.append(f"{n} clip(s) not in the class selection {list(self.classes)}, left out: {per}")
        return DatasetIndex(self.dataset, self.classes, self.clips, self.skipped, self.warnings)
