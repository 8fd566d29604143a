"""What the long-video readers (CAS(ME)^2, SAMM Long Videos) return, and the builder they share.

A long-video corpus is a set of videos (a subject, a video name, a folder of numbered frames, a
frame rate), each with the intervals annotated in it (onset, apex, offset, micro or macro, AUs,
emotion or objective class where known). Each table row is one interval; what happened to a row
is never silent:

- ``changed``: the row is kept with a documented convention applied (CAS(ME)^2's offset 0 read as
  the apex, SAMM-LV's fractional frame numbers rounded, ...); the reason says what became what;
- ``skipped``: the row cannot be used (a malformed cell, a missing frames folder, frames outside
  the video); with ``strict`` the first such row raises ``DatasetError``.

The micro-expressions of a corpus are also a recognition dataset (``micro_clips``): whole frames
onset..offset, the subjects as the LOSO unit, ``DatasetIndex.whole_frames`` set so faces are
aligned downstream as for CAS(ME)^3.
"""

from __future__ import annotations

import bisect
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from ..records import DatasetError, DatasetIndex, Problem
from ..records import ClipRecord
from .common import Entry, IndexBuilder, frame_files, path_name_problem

TYPES = ("micro", "macro")


@dataclass(frozen=True)
class Interval:
    """One annotated expression in a long video; frame numbers as the video's files number them."""

    name: str  # the table's name for it: 'anger1_1' (CAS(ME)^2), '006_1_2' (SAMM-LV)
    onset: int
    apex: int  # -1 where unknown
    offset: int
    type: str  # "micro" | "macro"
    au: str = ""
    emotion: str = ""  # self-reported (CAS(ME)^2) or estimated (SAMM) emotion, "" where unknown
    objective: str = ""  # objective class where the corpus has one ("" where unknown)
    row: int | None = None  # 1-based spreadsheet row


@dataclass(frozen=True)
class LongVideo:
    dataset: str
    subject: str  # LOSO unit: 's15' (CAS(ME)^2), '006' (SAMM-LV)
    video: str  # '15_0101' (CAS(ME)^2: participant and video code), '006_1' (SAMM-LV)
    folder: Path | None  # None when read from the table alone
    numbers: tuple[int, ...]  # frame numbers on disk, ascending
    frames: tuple[Path, ...]  # the files, in the same order
    fps: float
    intervals: tuple[Interval, ...]

    @property
    def key(self) -> str:
        return f"{self.subject}/{self.video}"


@dataclass
class LongVideoIndex:
    dataset: str
    videos: list[LongVideo]
    source: str = ""  # the annotation table
    skipped: list[Problem] = field(default_factory=list)
    changed: list[Problem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def subjects(self) -> list[str]:
        return sorted({v.subject for v in self.videos})

    @property
    def intervals(self) -> list[tuple[LongVideo, Interval]]:
        return [(v, i) for v in self.videos for i in v.intervals]

    def video(self, subject: str, video: str) -> LongVideo | None:
        return next((v for v in self.videos if v.subject == subject and v.video == video), None)

    def summary(self) -> dict:
        """The object ``mpt datasets summary cas2|samm-lv --json`` prints."""
        per_type = Counter(i.type for _, i in self.intervals)
        typed = {
            t: {"intervals": per_type[t], "videos": len({v.key for v, i in self.intervals if i.type == t}),
                "subjects": len({v.subject for v, i in self.intervals if i.type == t})}
            for t in TYPES
        }
        return {
            "dataset": self.dataset,
            "intervals": sum(per_type.values()),
            "videos": len(self.videos),
            "subjects": len(self.subjects),
            "types": typed,
            "skipped": [{"clip": p.clip, "row": p.row, "reason": str(p)} for p in self.skipped],
            "changed": [{"clip": p.clip, "row": p.row, "reason": str(p)} for p in self.changed],
        }


# helpers


class LongVideoBuilder:
    """Collects videos, their intervals, skipped and changed rows for one corpus."""

    def __init__(self, dataset: str, source: Path, strict: bool):
        self.dataset, self.source, self.strict = dataset, Path(source), strict
        self.skipped: list[Problem] = []
        self.changed: list[Problem] = []
        self.warnings: list[str] = []
        self._videos: dict[tuple[str, str], tuple[Path | None, list[Interval]]] = {}
        self._names: dict[tuple[str, str], Interval] = {}

    def skip(self, clip: str, reason: str, row: int | None) -> None:
        p = Problem(source=str(self.source), clip=clip, reason=reason, row=row)
        if self.strict:
            raise DatasetError(str(p))
        self.skipped.append(p)

    def change(self, clip: str, reason: str, row: int | None) -> None:
        self.changed.append(Problem(source=str(self.source), clip=clip, reason=reason, row=row))

    def warn(self, message: str) -> None:
        self.warnings.append(message)

    def add(self, subject: str, video: str, folder: Path | None, interval: Interval) -> None:
        """An interval of a video (``folder`` None: the folder was not found, which the video's
        first interval reports)."""
        outside = path_name_problem(subject, video)
        if outside:
            self.skip(interval.name, outside, interval.row)
            return
        key = (subject, interval.name)
        first = self._names.get(key)
        if first is not None:
            where = f"row {first.row}" if first.row is not None else "an earlier row"
            if (first.onset, first.offset, first.type) == (interval.onset, interval.offset, interval.type):
                self.skip(interval.name, f"duplicate of the expression at {where}", interval.row)
                return
            self.warn(f"{self.source}, row {interval.row}: the name {interval.name} is also given to the "
                      f"{first.type}-expression at {where} ({first.onset}..{first.offset}); both kept")
        else:
            self._names[key] = interval
        if interval.onset > interval.offset:
            self.skip(interval.name, f"onset {interval.onset} after offset {interval.offset}", interval.row)
            return
        self._videos.setdefault((subject, video), (folder, []))[1].append(interval)

    def build(self, pattern_of, fps: float, missing_folder, frames: bool = True) -> LongVideoIndex:
        """Look up each video's frames (``pattern_of(video)``: its file-name pattern;
        ``missing_folder(subject, video)``: why its folder was not found), and check every interval
        lies within them. ``frames`` False: the table alone (the ground truth for evaluation)."""
        videos = []
        for (subject, video), (folder, intervals) in self._videos.items():
            if not frames:
                videos.append(LongVideo(self.dataset, subject, video, None, (), (), fps,
                                        tuple(sorted(intervals, key=lambda i: (i.onset, i.offset)))))
                continue
            if folder is None or not folder.is_dir():
                why = missing_folder(subject, video) if folder is None else f"frames folder not found: {folder}"
                for i in intervals:
                    self.skip(i.name, why, i.row)
                continue
            files = frame_files(folder, pattern_of(video))
            if not files:
                for i in intervals:
                    self.skip(i.name, f"no frames named like {pattern_of(video).pattern} in {folder}", i.row)
                continue
            numbers = tuple(sorted(files))
            kept = []
            for i in sorted(intervals, key=lambda i: (i.onset, i.offset)):
                if i.onset < numbers[0] or i.offset > numbers[-1]:
                    self.skip(i.name, f"onset {i.onset}..offset {i.offset} outside the video's frames "
                              f"{numbers[0]}..{numbers[-1]} in {folder}", i.row)
                    continue
                kept.append(i)
            if kept:
                videos.append(LongVideo(self.dataset, subject, video, folder, numbers,
                                        tuple(files[n] for n in numbers), fps, tuple(kept)))
        videos.sort(key=lambda v: (v.subject, v.video))
        self.skipped.sort(key=lambda p: (p.row or 0))
        self.changed.sort(key=lambda p: (p.row or 0))
        return LongVideoIndex(self.dataset, videos, str(self.source), self.skipped, self.changed, self.warnings)


def frames_between(video: LongVideo, onset: int, offset: int) -> tuple[Path, ...] | str:
    """The video's frames onset..offset inclusive, or why some are missing."""
    lo, hi = bisect.bisect_left(video.numbers, onset), bisect.bisect_right(video.numbers, offset)
    if hi - lo != offset - onset + 1:
        return (f"missing frame(s) in onset {onset}..offset {offset} of {video.folder} "
                f"({hi - lo} of {offset - onset + 1} found)")
    return video.frames[lo:hi]


def micro_clips(index: LongVideoIndex, classes, label_of, known: tuple[str, ...],
                strict: bool = False) -> DatasetIndex:
    """The micro-expressions as a recognition dataset of whole-frame clips.

    ``label_of(interval)`` gives the interval's label text ("" where unknown: a problem; the
    table is named in that problem); ``known`` every label the corpus uses; ``classes`` the selection
    as ``common.resolve_preset`` gives it: (class names in label-index order, {label: class}).
    """
    names, merged = classes
    builder = IndexBuilder(index.dataset, tuple(names), strict)
    builder.skipped.extend(index.skipped)
    for video, i in index.intervals:
        if i.type != "micro":
            continue
        label = label_of(i)
        if not label:
            builder.problem(index.source, i.name, "micro-expression without an emotion or class", i.row)
            continue
        e = Entry(source=index.source, row=i.row, subject=video.subject, clip=i.name, onset=i.onset,
                  apex=i.apex, offset=i.offset, au=i.au, emotion=label)
        cls = builder.classify(e, known, merged)
        if cls is None:
            continue
        frames = frames_between(video, i.onset, i.offset)
        if isinstance(frames, str):
            builder.problem(video.folder, i.name, frames, i.row)
            continue
        builder.clips.append(ClipRecord(
            dataset=index.dataset, subject=video.subject, clip=i.name, label=cls, label_index=names.index(cls),
            frames=frames, onset=i.onset, apex=i.apex, offset=i.offset, fps=video.fps, au=i.au, emotion=label,
        ))
    built = builder.build()
    built.warnings = list(index.warnings) + built.warnings
    built.whole_frames = True
    return built
