"""The MEGC leaderboards' STRS and spotting figures, as the public evaluator computes them.

The public evaluator (``genbing99/STRS-Metric``, ``strs_metric.py``; MEGC 2024/2025 spot-then-recognize)
makes choices that differ from mpt's own metric (``mpt_core.strs``, ``mpt_core.spot_metric``); this
module re-states them as pure functions, so an mpt figure can be set beside a leaderboard figure.
Where they differ from mpt's definitions:

- **matching in file order, with multiple counting.** Predictions are taken in the order of the
  predictions file; each one is matched to *every* still-unmatched ground truth of its video with
  IoU >= 0.5 (frames inclusive). A prediction covering two expressions counts two true positives
  (mpt: one, highest IoU first, one-to-one); an earlier prediction takes a ground truth that a
  later, better one would have matched. A prediction matching nothing is a false positive.
- **what is scored.** Only subjects with at least one prediction, and of those only the videos
  holding ground truth: a subject without predictions adds no false negatives, and predictions in a
  video without ground truth add no false positives (mpt scores every video of the table).
- **the analysis classes.** The classes averaged are those given (the challenge passes negative,
  positive, surprise) or, with none, every emotion of the whole ground-truth table; a class with no
  true positive still counts, with precision = recall = 0 (mpt averages the classes present).
  Spotting true positives whose ground truth is not one of them are left out of the analysis.
- **per-class counts through a 2 x 2 confusion matrix.** For class c the evaluator unpacks
  ``confusion_matrix(truth == c, prediction == c)`` into TN, FP, FN, TP, and on any failure counts
  zeros. The matrix is 1 x 1 when every analysed interval is c and predicted c: that class then
  scores 0 (a perfect one-class analysis scores NaN, below).
- **"UAR" is the mean per-class precision**, as the evaluator computes it (mpt: mean recall).
- **0/0 is NaN.** Analysis F1 = 2PR / (P + R) has no guard: P = R = 0 gives NaN, and STRS =
  spotting F1 x NaN = NaN. With no spotting true positive at all the public script stops with a
  ``KeyError`` instead of printing a figure; here that case is NaN too (and ``crashes`` says so).
- The evaluator's "TP/FP/FN analysis" counts are reported as it computes them: TP = analysed
  intervals whose class is right, FP = those whose predicted class is one of the classes but wrong,
  and FN = the same intervals again (its FN loop tests the prediction, not the truth); they do not
  enter the F1, which comes from the per-class figures.

Spotting (``spotting_by_type``): the leaderboard's own spotting script is not public; the MEGC
participants' files carry a type (me/mae) and the STRS evaluator's spotting step is the public
code, so each type is scored as that step would score the file's rows of that type alone (its
subjects, its videos with ground truth of that type), and "overall" sums the two types' counts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterable, Sequence

IOU_THRESHOLD = 0.5
NAN = float("nan")


@dataclass(frozen=True)
class Row:
    """One interval of a predictions file or a ground-truth table; ``label`` is its emotion (STR) or
    type (spotting). Order matters: rows are matched in the order given."""

    subject: str
    video: str
    onset: int
    offset: int
    label: str = ""


# helpers


def iou(a: tuple[int, int], b: tuple[int, int]) -> float:
    """Intersection over union of two inclusive frame intervals, counted in frames."""
    inter = min(a[1], b[1]) - max(a[0], b[0]) + 1
    if inter <= 0:
        return 0.0
    return inter / ((a[1] - a[0] + 1) + (b[1] - b[0] + 1) - inter)


def _prf(tp: int, fp: int, fn: int) -> dict:
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    return {"tp": tp, "fp": fp, "fn": fn, "precision": p, "recall": r, "f1": 2 * p * r / (p + r) if p + r else 0.0}


def file_order_match(predicted: Sequence[tuple[int, int]], truth: Sequence[tuple[int, int]],
                     threshold: float = IOU_THRESHOLD) -> list[tuple[int, int, float]]:
    """(prediction index, truth index, IoU): each prediction in order takes every still-unmatched
    ground truth with IoU >= threshold (so one prediction may take several)."""
    used, out = set(), []
    for p, a in enumerate(predicted):
        for t, b in enumerate(truth):
            if t not in used and (v := iou(a, b)) >= threshold:
                used.add(t)
                out.append((p, t, v))
    return out


def scored_videos(predicted: Sequence[Row], truth: Sequence[Row]) -> list[tuple[str, str]]:
    """(subject, video) the evaluator scores: the videos with ground truth of the subjects that
    have predictions, in the order they first appear."""
    subjects = set(r.subject for r in predicted)
    return list(dict.fromkeys((r.subject, r.video) for r in truth if r.subject in subjects))


def spotting(predicted: Sequence[Row], truth: Sequence[Row]) -> dict:
    """TP/FP/FN summed over the scored videos, precision, recall, F1; ``pairs`` lists the matches
    as (prediction index, truth index) into the given sequences; ``ignored`` counts the rows outside
    the scored videos (predictions in videos without ground truth, ground truths of subjects
    without predictions)."""
    videos = scored_videos(predicted, truth)
    chosen = set(videos)
    pairs, tp, fp, fn = [], 0, 0, 0
    for key in videos:
        p_idx = [i for i, r in enumerate(predicted) if (r.subject, r.video) == key]
        t_idx = [i for i, r in enumerate(truth) if (r.subject, r.video) == key]
        matched = file_order_match([(predicted[i].onset, predicted[i].offset) for i in p_idx],
                                   [(truth[i].onset, truth[i].offset) for i in t_idx])
        pairs += [(p_idx[p], t_idx[t]) for p, t, _ in matched]
        tp += len(matched)
        fp += len(p_idx) - len({p for p, _, _ in matched})
        fn += len(t_idx) - len(matched)
    out = _prf(tp, fp, fn)
    out["pairs"] = pairs
    out["videos"] = len(videos)
    out["ignored"] = {"predictions": sum((r.subject, r.video) not in chosen for r in predicted),
                      "truths": sum((r.subject, r.video) not in chosen for r in truth)}
    return out


def _class_counts(truth: Sequence[str], predicted: Sequence[str], c: str) -> tuple[int, int, int]:
    """(TP, FP, FN) of class c as the evaluator unpacks a 2 x 2 confusion matrix; zeros when the
    matrix is not 2 x 2 (no interval, or every interval is c and predicted c, or none is either)."""
    t = [x == c for x in truth]
    p = [x == c for x in predicted]
    if len(set(t) | set(p)) != 2:
        return 0, 0, 0
    return (sum(a and b for a, b in zip(t, p)), sum(b and not a for a, b in zip(t, p)),
            sum(a and not b for a, b in zip(t, p)))


def analysis(truth: Sequence[str], predicted: Sequence[str], classes: Iterable[str]) -> dict:
    """The evaluator's analysis figures of matched intervals (truth class, predicted class);
    intervals whose truth is not in ``classes`` are left out."""
    classes = sorted(set(classes))
    kept = [(t, p) for t, p in zip(truth, predicted) if t in classes]
    t_kept, p_kept = [t for t, _ in kept], [p for _, p in kept]
    per_class = {}
    for c in classes:
        tp, fp, fn = _class_counts(t_kept, p_kept, c)
        s = _prf(tp, fp, fn)
        per_class[c] = {"precision": s["precision"], "recall": s["recall"], "f1": s["f1"]}
    n = len(classes)
    P = sum(v["precision"] for v in per_class.values()) / n if n else NAN
    R = sum(v["recall"] for v in per_class.values()) / n if n else NAN
    f1 = 2 * P * R / (P + R) if P + R else NAN  # no guard in the evaluator: 0/0 is NaN
    wrong = sum(p != t and p in classes for t, p in kept)
    return {"precision": P, "recall": R, "f1": f1,
            "uf1": sum(v["f1"] for v in per_class.values()) / n if n else NAN,
            "uar": P,  # the evaluator's "UAR": the mean per-class precision
            "tp": sum(t == p for t, p in kept), "fp": wrong, "fn": wrong,
            "classes": classes, "analysed": len(kept), "excluded": len(truth) - len(kept), "per_class": per_class}


def strs(predicted: Sequence[Row], truth: Sequence[Row], classes: Iterable[str] | None = None) -> dict:
    """STRS as the public evaluator computes it; ``classes`` None: every label of ``truth``."""
    classes = sorted({r.label for r in truth}) if classes is None else sorted(set(classes))
    spot = spotting(predicted, truth)
    pairs = spot.pop("pairs")
    an = analysis([truth[t].label for _, t in pairs], [predicted[p].label for p, _ in pairs], classes)
    crashes = not pairs  # the public script raises KeyError('gt') when no interval was matched at all
    return {"strs": spot["f1"] * an["f1"], "spotting": spot, "analysis": an, "crashes": crashes}


def spotting_by_type(predicted: Sequence[Row], truth: Sequence[Row], types=("micro", "macro")) -> dict:
    """{type: figures, "overall": the types' counts summed}; each type scored on its rows alone."""
    out = {}
    for kind in types:
        s = spotting([r for r in predicted if r.label == kind], [r for r in truth if r.label == kind])
        s.pop("pairs")
        out[kind] = s
    total = _prf(*(sum(out[k][x] for k in types) for x in ("tp", "fp", "fn")))
    total["ignored"] = {x: sum(out[k]["ignored"][x] for k in types) for x in ("predictions", "truths")}
    out["overall"] = total
    return out


def json_safe(value):
    """``value`` with every NaN as None (JSON has no NaN)."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return value
