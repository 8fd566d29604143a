"""ME-VQA metrics as pure functions: UF1/UAR over classes, sentence BLEU with smoothing method 1, ROUGE-1,
and the tolerant reading of a class name out of a free-text answer.

Definitions (``docs/guide/megc-vqa.md`` has them with worked examples):

- **UF1 / UAR** over the classes the *truth* holds (MEGC's convention): per class c, TP, FP (predicted c,
  truth another class), FN (truth c, predicted anything else, unreadable included); UF1 is the mean of
  2TP / (2TP + FP + FN), UAR the mean of TP / (TP + FN). A predicted class the truth never holds is only
  ever a miss; it adds no class.
- **BLEU**: NLTK's ``sentence_bleu(references=[ref], hypothesis, smoothing_function=method1)`` with its
  default weights (0.25 each for 1- to 4-grams) and no re-weighting, on whitespace tokens of the
  lower-cased answers (as participants computed it). Clipped n-gram precision p_n = matches / max(1,
  hypothesis n-grams); method 1 replaces a p_n with no match by 0.1 / that denominator; no unigram match
  at all gives 0; brevity penalty exp(1 - r/c) when the hypothesis (c tokens) is shorter than the
  reference (r), 0 for an empty hypothesis. An exact answer shorter than four words therefore scores
  below 1 (one word: 0.1 ** 0.75 = 0.178): that is NLTK's definition, kept so figures compare.
- **ROUGE-1**: unigram overlap (clipped counts) on lower-cased alphanumeric tokens (every other character
  separates tokens), no stemming; precision = overlap / prediction tokens, recall = overlap / reference
  tokens, F = 2PR / (P + R); 0 when either side has no token.

Class parsing (``parse_class``): see its docstring; it never guesses between two classes.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from typing import Iterable, Sequence

EPSILON = 0.1  # NLTK SmoothingFunction().method1's epsilon
NEGATIONS = ("not", "no", "never")  # a class right after one of these is not claimed ("isn't" reads as "is not")


# helpers


def _ngrams(tokens: Sequence[str], n: int) -> Counter:
    return Counter(tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1))


def words(text: str) -> list[str]:
    """Lower-case alphanumeric tokens (ROUGE's tokens; also what the class parser reads)."""
    return re.sub(r"[^a-z0-9]+", " ", str(text).lower()).split()


# classification


def uf1_uar(truth: Sequence[str], pred: Sequence[str | None]) -> tuple[float, float, dict[str, dict]]:
    """(UF1, UAR, per class {tp, fp, fn, f1, recall}) over the classes that occur in ``truth``.
    ``pred[i]`` None is an unreadable answer: a miss of ``truth[i]``."""
    if len(truth) != len(pred):
        raise ValueError(f"uf1_uar: {len(truth)} truths but {len(pred)} predictions")
    if not truth:
        raise ValueError("uf1_uar: no samples")
    per = {}
    for c in sorted(set(truth)):
        tp = sum(t == c and p == c for t, p in zip(truth, pred))
        fp = sum(t != c and p == c for t, p in zip(truth, pred))
        fn = sum(t == c and p != c for t, p in zip(truth, pred))
        per[c] = {"tp": tp, "fp": fp, "fn": fn, "f1": 2 * tp / (2 * tp + fp + fn), "recall": tp / (tp + fn)}
    uf1 = sum(v["f1"] for v in per.values()) / len(per)
    uar = sum(v["recall"] for v in per.values()) / len(per)
    return uf1, uar, per


# text similarity


def sentence_bleu(reference: str, hypothesis: str) -> float:
    """NLTK's sentence BLEU (weights 0.25 x 4, smoothing method 1) of whitespace tokens, lower-cased."""
    ref, hyp = str(reference).lower().split(), str(hypothesis).lower().split()
    if not hyp:
        return 0.0
    logs = []
    for n in range(1, 5):
        h, r = _ngrams(hyp, n), _ngrams(ref, n)
        matches = sum(min(count, r[g]) for g, count in h.items())
        denominator = max(1, sum(h.values()))
        if n == 1 and matches == 0:
            return 0.0  # NLTK: no unigram in common scores 0 whatever the smoothing
        p = matches / denominator if matches else EPSILON / denominator
        logs.append(0.25 * math.log(p))
    c, r_len = len(hyp), len(ref)
    bp = 1.0 if c > r_len else math.exp(1 - r_len / c)
    return bp * math.exp(math.fsum(logs))


def rouge1(reference: str, hypothesis: str) -> tuple[float, float, float]:
    """ROUGE-1 (precision, recall, F) of lower-cased alphanumeric tokens, no stemming."""
    ref, hyp = Counter(words(reference)), Counter(words(hypothesis))
    if not ref or not hyp:
        return 0.0, 0.0, 0.0
    overlap = sum((ref & hyp).values())
    p, r = overlap / sum(hyp.values()), overlap / sum(ref.values())
    return p, r, (2 * p * r / (p + r) if overlap else 0.0)


# reading class names out of free text


def parse_class(text: str, classes: dict[str, Iterable[str]], *, cue: str | None = None,
                negation: bool = True) -> str | None:
    """The one class a free-text answer names, or None.

    ``classes``: class -> the words that name it (the class's own name is always one; a name may be
    several words, e.g. ``"fine grained"``). The text is read as lower-case alphanumeric words
    (``words``), then:

    1. the whole answer is one name -> its class;
    2. with ``cue`` (words such as ``"coarse expression class is"``) present: the first name after the
       cue's first occurrence -> its class (how the combined answer states each class);
    3. otherwise every name found as whole words, except (``negation``) one right after "not", "no" or
       "never" ("n't" counts as "not"): if they all name one class -> that class;
    4. no name, or names of two classes -> None (an unreadable answer: a miss, never a guess).
    """
    table = {c: [tuple(words(c))] + [tuple(words(s)) for s in synonyms] for c, synonyms in classes.items()}
    tokens = words(re.sub(r"n['\u2019]t\b", " not", str(text).lower()))
    if not tokens:
        return None
    for c, names in table.items():
        if tuple(tokens) in names:
            return c
    if cue:
        cue_words = words(cue)
        for i in range(len(tokens) - len(cue_words) + 1):
            if tokens[i:i + len(cue_words)] == cue_words:
                tail = tokens[i + len(cue_words):]
                hits = sorted((j, c) for c, names in table.items() for name in names
                              for j in range(len(tail) - len(name) + 1) if tuple(tail[j:j + len(name)]) == name)
                return hits[0][1] if hits else None
    found = set()
    for c, names in table.items():
        for name in names:
            for j in range(len(tokens) - len(name) + 1):
                if tuple(tokens[j:j + len(name)]) == name and not (negation and j > 0 and tokens[j - 1] in NEGATIONS):
                    found.add(c)
    return found.pop() if len(found) == 1 else None
