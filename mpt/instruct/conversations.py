"""Question-answer pairs for one clip, from templates, seeded per clip (so ``--jobs`` and the clip
order change nothing).

Templates (``TEMPLATES``), each with a few phrasings the seed chooses from:

- ``describe``: the dual-constraint description (``grounding``), every clip.
- ``class``: the corpus's class, every clip; ``emotion``: the fine emotion where the class merges
  several (MEGC2019, CAS(ME)^3 presets).
- ``au_present`` / ``au_absent``: "Is AUn annotated?", as many "no" as "yes" questions per clip: each
  certain annotated AU, and as many AUs that the annotation does not mention, drawn from the
  measured AUs of families it does not touch. Clips without an AU annotation get none.
- ``region``: which region moved most, and which way; every clip.
- ``side``: the annotated side of each AU coded L or R.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np

from .aus import AnnotatedAU, au_name
from .grounding import Grounding, direction_words, family_of, stem_words, subject_side
from .measure import AU_REGIONS, au_catalogue, region_stem

TEMPLATES = ("describe", "class", "emotion", "au_present", "au_absent", "region", "side")
IMAGES_NOTE = ("Image 1 is the onset frame and image 2 the apex frame of a facial micro-expression (aligned "
               "face crops); image 3 is the optical flow from onset to apex relative to the head (hue: direction, "
               "brightness: magnitude).")
PHRASES = {
    "describe": ("Describe the facial motion from the onset to the apex and the action units involved.",
                 "Which facial regions moved, and how does that motion relate to the annotated action units?",
                 "Explain this micro-expression in terms of local facial motion and FACS action units."),
    "class": ("Which class does this micro-expression belong to? Answer with one of: {classes}.",
              "Classify the micro-expression as one of: {classes}.",
              "What is the micro-expression's class ({classes})?"),
    "emotion": ("Which emotion was this micro-expression annotated with?",
                "What is the annotated emotion of this micro-expression?"),
    "au": ("Is {au} ({name}) annotated for this micro-expression? Answer yes or no.",
           "Does the annotation of this micro-expression include {au} ({name})?",
           "Is {au} ({name}) part of this micro-expression?"),
    "region": ("Which facial region moved the most between the onset and the apex, and in which direction?",
               "Where on the face is the largest motion relative to the head, and which way does it go?"),
    "side": ("On which side of the face is {au} ({name}) annotated?",
             "{au} ({name}) is annotated on one side only: which side?"),
}


@dataclass(frozen=True)
class Turn:
    template: str
    tag: str  # distinguishes several turns of one template in a clip ("AU12"), else ""
    question: str
    answer: str


# helpers


def clip_rng(seed: int, key: str) -> np.random.Generator:
    return np.random.default_rng([seed, zlib.crc32(key.encode())])


def pick(rng, options):
    return options[int(rng.integers(len(options)))]


def _present_answer(check) -> str:
    head = f"Yes. {check.au.label} ({check.name}) is annotated"
    if check.status == "confirmed":
        return f"{head}, and the flow shows it: {check.evidence}."
    if check.status == "moved":
        return f"{head}; its regions moved, but not the way {check.au.label} moves them: {check.evidence}."
    if check.status == "unresolved":
        return f"{head}, though its regions moved too little for the flow to resolve."
    return f"{head}; no measured region covers it."


def _absent_answer(number: int, grounding: Grounding) -> str:
    text = f"No. AU{number} ({au_name(number)}) is not annotated for this micro-expression."
    for label, _, evidence in grounding.motion_only:
        if int(label.removeprefix("AU")) == number:
            text += f" The motion is consistent with it ({evidence}), but it is not annotated."
    return text


def _largest(motion: dict) -> str:
    moving = [r for r in motion["regions"] if r["direction"] != "still"]
    if not moving:
        return (f"No region moved measurably: every region's motion relative to the head is below "
                f"{motion['threshold_px']:.2f} px.")
    r = max(moving, key=lambda r: (r["magnitude"], r["name"]))
    side = f"subject's {subject_side(r['name'])} " if subject_side(r["name"]) else ""
    return (f"The {side}{stem_words(region_stem(r['name']))}: it moved {direction_words(r)} "
            f"{r['magnitude']:.1f} px relative to the head.")


def _side_answer(a: AnnotatedAU, motion: dict) -> str:
    side = "left" if a.side == "L" else "right"
    text = f"The subject's {side} side (coded {a.side}{a.number})."
    image = "_right" if a.side == "L" else "_left"  # the subject's left is the image's right
    other = "_left" if a.side == "L" else "_right"
    by_name = {r["name"]: r for r in motion["regions"]}
    for stem in AU_REGIONS.get(a.number, ()):
        one, two = by_name.get(stem + image), by_name.get(stem + other)
        if one is not None and two is not None:
            text += (f" Its {stem_words(stem)} moved {one['magnitude']:.1f} px there and {two['magnitude']:.1f} px "
                     "on the other side.")
            break
    return text


# the conversations


def clip_turns(clip: dict, grounding: Grounding, classes: list[str], seed: int) -> list[Turn]:
    """Every turn of one clip. ``clip``: the clip's motion JSON (subject, clip, label, emotion, motion)."""
    rng = clip_rng(seed, f"{clip['subject']}/{clip['clip']}")
    motion = clip["motion"]
    turns = [Turn("describe", "", pick(rng, PHRASES["describe"]), grounding.text)]
    turns.append(Turn("class", "", pick(rng, PHRASES["class"]).format(classes=", ".join(classes)), f"{clip['label']}."))
    emotion = clip["emotion"].strip()
    if emotion and emotion.lower() != clip["label"].lower():
        turns.append(Turn("emotion", "", pick(rng, PHRASES["emotion"]), f"{emotion.lower()}."))
    present = list(grounding.checks)
    if present:
        touched = {family_of(a.number) for a in (*[c.au for c in present], *grounding.uncertain)}
        mentioned = {c.au.number for c in present} | {a.number for a in grounding.uncertain}
        _, names, _ = au_catalogue()
        pool = sorted(n for n in names if n not in mentioned and family_of(n) not in touched)
        n = min(len(present), len(pool))
        chosen = sorted(rng.choice(len(present), n, replace=False).tolist()) if n < len(present) else range(n)
        absent = sorted(rng.choice(pool, n, replace=False).tolist())
        for i in chosen:
            c = present[i]
            q = pick(rng, PHRASES["au"]).format(au=c.au.label, name=c.name)
            turns.append(Turn("au_present", c.au.label, q, _present_answer(c)))
        for number in absent:
            q = pick(rng, PHRASES["au"]).format(au=f"AU{number}", name=au_name(number))
            turns.append(Turn("au_absent", f"AU{number}", q, _absent_answer(int(number), grounding)))
    turns.append(Turn("region", "", pick(rng, PHRASES["region"]), _largest(motion)))
    for c in present:
        if c.au.side:
            q = pick(rng, PHRASES["side"]).format(au=c.au.label, name=c.name)
            turns.append(Turn("side", c.au.label, q, _side_answer(c.au, motion)))
    return turns
