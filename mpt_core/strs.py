"""Spot-then-recognize scores (MEGC 2023/2024 STR task): spotting F1 x analysis F1 = STRS.

Pure functions of interval records; ``mpt str`` (``mpt/str``) builds the records, one per
ground-truth or spotted micro-expression interval, each with ``truth`` and ``prediction``:

- a matched pair (a true positive): ``truth`` the ground truth's class, ``prediction`` the class the
  model gave the spotted interval; both are strings ("" where the ground truth has no class, or
  where the spotted interval could not be classified);
- an unmatched spotted interval (a false positive): ``truth`` None;
- an unmatched ground truth (a false negative): ``prediction`` None.

Definitions:

- spotting: micro-expression intervals only. A spotted interval is a true positive when its IoU with
  a ground-truth micro-expression of the same video is >= 0.5 (frames counted inclusively), matched
  one-to-one, highest IoU first (``spot_metric.match``, which ``pair_intervals`` uses); FP = unmatched
  spotted intervals, FN = unmatched ground truths; TP, FP and FN are summed over all videos, then
  precision, recall, F1 (an empty denominator gives 0).
- analysis: on the true-positive intervals only, the predicted class against the ground truth's
  class. With ``classes`` (the model's classes), a true positive whose ground truth is not one of
  them (CAS(ME)^2 ``others`` under a 3-class run, a micro-expression without an emotion) is left
  out of the analysis and counted in ``excluded``; a prediction that is not one of them (an
  interval that could not be classified) counts as wrong. Per class c: precision_c = TP_c /
  (intervals predicted c), recall_c = TP_c / (intervals whose truth is c), F1_c = 2 P_c R_c /
  (P_c + R_c) (0 where a denominator is empty). The classes averaged are those present among the
  analysed intervals' ground truths or predictions (a class absent from both says nothing about the
  model). Analysis precision P and recall R are the means of precision_c and recall_c over those
  classes, and the analysis F1 is 2PR / (P + R), as the MEGC 2023 evaluator defines it. Also
  reported: UF1 = mean F1_c and UAR = mean recall_c. (The public evaluator's "UAR" averages the
  per-class *precision*; here UAR is what its name says.)
- STRS = spotting F1 x analysis F1. No true positives: analysis figures are 0, and STRS is 0.
"""

from __future__ import annotations

from typing import Sequence

from .spot_metric import match


def _ratio(a: int, b: int) -> float:
    return a / b if b else 0.0


def _f1(p: float, r: float) -> float:
    return 2 * p * r / (p + r) if p + r else 0.0


def pair_intervals(spotted: Sequence[tuple[int, int]], truth: Sequence[tuple[int, int]]):
    """One video's micro-expressions: (spotted index or None, truth index or None, IoU or None) for
    every spotted and every ground-truth interval: matched pairs first (by the MEGC matching), then
    unmatched spotted, then unmatched ground truths."""
    pairs = [(p, t, v) for p, t, v in match(spotted, truth)]
    used_p, used_t = {p for p, _, _ in pairs}, {t for _, t, _ in pairs}
    return (sorted(pairs) + [(p, None, None) for p in range(len(spotted)) if p not in used_p]
            + [(None, t, None) for t in range(len(truth)) if t not in used_t])


def analysis_scores(truth: Sequence[str], predicted: Sequence[str], classes: Sequence[str] | None = None) -> dict:
    """Per-class and averaged scores of the predicted classes of matched intervals."""
    if len(truth) != len(predicted):
        raise ValueError(f"{len(truth)} truths for {len(predicted)} predictions")
    present = set(truth) | set(predicted)
    averaged = sorted(present if classes is None else present & set(classes))
    per_class = {}
    for c in averaged:
        tp = sum(t == c and p == c for t, p in zip(truth, predicted))
        prec, rec = _ratio(tp, sum(p == c for p in predicted)), _ratio(tp, sum(t == c for t in truth))
        per_class[c] = {"precision": prec, "recall": rec, "f1": _f1(prec, rec), "support": sum(t == c for t in truth)}
    if not averaged:
        return {"precision": 0.0, "recall": 0.0, "f1": 0.0, "uf1": 0.0, "uar": 0.0, "per_class": {}}
    P = sum(v["precision"] for v in per_class.values()) / len(averaged)
    R = sum(v["recall"] for v in per_class.values()) / len(averaged)
    uf1 = sum(v["f1"] for v in per_class.values()) / len(averaged)
    return {"precision": P, "recall": R, "f1": _f1(P, R), "uf1": uf1, "uar": R, "per_class": per_class}


def str_scores(intervals: Sequence[dict], classes: Sequence[str] | None = None) -> dict:
    """STRS and its parts from interval records (see the module's docstring)."""
    tp = sum(r["truth"] is not None and r["prediction"] is not None for r in intervals)
    fp = sum(r["truth"] is None for r in intervals)
    fn = sum(r["prediction"] is None for r in intervals)
    if any(r["truth"] is None and r["prediction"] is None for r in intervals):
        raise ValueError("an interval record with neither a truth nor a prediction")
    prec, rec = _ratio(tp, tp + fp), _ratio(tp, tp + fn)
    spotting = {"tp": tp, "fp": fp, "fn": fn, "precision": prec, "recall": rec, "f1": _f1(prec, rec)}
    pairs = [(r["truth"], r["prediction"]) for r in intervals if r["truth"] is not None and r["prediction"] is not None]
    kept = [(t, p) for t, p in pairs if classes is None or t in classes]
    analysis = analysis_scores([t for t, _ in kept], [p for _, p in kept], classes)
    analysis["analysed"], analysis["excluded"] = len(kept), len(pairs) - len(kept)
    return {"strs": spotting["f1"] * analysis["f1"], "spotting": spotting, "analysis": analysis}
