"""What every dataset reader returns: clip records, the problems it met, and a summary."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


class DatasetError(ValueError):
    """Bad dataset input: the message names the file, the row and the clip."""


@dataclass(frozen=True)
class ClipRecord:
    dataset: str  # "casme2", "samm", "smic", "megc2019", "casme3"
    subject: str  # LOSO group id, e.g. "sub01", "006", "s1"; megc2019 prefixes the dataset: "casme2/sub01"
    clip: str  # clip name as on disk, e.g. "EP02_01f", "006_1_2", "s1_ne_01"; casme3: subject_recording_onset
    label: str  # class name
    label_index: int  # index into DatasetIndex.classes
    frames: tuple[Path, ...]  # onset..offset inclusive, in frame-number order
    onset: int
    apex: int  # -1 where unknown (SMIC, CASME II sub04/EP12_01f)
    offset: int
    fps: float
    au: str = ""  # action-unit string as annotated ("" where none)
    emotion: str = ""  # raw emotion text from the annotation / folder

    @property
    def key(self) -> str:
        """Unique id within a dataset: subject/clip."""
        return f"{self.subject}/{self.clip}"


@dataclass(frozen=True)
class Problem:
    """One input problem. ``row`` is the 1-based spreadsheet/CSV row where there is one."""

    source: str  # file or folder the problem was found in
    clip: str
    reason: str
    row: int | None = None

    def __str__(self) -> str:
        where = f"{self.source}, row {self.row}" if self.row is not None else self.source
        return f"{where}: clip {self.clip}: {self.reason}"


@dataclass
class DatasetIndex:
    dataset: str
    classes: tuple[str, ...]
    clips: list[ClipRecord]
    skipped: list[Problem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    whole_frames: bool = False  # frames are whole video frames (CAS(ME)^3): faces must be detected and aligned

    @property
    def subjects(self) -> list[str]:
        return sorted({c.subject for c in self.clips})

    def class_counts(self) -> dict[str, int]:
        counts = {name: 0 for name in self.classes}
        for c in self.clips:
            counts[c.label] += 1
        return counts

    def summary(self) -> dict:
        """The object ``mpt datasets summary --json`` prints."""
        return {
            "dataset": self.dataset,
            "clips": len(self.clips),
            "subjects": len(self.subjects),
            "classes": self.class_counts(),
            "skipped": [{"clip": p.clip, "reason": str(p)} for p in self.skipped],
        }
