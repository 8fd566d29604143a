"""mpt's own figures beside the MEGC leaderboard's, for the same predictions and ground truth, with
the reasons they differ in words.

mpt's own (the default everywhere): ``mpt_core.spot_metric`` / ``mpt_core.strs``; the leaderboard's:
``mpt_core.megc_metric`` (its module docstring lists every difference).
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Sequence

from mpt_core import megc_metric
from mpt_core.megc_metric import Row


# helpers


def _differs(a, b) -> bool:
    if a is None or b is None or (isinstance(a, float) and math.isnan(a)) or (isinstance(b, float) and math.isnan(b)):
        return not (_nan(a) and _nan(b))
    return abs(a - b) > 1e-12


def _nan(x) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


def _multiple(predicted: Sequence[Row], truth: Sequence[Row]) -> int:
    """Predictions that take more than one ground truth under the leaderboard's matching."""
    pairs = megc_metric.spotting(predicted, truth)["pairs"]
    return sum(n > 1 for n in Counter(p for p, _ in pairs).values())


def reasons(predicted: Sequence[Row], truth: Sequence[Row], mpt_tp: int, megc: dict,
            analysis: dict | None = None) -> list[str]:
    """Sentences saying why the leaderboard's figures differ from mpt's for these rows."""
    out = []
    multiple = _multiple(predicted, truth)
    if multiple:
        out.append(f"{multiple} prediction(s) overlap several ground truths at IoU >= 0.5: the leaderboard counts "
                   "one true positive per ground truth they cover, mpt one per prediction")
    ignored = megc["ignored"]
    if ignored["truths"]:
        out.append(f"{ignored['truths']} ground truth(s) of subjects without any prediction are not scored by the "
                   "leaderboard (mpt counts them as false negatives)")
    if ignored["predictions"]:
        out.append(f"{ignored['predictions']} prediction(s) in videos without ground truth are not scored by the "
                   "leaderboard (mpt counts them as false positives)")
    if not multiple and megc["tp"] != mpt_tp:
        out.append("the leaderboard matches predictions in file order (an earlier prediction takes a ground truth a "
                   "later, closer one would match); mpt matches the highest IoU first")
    if analysis is not None:
        absent = [c for c in analysis["classes"] if c not in analysis.get("present", analysis["classes"])]
        if absent:
            out.append(f"class(es) {', '.join(absent)} have no analysed interval: the leaderboard averages them as 0, "
                       "mpt averages the classes present")
        if _nan(analysis["f1"]):
            out.append("the leaderboard's analysis precision and recall are both 0, and its F1 = 2PR / (P + R) is "
                       "0/0 = NaN (mpt gives 0)")
        out.append("the leaderboard's \"UAR\" is the mean per-class precision; mpt's UAR is the mean recall")
    return out


# scoring


def score_str(predicted: Sequence[Row], truth: Sequence[Row], classes: Sequence[str] | None = None) -> dict:
    """{"mpt": mpt_core.strs's figures, "megc": the leaderboard's, "reasons": [...]} for STR rows
    (label = emotion; a prediction's "" = not classified). ``classes`` None: every truth label."""
    from mpt_core.strs import pair_intervals, str_scores

    classes = sorted({r.label for r in truth}) if classes is None else list(classes)
    records = []
    keys = list(dict.fromkeys([(r.subject, r.video) for r in truth] + [(r.subject, r.video) for r in predicted]))
    for key in keys:
        pred = [r for r in predicted if (r.subject, r.video) == key]
        true = [r for r in truth if (r.subject, r.video) == key]
        for p, t, _ in pair_intervals([(r.onset, r.offset) for r in pred], [(r.onset, r.offset) for r in true]):
            records.append({"truth": None if t is None else true[t].label,
                            "prediction": None if p is None else pred[p].label})
    mine = str_scores(records, classes)
    theirs = megc_metric.strs(predicted, truth, classes)
    pairs = megc_metric.spotting(predicted, truth)["pairs"]
    analysed = [(truth[t].label, predicted[p].label) for p, t in pairs if truth[t].label in classes]
    present = {x for pair in analysed for x in pair}
    why = reasons(predicted, truth, mine["spotting"]["tp"], theirs["spotting"],
                  {**theirs["analysis"], "present": present})
    if theirs["crashes"]:
        why.append("no prediction matches a ground truth: the public script stops with KeyError('gt') here; "
                    "both NaN figures stand for that")
    return {"mpt": mine, "megc": theirs, "reasons": why}


def score_spotting(predicted: Sequence[Row], truth: Sequence[Row]) -> dict:
    """{"mpt": spot_metric's micro/macro/overall, "megc": the leaderboard's, "reasons": [...]}
    (label = micro|macro)."""
    from mpt_core.spot_metric import Spot, as_json, evaluate

    mine = as_json(evaluate([Spot(r.subject, r.video, r.onset, r.offset, r.label) for r in predicted],
                            [Spot(r.subject, r.video, r.onset, r.offset, r.label) for r in truth]))
    theirs = megc_metric.spotting_by_type(predicted, truth)
    why = []
    for kind in ("micro", "macro"):
        rows_p = [r for r in predicted if r.label == kind]
        rows_t = [r for r in truth if r.label == kind]
        why += [f"{kind}: {s}" for s in reasons(rows_p, rows_t, mine[kind]["tp"], theirs[kind])]
    return {"mpt": mine, "megc": theirs, "reasons": why}


def differs(result: dict, keys: Sequence[tuple[str, ...]]) -> bool:
    """Whether any figure at the nested ``keys`` differs between result["mpt"] and result["megc"]."""
    def get(d, path):
        for k in path:
            d = d[k]
        return d

    return any(_differs(get(result["mpt"], k), get(result["megc"], k)) for k in keys)
