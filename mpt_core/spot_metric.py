"""The MEGC spotting metric: interval IoU, one-to-one matching, counts summed over videos.

Definitions (as MEGC 2019-2024 state them; the choices where evaluators differ are marked):
- an interval is onset..offset in frames, both ends included: it has offset - onset + 1 frames;
- IoU(p, g) = |p ∩ g| / |p ∪ g| in frames; a prediction matches a ground truth of the same video
  and the same type when IoU >= 0.5 (0.5 itself counts);
- matching is one-to-one: among all pairs at IoU >= 0.5, the highest IoU is taken first (ties:
  the earlier prediction, then the earlier ground truth), and neither side is used again. Some
  public evaluators instead count a prediction once per ground truth it overlaps, so one
  prediction covering two expressions scores two TPs there and one TP + one FN here;
- TP = matched pairs, FP = unmatched predictions, FN = unmatched ground truths; micro- and
  macro-expressions are matched separately (a predicted micro never matches a macro truth);
- TP, FP and FN are summed over all videos (of a subject, of the corpus) before precision =
  TP / (TP + FP), recall = TP / (TP + FN) and F1 = 2PR / (P + R); an empty denominator gives 0;
- "overall" sums the micro and macro counts.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Iterable, Sequence

TYPES = ("micro", "macro")
IOU_THRESHOLD = 0.5


@dataclass(frozen=True)
class Spot:
    """One interval of a video, predicted or annotated."""

    subject: str
    video: str
    onset: int
    offset: int
    type: str  # "micro" | "macro"


@dataclass(frozen=True)
class Counts:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    def __add__(self, other: "Counts") -> "Counts":
        return Counts(self.tp + other.tp, self.fp + other.fp, self.fn + other.fn)

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def to_dict(self) -> dict:
        return {"tp": self.tp, "fp": self.fp, "fn": self.fn, "precision": self.precision, "recall": self.recall,
                "f1": self.f1}


def iou(a: tuple[int, int], b: tuple[int, int]) -> float:
    """Intersection over union of two inclusive frame intervals (onset, offset)."""
    inter = min(a[1], b[1]) - max(a[0], b[0]) + 1
    if inter <= 0:
        return 0.0
    union = (a[1] - a[0] + 1) + (b[1] - b[0] + 1) - inter
    return inter / union


def match(predicted: Sequence[tuple[int, int]], truth: Sequence[tuple[int, int]],
          threshold: float = IOU_THRESHOLD) -> list[tuple[int, int, float]]:
    """One-to-one matches (prediction index, truth index, IoU), highest IoU first, IoU >= threshold."""
    pairs = [(-v, p, t) for p, a in enumerate(predicted) for t, b in enumerate(truth)
             if (v := iou(a, b)) >= threshold]
    used_p, used_t, out = set(), set(), []
    for neg, p, t in sorted(pairs):
        if p not in used_p and t not in used_t:
            used_p.add(p)
            used_t.add(t)
            out.append((p, t, -neg))
    return out


def video_counts(predicted: Sequence[tuple[int, int]], truth: Sequence[tuple[int, int]]) -> Counts:
    tp = len(match(predicted, truth))
    return Counts(tp, len(predicted) - tp, len(truth) - tp)


def evaluate(predicted: Iterable[Spot], truth: Iterable[Spot]) -> dict:
    """{"micro", "macro", "overall": Counts, "subjects": {subject: {"micro", "macro", "overall"}}},
    counts summed over videos. Subjects are those of the ground truth and the predictions."""
    groups: dict[tuple[str, str, str], tuple[list, list]] = defaultdict(lambda: ([], []))
    for side, spots in ((0, predicted), (1, truth)):
        for s in spots:
            if s.type not in TYPES:
                raise ValueError(f"interval type {s.type!r}: choose one of {', '.join(TYPES)}")
            groups[(s.subject, s.video, s.type)][side].append((s.onset, s.offset))
    per_subject: dict[str, dict[str, Counts]] = defaultdict(lambda: {t: Counts() for t in TYPES})
    for (subject, _video, kind), (pred, gt) in sorted(groups.items()):
        per_subject[subject][kind] += video_counts(sorted(pred), sorted(gt))
    totals = {t: sum((c[t] for c in per_subject.values()), Counts()) for t in TYPES}
    totals["overall"] = totals["micro"] + totals["macro"]
    subjects = {s: {**c, "overall": c["micro"] + c["macro"]} for s, c in sorted(per_subject.items())}
    return {**totals, "subjects": subjects}


def as_json(result: dict) -> dict:
    """``evaluate``'s result with every Counts as {"tp", "fp", "fn", "precision", "recall", "f1"}."""
    out = {k: result[k].to_dict() for k in (*TYPES, "overall")}
    out["subjects"] = {s: {k: c.to_dict() for k, c in v.items()} for s, v in result["subjects"].items()}
    return out
