"""Annotation AU strings as the corpora write them, read into AUs with a side and a certainty.

CASME II: ``4+7+L10``, ``R12``, ``?``; SAMM: ``1A+2B+L14C``, ``(R6 or R12)+R15``, ``12A+ref(24)``,
``A/L12``, ``R14+17+soft focus``, ``T18``; CAS(ME)^3: ``2+1+14``, ``B23``. ``L``/``R`` name the
subject's own side (FACS), trailing ``A``-``E`` the intensity. An AU inside ``ref(...)`` (SAMM's
"referred to", not coded as present) or in an ``or`` alternative is *uncertain*: it is neither stated
as present nor asked about. Text that is not an AU (``soft focus``) is ignored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# FACS names of the AUs the corpora use beyond those mpt describe measures (its AU_NAMES)
OTHER_AU_NAMES = {
    3: "brow knitter", 8: "lips toward each other", 11: "nasolabial deepener", 13: "sharp lip puller",
    16: "lower lip depressor", 18: "lip pucker", 20: "lip stretcher", 21: "neck tightener", 22: "lip funneler",
    23: "lip tightener", 25: "lips part", 26: "jaw drop", 27: "mouth stretch", 28: "lip suck", 31: "jaw clencher",
    38: "nostril dilator", 39: "nostril compressor", 43: "eyes closed", 56: "head tilt right", 61: "eyes turn left",
}
_TOKEN = re.compile(r"(?<![A-Za-z])(?:AU)?([A-Z]?)(?:/([LR]))?(\d{1,2})([A-E](?:/[A-E])?)?(?![0-9])", re.IGNORECASE)


@dataclass(frozen=True)
class AnnotatedAU:
    number: int
    side: str  # "L", "R" (the subject's side) or "" (both / not said)
    certain: bool

    @property
    def label(self) -> str:
        return f"AU{self.number}"


def au_name(number: int) -> str:
    from .measure import au_catalogue

    return au_catalogue()[1].get(number) or OTHER_AU_NAMES.get(number, "action unit")


def parse_aus(text: str) -> list[AnnotatedAU]:
    """Every AU of an annotation string, in order, each number once (a certain mention wins)."""
    text = str(text or "")
    found: dict[int, AnnotatedAU] = {}
    for part in re.split(r"\+", text):
        uncertain_part = bool(re.search(r"\bor\b", part, re.IGNORECASE))
        refs = re.findall(r"ref\s*\(([^)]*)\)", part, re.IGNORECASE)
        plain = re.sub(r"ref\s*\([^)]*\)", " ", part, flags=re.IGNORECASE)
        for chunk, certain in [(plain, not uncertain_part)] + [(r, False) for r in refs]:
            for t in _TOKEN.finditer(chunk):
                prefix, slash_side, number = t.group(1).upper(), (t.group(2) or "").upper(), int(t.group(3))
                side = slash_side or (prefix if prefix in ("L", "R") else "")
                au = AnnotatedAU(number, side, certain)
                if number not in found or (certain and not found[number].certain):
                    found[number] = au
    return list(found.values())
