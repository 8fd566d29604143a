"""The dual constraint: each annotated AU checked against the measured region motion, in words.

For every AU the annotation codes as present (``aus.parse_aus``, certain only):

- ``confirmed``: a motion-based candidate of its family (``AU_FAMILIES``: AUs whose motion looks
  alike at 224 px) fired; described as seen, with the motion of the regions that fired.
- ``moved``: no candidate of its family fired, but a region it is measured on moved (another way);
  named as annotated, with what those regions did.
- ``unresolved``: its regions did not move measurably; named as annotated, below what the flow
  resolves (the clip's threshold).
- ``not covered``: no region measures it (AU25, AU26, ...); named as annotated only.

A candidate whose family is not annotated is never stated as present: its motion is "consistent
with" the AU, "which is not annotated". Every sentence that names an AU not coded as present says
"not annotated" (the tests read every answer for it). Sides in the text are the subject's own
(FACS: ``R12`` is the subject's right), so the image's left region is the subject's right.
"""

from __future__ import annotations

from dataclasses import dataclass

from .aus import AnnotatedAU, au_name
from .measure import AU_REGIONS, au_catalogue, region_stem

STATUSES = ("confirmed", "moved", "unresolved", "not covered")
NICE = {"brow_inner": "inner brow", "brow_outer": "outer brow"}


@dataclass(frozen=True)
class AUCheck:
    au: AnnotatedAU
    name: str
    status: str  # one of STATUSES
    family: int | None  # index into AU_FAMILIES; None when not covered
    regions: tuple[str, ...]  # region stems it is measured on
    evidence: str  # "the lip corners moved up and outward 0.9 px", or ""
    by_family: bool = False  # confirmed by motion of another AU of its family, not on its own regions
    paired: tuple[str, ...] = ()  # which of ``regions`` come as a left/right pair (for the wording)


@dataclass(frozen=True)
class Grounding:
    checks: tuple[AUCheck, ...]  # certain annotated AUs, in annotation order
    uncertain: tuple[AnnotatedAU, ...]  # in ref(...) or an "or" alternative
    motion_only: tuple[tuple[str, str, str], ...]  # (AU label, name, evidence) of unannotated families
    families: dict[int, str]  # family index -> status of the annotated family (best of its AUs)
    text: str


# helpers


def stem_words(stem: str, plural: bool = False) -> str:
    nice = NICE.get(stem, stem.replace("_", " "))
    return nice + ("s" if plural and not nice.endswith("s") else "")


def subject_side(name: str) -> str:
    """The subject's side of a paired region: the image's left is the subject's right."""
    return "right" if name.endswith("_left") else "left" if name.endswith("_right") else ""


def direction_words(region: dict) -> str:
    """describe's direction, with a midline region's image left/right turned to the subject's side."""
    words = region["direction"].split(" and ")
    swap = {"left": "toward the subject's right", "right": "toward the subject's left"}
    return " and ".join(swap.get(w, w) if not subject_side(region["name"]) else w for w in words)


def motion_phrases(regions: list[dict]) -> list[str]:
    """'the lip corners moved up 0.8 px' for both sides alike, else one phrase per region."""
    by_name = {r["name"]: r for r in regions}
    out, done = [], set()
    for r in regions:
        name = r["name"]
        if name in done or r["direction"] == "still":
            continue
        stem = region_stem(name)
        pair = [by_name.get(stem + s) for s in ("_left", "_right")] if stem != name else []
        if len(pair) == 2 and all(p is not None and p["direction"] == r["direction"] for p in pair):
            done.update(p["name"] for p in pair)
            mean = (pair[0]["magnitude"] + pair[1]["magnitude"]) / 2
            out.append(f"the {stem_words(stem, True)} moved {direction_words(r)} {mean:.1f} px")
        else:
            side = f"subject's {subject_side(name)} " if subject_side(name) else ""
            out.append(f"the {side}{stem_words(stem)} moved {direction_words(r)} {r['magnitude']:.1f} px")
    return out


def join(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def family_of(number: int) -> int | None:
    families = au_catalogue()[0]
    return next((i for i, f in enumerate(families) if number in f), None)


def family_label(index: int) -> str:
    return "+".join(f"AU{a}" for a in sorted(au_catalogue()[0][index]))


def coverage() -> dict[str, list[str]]:
    """AU family -> the region stems it is measured on (the statistics and the README print it)."""
    out = {}
    for i, family in enumerate(au_catalogue()[0]):
        stems = []
        for au in sorted(family):
            stems += [s for s in AU_REGIONS.get(au, ()) if s not in stems]
        out[family_label(i)] = stems
    return out


# the grounding


def ground(motion: dict, aus: list[AnnotatedAU], code: str = "") -> Grounding:
    """Check the annotated ``aus`` (parsed from the annotation's AU ``code``) against one clip's
    ``motion`` (``measure.Measurement.motion``)."""
    regions = motion["regions"]
    by_name = {r["name"]: r for r in regions}
    threshold = motion["threshold_px"]
    fired: dict[int, list[str]] = {}  # family -> regions its candidates fired on
    for c in motion["au_candidates"]:
        f = family_of(int(c["au"].removeprefix("AU")))
        if f is not None:
            fired.setdefault(f, [])
            fired[f] += [n for n in c["regions"] if n not in fired[f]]
    certain = [a for a in aus if a.certain]
    uncertain = tuple(a for a in aus if not a.certain)
    checks, families, explained = [], {}, set()
    for a in certain:
        stems = AU_REGIONS.get(a.number, ())
        f = family_of(a.number)
        if f is None or not stems:
            checks.append(AUCheck(a, au_name(a.number), "not covered", None, (), ""))
            continue
        paired = tuple(st for st in stems if st + "_left" in by_name)
        if f in fired:  # the family's candidates fired: the AU's own regions among them, else all of them
            names, status = [n for n in fired[f] if region_stem(n) in stems] or fired[f], "confirmed"
            if not any(region_stem(n) in stems for n in names):
                status = "confirmed by family"  # reported as "confirmed"; the text names the family
        else:
            names = [n for n in by_name if region_stem(n) in stems and by_name[n]["direction"] != "still"]
            status = "moved" if names else "unresolved"
        explained.update(names)
        evidence = join(motion_phrases([by_name[n] for n in names])) if names else ""
        by_family = status == "confirmed by family"
        status = "confirmed" if by_family else status
        checks.append(AUCheck(a, au_name(a.number), status, f, stems, evidence, by_family, paired))
        if f not in families or STATUSES.index(status) < STATUSES.index(families[f]):
            families[f] = status
    mentioned = {family_of(a.number) for a in certain}
    motion_only = []
    for c in motion["au_candidates"]:
        number = int(c["au"].removeprefix("AU"))
        if family_of(number) in mentioned:
            continue
        names = [n for n in c["regions"] if n in by_name]
        explained.update(names)
        motion_only.append((c["au"], au_name(number), join(motion_phrases([by_name[n] for n in names]))))
    other = motion_phrases([r for r in regions if r["name"] not in explained])
    return Grounding(tuple(checks), uncertain, tuple(motion_only), families,
                     describe_grounding(checks, uncertain, motion_only, other, threshold, motion, code))


def where(check: AUCheck) -> str:
    return f"measured on the {join([stem_words(s, s in check.paired) for s in check.regions])}"


def sided(a: AnnotatedAU) -> str:
    return f", subject's {'left' if a.side == 'L' else 'right'} side" if a.side else ""


def describe_grounding(checks, uncertain, motion_only, other, threshold, motion, code: str = "") -> str:
    sentences = []
    annotated = {c.au.number for c in checks}
    for c in checks:
        head = f"{c.au.label} ({c.name}{sided(c.au)})"
        if c.status == "confirmed" and c.by_family:
            # the family's label names its other AUs: say which of them are not annotated
            others = [f"AU{a}" for a in sorted(au_catalogue()[0][c.family]) if a not in annotated]
            note = f"; {join(others)} {'is' if len(others) == 1 else 'are'} not annotated" if others else ""
            sentences.append(f"{head} is annotated; the flow shows motion of its family ({family_label(c.family)}, "
                             f"alike at this resolution{note}) though not on its own regions ({where(c)}): "
                             f"{c.evidence}.")
        elif c.status == "confirmed":
            sentences.append(f"{head} is annotated and seen in the flow ({where(c)}): {c.evidence}.")
        elif c.status == "moved":
            sentences.append(f"{head} is annotated; its regions moved, but not the way {c.au.label} moves them: "
                             f"{c.evidence}.")
        elif c.status == "unresolved":
            sentences.append(f"{head} is annotated, but its regions ({where(c)}) moved less than {threshold:.2f} px, "
                             "below what the flow resolves in this clip.")
        else:
            sentences.append(f"{head} is annotated; no measured region covers it, so the flow neither confirms nor "
                             "contradicts it.")
    if uncertain:
        names = join([a.label for a in uncertain])
        sentences.append(f"{names} appear{'s' if len(uncertain) == 1 else ''} only as an alternative or a reference "
                         "in the annotation and so are not annotated as present.")
    if not checks and not uncertain:
        sentences.append(f"The annotation's AU code ({code.strip()}) names no action unit." if code.strip()
                         else "No action units are annotated for this clip.")
    for label, name, evidence in motion_only:
        sentences.append(f"Relative to the head, {evidence}: motion consistent with {label} ({name}), which is not "
                         "annotated as present.")
    if other:
        sentences.append(f"Other motion relative to the head: {join(other)}.")
    if not any(r["direction"] != "still" for r in motion["regions"]):
        sentences.append(f"No facial region moved {threshold:.2f} px or more relative to the head.")
    apex = (f"the apex frame {motion['apex']}" if motion.get("apex_chosen", "given") == "given" else
            f"frame {motion['apex']}, taken as the apex (none is annotated: the frame of most motion energy)")
    sentences.append(f"Motion is from the onset frame {motion['onset']} to {apex}, in pixels of the 224 x 224 "
                     "aligned face; sides are the subject's.")
    return " ".join(s[0].upper() + s[1:] for s in sentences)
