"""Annotation tables of the long-video corpora in their real formats, for synthetic data and tests.

``write_cas2_table``: CAS(ME)^2's ``CASME_sq_gt.xlsx`` layout (a header-less expressions sheet,
``naming rule1`` and ``naming rule2``); ``write_sammlv_tables``: SAMM-LV's ``SAMMLV_gt.xlsx`` (nine
note rows, the header on row 10) and, for the micro-expressions' emotions, a
``SAMM_Micro_FACS_Codes``-style table (13 note rows, the header on row 14). Byte-stable for a given
input (fixed timestamps), like the other synthetic tables.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

from .writer import _write_stable_zip

# CAS(ME)^2 video names and their codes (the real naming rule2)
CAS2_VIDEOS = (("0101", "disgust1"), ("0102", "disgust2"), ("0401", "anger1"), ("0402", "anger2"), ("0502", "happy1"),
               ("0503", "happy2"), ("0505", "happy3"), ("0507", "happy4"), ("0508", "happy5"))
CAS2_FIRST_PARTICIPANT = 15  # the real folders run s15..s40
SAMM_FIRST_SUBJECT = 6  # the real subjects run 006..037


@dataclass(frozen=True)
class TableRow:
    """One annotated expression of a long video, as the tables need it."""

    subject: int  # 1-based index of the subject
    video: int  # 1-based index of the video within the subject
    number: int  # 1-based number of the expression within its video
    onset: int
    apex: int
    offset: int
    type: str  # "micro" | "macro"
    aus: str
    emotion: str  # SAMM-style estimated emotion (Capitalised) or CAS(ME)^2 self-report
    objective: str = ""  # CAS(ME)^2 objective class


def cas2_names(subject: int, video: int) -> tuple[str, str, str]:
    """(subject folder 's15', video id '15_0101', video name 'disgust1')."""
    number = CAS2_FIRST_PARTICIPANT + subject - 1
    code, name = CAS2_VIDEOS[video - 1]
    return f"s{number}", f"{number}_{code}", name


def samm_names(subject: int, video: int) -> tuple[str, str]:
    """(subject '006', video '006_1')."""
    s = f"{SAMM_FIRST_SUBJECT + subject - 1:03d}"
    return s, f"{s}_{video}"


def _save(path: Path, wb) -> Path:
    buf = io.BytesIO()
    wb.save(buf)
    _write_stable_zip(Path(path), buf.getvalue())
    return Path(path)


def write_cas2_table(path: Path, rows: list[TableRow]) -> Path:
    from openpyxl import Workbook

    wb = Workbook()
    first = wb.active
    first.title = "CASFEcode_final"
    rule1, rule2 = wb.create_sheet("naming rule1"), wb.create_sheet("naming rule2")
    for r in rows:
        _, _, name = cas2_names(r.subject, r.video)
        kind = "micro-expression" if r.type == "micro" else "macro-expression"
        aus = int(r.aus) if r.aus.isdigit() else r.aus  # single AUs are numbers in the real table
        first.append([r.subject, f"{name}_{r.number}", r.onset, r.apex, r.offset, aus, r.objective, kind, r.emotion])
        number = CAS2_FIRST_PARTICIPANT + r.subject - 1
        rule1.append([number, f"s{number}", r.subject])
    for code, name in CAS2_VIDEOS:
        rule2.append([code, name])
    return _save(path, wb)


SAMMLV_NOTES = ("SAMM Long Videos Dataset - FACS Codes (synthetic)", None, "Symbol Key:", '"/" = or', None, "AU Help:",
                '"L2 or R2" = Unilateral AU 2 on left side of face / right side of face',
                '"A2" = Asymmetric AU 2', None)
SAMMLV_HEADER = ("Subject", "Filename", "Inducement Code", "Onset", "Apex", "Offset", "Duration", "Type",
                 "Action Units", "Notes")
CODES_HEADER = ("Subject", "Filename", "Inducement Code", "Onset Frame", "Apex Frame", "Offset Frame", "Duration",
                "Micro", "Action Units", "Estimated Emotion", "Objective Classes", "Notes")


def write_sammlv_tables(path: Path, codes_path: Path, rows: list[TableRow]) -> tuple[Path, Path]:
    from openpyxl import Workbook

    lv, codes = Workbook(), Workbook()
    sheet, micro = lv.active, codes.active
    sheet.title, micro.title = "FACS_Movement_Only", "MICRO_ONLY"
    for note in SAMMLV_NOTES:
        sheet.append([note])
    sheet.append(SAMMLV_HEADER)
    for i in range(13):
        micro.append([f"note {i}" if i % 4 == 0 else None])
    micro.append(CODES_HEADER)
    for r in rows:
        subject, video = samm_names(r.subject, r.video)
        name = f"{video}_{r.number}"
        kind = "Micro - 1/2" if r.type == "micro" else "Macro"
        aus = int(r.aus) if r.aus.isdigit() else r.aus
        sheet.append([subject, name, r.video, r.onset, r.apex, r.offset, r.offset - r.onset + 1, kind, aus, None])
        if r.type == "micro":
            micro.append([subject, name, r.video, r.onset, r.apex, r.offset, r.offset - r.onset + 1, "Micro - 1/2",
                          aus, r.emotion, r.objective or None, None])
    codes_path = _save(codes_path, codes)  # before the main table, whose presence marks a finished dataset
    return _save(path, lv), codes_path
