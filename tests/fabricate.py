"""Fake dataset trees for reader tests: tiny frame files named as in each release, built in a temp folder
from the real annotation tables. The tables are parsed here on their own (fixed header rows, plain
openpyxl/csv), independently of the readers under test.

Import from tests as ``from fabricate import ...`` (pytest puts tests/ on sys.path).
"""

from __future__ import annotations

import atexit
import csv
import os
import re
import shutil
import tempfile
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np
import openpyxl

CASME2_CLASSES = ("happiness", "surprise", "disgust", "repression", "others")
SAMM_CLASSES = ("anger", "contempt", "happiness", "surprise", "other")
CASME2_2014, CASME2_2019 = "CASME2-coding-20140508.xlsx", "CASME2-coding-20190701.xlsx"
SAMM_CODING = "SAMM_Micro_FACS_Codes_v2.xlsx"


@lru_cache(maxsize=None)
def _image_file(ext: str) -> Path:
    """One 4x4 image per extension; frames are hard links to it (much faster than writing 50k files)."""
    ok, buf = cv2.imencode(f".{ext}", np.full((4, 4, 3), 128, np.uint8))
    assert ok
    folder = tempfile.mkdtemp(prefix="mpt-frame-")
    atexit.register(shutil.rmtree, folder, True)  # the links keep the data
    path = Path(folder) / f"frame.{ext}"
    path.write_bytes(buf.tobytes())
    return path


def write_frames(clip_dir: Path, numbers, name: str) -> None:
    """A 4x4 image for every frame number, named ``name.format(n)`` (e.g. ``reg_img{}.jpg``)."""
    clip_dir.mkdir(parents=True, exist_ok=True)
    src = _image_file(name.rsplit(".", 1)[1])
    for n in numbers:
        try:
            os.link(src, clip_dir / name.format(n))
        except OSError:  # another file system: copy instead
            shutil.copyfile(src, clip_dir / name.format(n))


# annotation tables, parsed with fixed layouts


def sheet_rows(path: Path, header_row: int) -> list[dict]:
    """Rows under the 1-based ``header_row`` of the first sheet, as {header: value} plus ``_row``."""
    ws = openpyxl.load_workbook(path, read_only=True, data_only=True).worksheets[0]
    rows = list(ws.iter_rows(values_only=True))
    header = rows[header_row - 1]
    out = []
    for r, values in enumerate(rows[header_row:], start=header_row + 1):
        if any(v is not None for v in values):
            out.append({**{h: v for h, v in zip(header, values) if h is not None}, "_row": r})
    return out


def casme2_rows(path: Path) -> list[dict]:
    """CASME II coding rows (header on row 1): subject 'subXX', clip, onset, apex, offset, emotion, row."""
    return [
        dict(subject=f"sub{int(r['Subject']):02d}", clip=r["Filename"], onset=int(r["OnsetFrame"]),
             apex=r["ApexFrame"], offset=int(r["OffsetFrame"]), emotion=r["Estimated Emotion"], row=r["_row"])
        for r in sheet_rows(path, 1)
    ]


def samm_rows(path: Path) -> list[dict]:
    """SAMM coding rows (header on spreadsheet row 14)."""
    return [
        dict(subject=str(r["Subject"]), clip=r["Filename"], onset=int(r["Onset Frame"]), apex=r["Apex Frame"],
             offset=int(r["Offset Frame"]), emotion=r["Estimated Emotion"], row=r["_row"])
        for r in sheet_rows(path, 14)
    ]


def smic_rows(path: Path) -> list[dict]:
    with open(path, newline="") as f:
        return [
            dict(subject=f"s{int(r['Subject'])}", clip=r["Filename"], onset=int(r["OnsetFrame"]),
                 offset=int(r["OffsetFrame"]), emotion=r["Estimated Emotion"])
            for r in csv.DictReader(f)
        ]


def write_xlsx(path: Path, header: list, rows: list[list], notes: int = 0) -> Path:
    """An .xlsx with ``notes`` filler rows, then ``header``, then ``rows``."""
    wb = openpyxl.Workbook()
    ws = wb.active
    for i in range(notes):
        ws.append([f"note {i}"])
    ws.append(header)
    for r in rows:
        ws.append(r)
    wb.save(path)
    return path


# trees


def fabricate_casme2(root: Path, rows: list[dict], *, layout: str = "Cropped", margin: int = 0) -> Path:
    """``root/Cropped/subXX/CLIP/reg_imgN.jpg`` (or ``CASME2_RAW_selected/.../imgN.jpg``) for frames
    onset-margin..offset+margin of each row."""
    name = "reg_img{}.jpg" if layout == "Cropped" else "img{}.jpg"
    for r in rows:
        write_frames(root / layout / r["subject"] / r["clip"], range(max(0, r["onset"] - margin), r["offset"] + margin + 1), name)
    return root


def fabricate_samm(root: Path, rows: list[dict], *, margin: int = 0) -> Path:
    """``root/SAMM/006/006_1_2/006_05562.jpg``."""
    for r in rows:
        s = r["subject"]
        write_frames(root / "SAMM" / s / r["clip"], range(r["onset"] - margin, r["offset"] + margin + 1), s + "_{:05d}.jpg")
    return root


def fabricate_smic(root: Path, rows: list[dict], *, cropped: bool = True) -> Path:
    """``root/SMIC_all_cropped/HS/s1/micro/negative/s1_ne_01/reg_image{:06d}.bmp`` (or raw ``HS/.../image``)."""
    hs = root / "SMIC_all_cropped" / "HS" if cropped else root / "HS"
    name = "reg_image{:06d}.bmp" if cropped else "image{:06d}.bmp"
    for r in rows:
        write_frames(hs / r["subject"] / "micro" / r["emotion"] / r["clip"], range(r["onset"], r["offset"] + 1), name)
    return root


def megc_rows(path: Path) -> list[tuple[str, str, str, int]]:
    with open(path, newline="") as f:
        return [(d, s, c, int(label)) for d, s, c, label in csv.reader(f)]


def unpad_smic(name: str) -> str:
    return re.sub(r"^s0*(\d+)", lambda m: f"s{int(m.group(1))}", name)


def shared_tree(tmp_path_factory, kind: str, annotations: Path) -> Path:
    """One full fake tree per test session, shared by the test modules (building them is the slow part).

    casme2: every row of the 2019 coding file (same frames as 2014), one extra frame each side, plus the
    2014 coding file in the root; samm: every row, two extra frames each side, plus the coding file;
    smic: HS_cropped.csv; megc2019: links to those three plus combined_3class_gt.csv. Do not modify.
    """
    root = tmp_path_factory.getbasetemp() / f"shared-{kind}"
    if (root / ".complete").exists():
        return root
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir()
    if kind == "casme2":
        fabricate_casme2(root, casme2_rows(annotations / CASME2_2019), margin=1)
        shutil.copy(annotations / CASME2_2014, root)
    elif kind == "samm":
        fabricate_samm(root, samm_rows(annotations / SAMM_CODING), margin=2)
        shutil.copy(annotations / SAMM_CODING, root)
    elif kind == "smic":
        fabricate_smic(root, smic_rows(annotations / "HS_cropped.csv"))
    elif kind == "megc2019":
        for d in ("casme2", "samm", "smic"):
            (root / d).symlink_to(shared_tree(tmp_path_factory, d, annotations), target_is_directory=True)
        shutil.copy(annotations / "combined_3class_gt.csv", root)
    else:
        raise ValueError(kind)
    (root / ".complete").touch()
    return root


# CAS(ME)^3 Part A

CASME3_LABEL = "cas(me)3_part_A_ME_label_JpgIndex_v2.xlsx"
CASME3_HEADER = ["Subject", "Filename", "Onset", "Apex", "Offset", "AU", "Objective class", "emotion"]


def casme3_rows(path: Path) -> list[dict]:
    """CAS(ME)^3 Part A label rows (sheet ``label``, header on row 1; frame numbers stored as text)."""
    ws = openpyxl.load_workbook(path, read_only=True, data_only=True)["label"]
    rows = list(ws.iter_rows(values_only=True))
    assert list(rows[0][:8]) == CASME3_HEADER, rows[0]
    return [
        dict(subject=s, recording=f, onset=int(on), apex=int(ap), offset=int(off), au=au, objective=obj, emotion=em,
             row=r)
        for r, (s, f, on, ap, off, au, obj, em, *_) in enumerate(rows[1:], start=2)
        if s is not None
    ]


def fabricate_casme3(root: Path, rows: list[dict], *, depth: bool = False) -> Path:
    """``root/spNO.1/e/color/62.jpg`` for every frame from the smallest to the largest frame number a row
    names (a 0 names no frame: there is no ``0.jpg``); with ``depth``, ``depth/62.png`` beside them."""
    frames: dict[Path, set[int]] = {}
    for r in rows:
        named = [n for n in (r["onset"], r["apex"], r["offset"]) if n > 0]
        frames.setdefault(root / r["subject"] / r["recording"], set()).update(range(min(named), max(named) + 1))
    for folder, numbers in frames.items():
        write_frames(folder / "color", sorted(numbers), "{}.jpg")
        if depth:
            write_frames(folder / "depth", sorted(numbers), "{}.png")
    return root


# long videos: CAS(ME)^2 and SAMM Long Videos

CAS2_TABLE, SAMMLV_TABLE = "CASME_sq_gt.xlsx", "SAMMLV_gt.xlsx"
CAS2_CODES = {"disgust1": "0101", "disgust2": "0102", "anger1": "0401", "anger2": "0402", "happy1": "0502",
              "happy2": "0503", "happy3": "0505", "happy4": "0507", "happy5": "0508"}  # SOURCES.md, naming rule2


def cas2_rows(path: Path) -> list[dict]:
    """The expressions sheet (the first; no header) by position, its participant index mapped through
    the second sheet (naming rule1, row-aligned with the first): subject 's15', number 15, video name."""
    book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    first, rule1 = (list(ws.iter_rows(values_only=True)) for ws in book.worksheets[:2])
    out = []
    for r, (cells, naming) in enumerate(zip(first, rule1), start=1):
        index, name, onset, apex, offset, au, objective, kind, emotion = cells[:9]
        assert naming[2] == index, (r, naming, index)
        out.append(dict(row=r, number=naming[0], subject=naming[1], name=name, video=name.rsplit("_", 1)[0],
                        onset=onset, apex=apex, offset=offset, objective=objective, type=kind.split("-")[0],
                        emotion=emotion))
    return out


def fabricate_cas2(root: Path, rows: list[dict], *, description: str = "somedescription") -> Path:
    """``root/rawpic/s15/15_0101somedescription/imgN.jpg``: frame 1, every frame of each micro-expression,
    the onset, apex and offset of each macro-expression (a spotting reader lists the folder, it does not
    read 4,000 frames of each video) and the video's last named frame + 5."""
    frames: dict[Path, set[int]] = {}
    for r in rows:
        folder = root / "rawpic" / r["subject"] / f"{r['number']}_{CAS2_CODES[r['video']]}{description}"
        named = [n for n in (r["onset"], r["apex"], r["offset"]) if n > 0]
        got = frames.setdefault(folder, {1})
        got.update(range(r["onset"], max(named) + 1) if r["type"] == "micro" else named)
        got.add(max(named) + 5)
    for folder, numbers in frames.items():
        write_frames(folder, sorted(numbers), "img{}.jpg")
    return root


def sammlv_rows(path: Path) -> list[dict]:
    """SAMMLV_gt rows (header on spreadsheet row 10); frame numbers rounded to the nearest integer."""
    out = []
    for r in sheet_rows(path, 10):
        on, ap, off = (int(float(r[c]) + 0.5) if float(r[c]) >= 0 else int(r[c]) for c in ("Onset", "Apex", "Offset"))
        out.append(dict(row=r["_row"], subject=str(r["Subject"]), name=r["Filename"], video=r["Filename"].rsplit("_", 1)[0],
                        onset=on, apex=ap, offset=off, type="micro" if r["Type"].startswith("Micro") else "macro"))
    return out


def fabricate_sammlv(root: Path, rows: list[dict]) -> Path:
    """``root/SAMM_longvideos/006_1/006_1_0001.jpg``: as ``fabricate_cas2``, frame 1, micro-expressions
    whole, macro-expressions' onset, apex and offset, and the last named frame + 5."""
    frames: dict[str, set[int]] = {}
    for r in rows:
        named = [max(n, 1) for n in (r["onset"], r["apex"], r["offset"]) if n != -1]
        got = frames.setdefault(r["video"], {1})
        got.update(range(r["onset"], r["offset"] + 1) if r["type"] == "micro" else named)
        got.add(max(named) + 5)
    for video, numbers in frames.items():
        write_frames(root / "SAMM_longvideos" / video, sorted(numbers), video + "_{:04d}.jpg")
    return root
