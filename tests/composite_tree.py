"""A four-corpus fake tree for composite tests: CASME II, SAMM, SMIC-HS and CAS(ME)^3 Part A, the first
``per_subject`` rows of two subjects of each real table, each part in its own folder under one root
with a coding file holding exactly those rows (so no reader skips anything).

``expected_3class`` counts the picked rows per 3-class class from the emotions, with the mapping
written out here (not taken from mpt's class map).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from fabricate import (
    CASME2_2019, CASME3_HEADER, CASME3_LABEL, SAMM_CODING, casme3_rows, fabricate_casme2, fabricate_casme3,
    fabricate_samm, fabricate_smic, samm_rows, sheet_rows, smic_rows, write_xlsx,
)

SUBJECTS = {"casme2": ("sub01", "sub02"), "samm": ("006", "007"), "smic": ("s1", "s2"), "casme3": ("spNO.1", "spNO.2")}
THREE = {"negative": {"negative", "anger", "contempt", "disgust", "fear", "repression", "sad", "sadness"},
         "positive": {"positive", "happiness", "happy"}, "surprise": {"surprise"}}


def _first(rows, subjects, n):
    out = []
    for s in subjects:
        out += [r for r in rows if r["subject"] == s][:n]
    return out


def fabricate_parts(root: Path, annotations: Path, per_subject: int = 4) -> dict[str, list[dict]]:
    """Write the tree; returns the picked rows per part (subject, clip, emotion, au)."""
    picked = {}
    coding = [dict(subject=f"sub{int(r['Subject']):02d}", clip=r["Filename"], onset=int(r["OnsetFrame"]),
                   apex=r["ApexFrame"], offset=int(r["OffsetFrame"]), emotion=r["Estimated Emotion"],
                   au=r["Action Units"]) for r in sheet_rows(annotations / CASME2_2019, 1)]
    rows = _first(coding, SUBJECTS["casme2"], per_subject)
    fabricate_casme2(root / "casme2", rows)
    write_xlsx(root / "casme2" / "CASME2-coding-test.xlsx",
               ["Subject", "Filename", "OnsetFrame", "ApexFrame", "OffsetFrame", "Action Units", "Estimated Emotion"],
               [[int(r["subject"][3:]), r["clip"], r["onset"], r["apex"], r["offset"], r["au"], r["emotion"]]
                for r in rows])
    picked["casme2"] = rows

    raw = {r["Filename"]: r["Action Units"] for r in sheet_rows(annotations / SAMM_CODING, 14)}
    rows = [{**r, "au": raw[r["clip"]]} for r in _first(samm_rows(annotations / SAMM_CODING), SUBJECTS["samm"],
                                                         per_subject)]
    fabricate_samm(root / "samm", rows)
    write_xlsx(root / "samm" / "SAMM_Micro_FACS_Codes_test.xlsx",
               ["Subject", "Filename", "Onset Frame", "Apex Frame", "Offset Frame", "Action Units",
                "Estimated Emotion"],
               [[r["subject"], r["clip"], r["onset"], r["apex"], r["offset"], r["au"], r["emotion"]] for r in rows],
               notes=3)
    picked["samm"] = rows

    rows = _first(smic_rows(annotations / "HS_cropped.csv"), SUBJECTS["smic"], per_subject)
    fabricate_smic(root / "smic", rows)
    picked["smic"] = [{**r, "au": ""} for r in rows]

    rows = [r for r in casme3_rows(annotations / CASME3_LABEL) if r["offset"] - r["onset"] < 60]
    rows = _first(rows, SUBJECTS["casme3"], per_subject)
    fabricate_casme3(root / "casme3", rows)
    write_xlsx(root / "casme3" / "test_part_A_ME_label.xlsx", CASME3_HEADER,
               [[r["subject"], r["recording"], str(r["onset"]), str(r["apex"]), str(r["offset"]), r["au"],
                 r["objective"], r["emotion"]] for r in rows])
    picked["casme3"] = [{**r, "clip": f"{r['subject']}_{r['recording']}_{r['onset']}"} for r in rows]
    return picked


def expected_3class(rows: list[dict]) -> Counter:
    """{class: clips} for rows whose emotion one of the three classes gathers."""
    out = Counter()
    for r in rows:
        for cls, members in THREE.items():
            if str(r["emotion"]).lower() in members:
                out[cls] += 1
    return out
