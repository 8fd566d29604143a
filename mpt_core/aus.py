"""Action Unit strings of the coding tables, read into the AUs a clip shows.

The tables write a clip's FACS code as terms joined by ``+`` (``4+7+L10``, ``1A+2B+L14C``). How each
mark is read (the SAMM tables' symbol key, "/ = or", "L2 or R2 = unilateral", "A2 = asymmetric", and
FACS's own notation):

* a term is an AU number, optionally written ``AU12``, with any of these marks, which all mean *present*:
  a side or part prefix ``L``/``R`` (unilateral), ``A`` (asymmetric), ``T``/``B`` (top/bottom lip,
  ``T18``, ``B28``), prefix alternatives ``A/L12``; an intensity letter ``A``..``E`` (``12C``) or
  intensity alternatives ``10A/B``; a trailing ``?`` (SAMM: "the offset is unclear").
* alternatives between AUs, ``R6 or R12``, ``(R6 or R12)``, ``12/14``, make each named AU *uncertain*:
  neither present nor absent; training masks it for that clip. Alternatives that all name one AU
  (``L12 or R12``) mean it is present.
* ``ref(X)`` is in no table's symbol key: the AUs inside are *uncertain* too, rather than guessed.
* the whole string ``?`` (CASME II 2014, five rows) or an empty cell: the AUs are *unknown*.
* anything else (``soft focus``, a term with no AU number) is *unparsed*: the term is reported, and
  the clip is left out of AU training, rather than read half-way.

An AU named both as present and in an alternative is present.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# one AU: optional side/part prefix (or alternatives of them), optional "AU", the number, optional
# intensity letter (or alternatives of them), optional "?" (unclear offset)
_ONE_AU = re.compile(r"(?:[LRABT](?:/[LRABT])*)?\s*(?:AU)?\s*(\d{1,2})(?:[A-E](?:/[A-E])*)?\s*\??", re.IGNORECASE)
_REF = re.compile(r"ref\s*\((.*)\)", re.IGNORECASE)
_OR = re.compile(r"\s+or\s+", re.IGNORECASE)
UNKNOWN_TEXTS = ("", "?")


# helpers


def au_text(value: object) -> str:
    """A table cell as AU text: numbers (``12``, ``12.0``) as their digits, None as ''."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value)


def _split_top(text: str) -> list[str]:
    """``text`` split at the ``+`` signs outside parentheses."""
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        depth += (ch == "(") - (ch == ")")
        if ch == "+" and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return [p.strip() for p in parts]


def _one(text: str) -> int | None:
    m = _ONE_AU.fullmatch(text.strip())
    return int(m.group(1)) if m and int(m.group(1)) > 0 else None


def _alternatives(term: str) -> list[int] | None:
    """The AU of each alternative in ``term`` (``R6 or R12``, ``12/14``), or None if one is unreadable."""
    while term.startswith("(") and term.endswith(")"):
        term = term[1:-1].strip()
    out = []
    for alt in _OR.split(term):
        n = _one(alt)
        if n is not None:
            out.append(n)
            continue
        if "/" not in alt:
            return None
        ns = [_one(a) for a in alt.split("/")]
        if None in ns:
            return None
        out.extend(ns)
    return out


# classes


@dataclass(frozen=True)
class AUCode:
    """One clip's AU string, read. ``present``/``uncertain`` are sorted AU numbers."""

    text: str
    present: tuple[int, ...] = ()
    uncertain: tuple[int, ...] = ()
    unparsed: tuple[str, ...] = ()  # terms that could not be read
    unknown: bool = False  # '?' or empty: the coder gave no AUs

    @property
    def usable(self) -> bool:
        """Whether the clip can be an AU training/test example."""
        return not self.unknown and not self.unparsed

    @property
    def problem(self) -> str | None:
        """Why the clip cannot be used, or None."""
        if self.unknown:
            return f"AU string {self.text!r}: AUs not coded"
        if self.unparsed:
            return f"AU string {self.text!r}: cannot read {', '.join(repr(t) for t in self.unparsed)}"
        return None

    def target(self, au: int) -> int:
        """1 present, 0 absent, -1 uncertain (masked) for one AU; the clip must be ``usable``."""
        return 1 if au in self.present else -1 if au in self.uncertain else 0


def parse_aus(value: object) -> AUCode:
    """Read one AU cell (text or number) as documented in the module docstring."""
    text = au_text(value)
    if text.strip() in UNKNOWN_TEXTS:
        return AUCode(text, unknown=True)
    present: set[int] = set()
    uncertain: set[int] = set()
    unparsed: list[str] = []
    for term in _split_top(text.strip()):
        ref = _REF.fullmatch(term)
        alts = _alternatives(ref.group(1).strip() if ref else term) if term else None
        if alts is None:
            unparsed.append(term)
        elif len(set(alts)) == 1 and not ref:
            present.add(alts[0])
        else:
            uncertain.update(alts)
    return AUCode(text, tuple(sorted(present)), tuple(sorted(uncertain - present)), tuple(unparsed))


def au_name(au: int) -> str:
    return f"AU{au}"


def parse_au_list(text: str) -> tuple[int, ...]:
    """``"1,2,4"`` or ``"AU1, AU12"`` -> (1, 2, 4); ValueError naming the bad item."""
    out = []
    for item in str(text).split(","):
        item = item.strip()
        m = re.fullmatch(r"(?:AU)?(\d{1,2})", item, re.IGNORECASE)
        if not m or int(m.group(1)) == 0:
            raise ValueError(f"bad AU {item!r}: expected AU numbers such as 1,2,4,12")
        if int(m.group(1)) in out:
            raise ValueError(f"AU {int(m.group(1))} given twice")
        out.append(int(m.group(1)))
    return tuple(out)
