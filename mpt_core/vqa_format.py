"""MEGC 2025 ME-VQA as a format: its question wording, action-unit names, coarse classes and question types.

Read from the public training file ``me_vqa_samm_casme2_smic.jsonl`` and the test files
``me_vqa_{samm,casme3}_test_to_answer.jsonl`` as participants' repositories hold them (the data: what
each question says, how the answers are spelled); ``docs/guide/megc-vqa.md`` says what was confirmed
there and what was not. Only wording and names live here; which questions a clip gets is
``mpt.instruct.megc_vqa``; the metrics are ``mpt_core.vqa_metric``.
"""

from __future__ import annotations

import re

# the questions, word for word as the challenge's files ask them
COARSE_Q = "What is the coarse expression class?"
FINE_Q = "What is the fine-grained expression class?"
AU_ONE_Q = "What is the action unit?"
AU_MANY_Q = "What are the action units?"
SIDE_Q = "Is the action unit {au} located on the left or right face?"
YES_NO_Q = "Is the action unit {au} shown on the face?"
COMBINED_ONE_Q = ("What is the action unit present, and based on it, what is the fine-grained expression and the "
                  "coarse expression class?")
COMBINED_MANY_Q = ("What are the action units present, and based on them, what is the fine-grained expression and "
                   "the coarse expression class?")
# the combined answer is the one sentence-cased answer with a final period in the challenge's files
COMBINED_ONE_A = ("The action unit present is: {aus}. Therefore, the fine-grained expression class is {fine}, and "
                  "the coarse expression class is {coarse}.")
COMBINED_MANY_A = ("The action units present are: {aus}. Therefore, the fine-grained expression class is {fine}, "
                   "and the coarse expression class is {coarse}.")

COARSE_CLASSES = ("negative", "positive", "surprise")
# fine emotion (lower case, after FINE_ALIASES) -> coarse class: MEGC 2019's grouping, which the VQA files
# follow for CASME II and SAMM; CASME II's sadness and fear are absent from the challenge's file (MEGC 2019's
# list leaves them out) and count as negative here only when selected with --classes
COARSE_OF = {
    **dict.fromkeys(("anger", "contempt", "disgust", "fear", "repression", "sadness"), "negative"),
    "happiness": "positive", "surprise": "surprise",
    **{c: c for c in COARSE_CLASSES},
}
FINE_ALIASES = {"happy": "happiness", "sad": "sadness"}  # CAS(ME)^3's spellings -> the challenge's (not confirmed)

# AU number -> name as the challenge's files spell it (lower case). Seen in those files: every AU here
# but the UNCONFIRMED ones, which are FACS names written the same way (lower case, "head" dropped from
# head positions as the files do for AU56 "tilt right").
AU_NAMES = {
    1: "inner brow raiser", 2: "outer brow raiser", 4: "brow lowerer", 5: "upper lid raiser", 6: "cheek raiser",
    7: "lid tightener", 9: "nose wrinkler", 10: "upper lip raiser", 12: "lip corner puller", 14: "dimpler",
    15: "lip corner depressor", 16: "lower lip depressor", 17: "chin raiser", 20: "lip stretcher",
    21: "neck tightener", 23: "lip tightener", 24: "lip pressor", 25: "lips part", 26: "jaw drop", 28: "lip suck",
    31: "jaw clencher", 38: "nostril dilater", 39: "nostril compress", 41: "lid droop", 43: "eye closure",
    44: "squint", 45: "blink", 56: "tilt right", 61: "eyes left",
    # not seen in the challenge's files
    8: "lips toward each other", 11: "nasolabial deepener", 13: "sharp lip puller", 18: "lip pucker",
    19: "tongue show", 22: "lip funneler", 27: "mouth stretch", 29: "jaw thrust", 30: "jaw sideways",
    32: "lip bite", 33: "cheek blow", 34: "cheek puff", 35: "cheek suck", 36: "tongue bulge", 37: "lip wipe",
    42: "slit", 46: "wink", 51: "turn left", 52: "turn right", 53: "head up", 54: "head down", 55: "tilt left",
    57: "head forward", 58: "head back", 62: "eyes right", 63: "eyes up", 64: "eyes down",
}
UNCONFIRMED = frozenset((8, 11, 13, 18, 19, 22, 27, 29, 30, 32, 33, 34, 35, 36, 37, 42, 46, 51, 52, 53, 54, 55, 57,
                         58, 62, 63, 64))

# question types, as `mpt vqa score` reports them
QUESTION_TYPES = ("coarse", "fine", "au", "au_side", "au_yes_no", "combined", "other")
CLASS_TYPES = ("coarse", "fine", "au_side", "au_yes_no")  # scored with UF1 / UAR
FREE_TEXT_TYPES = ("au", "combined")  # the answers BLEU and ROUGE-1 are reported on


# helpers


def au_name(number: int) -> str:
    """The challenge's name of an AU; ``action unit N`` for a number FACS does not name."""
    return AU_NAMES.get(int(number), f"action unit {int(number)}")


def fine_class(emotion: str) -> str:
    """An annotation's emotion as the challenge writes a fine class (lower case, ``happy`` -> ``happiness``)."""
    e = " ".join(str(emotion).strip().lower().split())
    return FINE_ALIASES.get(e, e)


def question_type(question: str) -> str:
    """One of ``QUESTION_TYPES`` for a question of the challenge's wording (case and spacing ignored)."""
    q = " ".join(str(question).lower().split())
    if q == COARSE_Q.lower():
        return "coarse"
    if q == FINE_Q.lower():
        return "fine"
    if q in (AU_ONE_Q.lower(), AU_MANY_Q.lower()):
        return "au"
    if re.fullmatch(r"is the action unit .+ located on the left or right face\?", q):
        return "au_side"
    if re.fullmatch(r"is the action unit .+ shown on the face\?", q):
        return "au_yes_no"
    if q in (COMBINED_ONE_Q.lower(), COMBINED_MANY_Q.lower()):
        return "combined"
    return "other"
