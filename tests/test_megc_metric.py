"""`--megc` figures against the public STRS evaluator (genbing99/STRS-Metric, strs_metric.py).

``Oracle`` below re-states that evaluator's logic for pandas 2 (its ``DataFrame.append`` calls as
``pd.concat``, sklearn's ``confusion_matrix(...).ravel()`` unpacking as a 2 x 2 count that fails
the same way on a 1 x 1 matrix), step for step, so the hand-made cases' official figures come from
the evaluator's procedure, not from mpt's code. Each case also states both figures by hand: the
leaderboard's STRS (``megc``) and mpt's own (``mine``), worked out in the comments.
"""

import math

import numpy as np
import pandas as pd
import pytest

from mpt.megc.score import score_spotting, score_str
from mpt_core import megc_metric
from mpt_core.megc_metric import Row

COLS = ["subject", "video", "onset", "offset", "emotion"]


class Oracle:
    """The public evaluator's steps (same loops, same order), for pandas 2."""

    @staticmethod
    def iou(pred, gt):
        a = np.arange(pred["onset"], pred["offset"] + 1)
        b = np.arange(gt["onset"], gt["offset"] + 1)
        union = np.union1d(a, b).size
        return np.intersect1d(a, b).size / union if union else 0

    @staticmethod
    def prf(tp, fp, fn):
        p = tp / (tp + fp) if tp + fp != 0 else 0
        r = tp / (tp + fn) if tp + fn != 0 else 0
        return p, r, (2 * p * r / (p + r) if p + r != 0 else 0)

    @staticmethod
    def ravel_confusion(gt, pred):
        """sklearn's confusion_matrix(gt, pred).ravel() unpacked into (_, FP, FN, TP): the labels
        are those present; anything but a 2 x 2 matrix fails to unpack (the evaluator's except)."""
        labels = sorted(set(gt) | set(pred))
        if len(labels) != 2:
            raise ValueError("not enough values to unpack")
        m = np.zeros((2, 2), int)
        for g, p in zip(gt, pred):
            m[labels.index(g), labels.index(p)] += 1
        return m.ravel()

    def analysis_metrics(self, tp_df, emotions):
        new = pd.DataFrame(columns=tp_df.columns)
        for _, row in tp_df.iterrows():
            if row["gt"]["emotion"] in emotions:
                new = pd.concat([new, row.to_frame().T], ignore_index=True)
        precision, recall, f1 = [], [], []
        for emotion in emotions:
            gt = [1 if x["emotion"] == emotion else 0 for x in new["gt"]]
            pred = [1 if x["emotion"] == emotion else 0 for x in new["pred"]]
            try:
                _, FP, FN, TP = self.ravel_confusion(gt, pred)
            except ValueError:
                FP = FN = TP = 0
            p, r, f = self.prf(TP, FP, FN)
            precision.append(p), recall.append(r), f1.append(f)
        P, R = np.mean(precision), np.mean(recall)
        with np.errstate(invalid="ignore"):
            F1 = (2 * P * R) / (P + R)
        return P, R, F1, np.mean(f1), np.mean(precision)

    def spotting(self, pred_video, gt_video, threshold=0.5):
        tp, fp = [], []
        matched = set()
        for _, pred in pred_video.iterrows():
            hit = False
            for gt_row, gt in gt_video.iterrows():
                v = self.iou(pred, gt)
                if v >= threshold and gt_row not in matched:  # no break: one prediction may take several
                    tp.append({"pred": pred, "gt": gt, "iou": v})
                    matched.add(gt_row)
                    hit = True
            if not hit:
                fp.append(pred)
        fn = gt_video.loc[~gt_video.index.isin(matched)]
        return pd.DataFrame(tp), pd.DataFrame(fp), fn

    def analysis_counts(self, tp_df, emotions):
        """The evaluator's "TP/FP/FN analysis" counts of one video."""
        if len(tp_df):
            tp_df = tp_df[tp_df["gt"].apply(lambda x: x["emotion"] in emotions)]
        tp = fp = fn = 0
        for emotion in emotions:
            hits = set()
            for i, row in tp_df.iterrows():
                if row["pred"]["emotion"] == row["gt"]["emotion"] and row["pred"]["emotion"] == emotion:
                    hits.add(i)
                    tp += 1
                elif row["pred"]["emotion"] != row["gt"]["emotion"] and row["pred"]["emotion"] == emotion:
                    fp += 1
            for i, row in tp_df.iterrows():
                if row["pred"]["emotion"] == emotion and i not in hits:
                    fn += 1
        return tp, fp, fn

    def strs(self, pred_df, gt_df, emotions=None):
        emotions = set(gt_df["emotion"].unique()) if emotions is None else emotions
        tp_all, fp_all, fn_all, counts = [], [], [], np.zeros(3, int)
        for subject in pred_df["subject"].unique():
            gt_s = gt_df[gt_df["subject"] == subject]
            for video in gt_s["video"].unique():
                p = pred_df[(pred_df["video"] == video) & (pred_df["subject"] == subject)]
                g = gt_df[(gt_df["video"] == video) & (gt_df["subject"] == subject)]
                tp, fp, fn = self.spotting(p, g)
                counts += self.analysis_counts(tp, emotions)
                tp_all.append(tp), fp_all.append(fp), fn_all.append(fn)
        tp_df = pd.concat(tp_all, ignore_index=True) if tp_all else pd.DataFrame()
        TP = len(tp_df)
        FP = sum(len(x) for x in fp_all)
        FN = sum(len(x) for x in fn_all)
        _, _, f1_spot = self.prf(TP, FP, FN)
        P, R, F1, UF1, UAR = self.analysis_metrics(tp_df, emotions)  # KeyError('gt') when tp_df has no column
        return {"STRS": f1_spot * F1, "TP": TP, "FP": FP, "FN": FN, "F1 spotting": f1_spot, "P": P, "R": R,
                "F1 analysis": F1, "UF1": UF1, "UAR": UAR, "TP analysis": counts[0], "FP analysis": counts[1],
                "FN analysis": counts[2]}


def frame(rows):
    return pd.DataFrame(rows, columns=COLS)


def rows(table):
    return [Row(*r) for r in table]


N, P, S = "negative", "positive", "surprise"

# (name, predictions in file order, ground truth, classes or None, leaderboard STRS, mpt's own STRS)
CASES = [
    # the evaluator's README example (its published STRS is 0.2): 3 TPs, 2 FPs, 2 FNs; analysis over
    # {happiness, others, repression}: others P = R = 1, the other two 0 -> F1 1/3. mpt the same here.
    ("readme", [("1", "EP02_01f", 10, 70, "happiness"), ("1", "EP03_02", 100, 170, "others"),
                ("1", "EP04_02", 0, 70, "others"), ("2", "EP01_11f", 20, 90, "happiness"),
                ("2", "EP02_04f", 70, 140, "happiness")],
     [("1", "EP02_01f", 45, 85, "happiness"), ("1", "EP03_02", 130, 160, "others"), ("1", "EP04_02", 20, 75, "others"),
      ("2", "EP01_11f", 45, 95, "repression"), ("2", "EP02_04f", 30, 140, "repression")], None, 0.2, 0.2),
    # multiple counting: 10-21 covers both truths at IoU 10/12 -> 2 TPs (spot F1 1); rows (neg, neg), (pos, neg):
    # neg P 1/2 R 1, pos 0 0 -> P 1/4, R 1/2, F1 1/3. mpt: one TP (F1 2/3), analysis 1 -> 2/3.
    ("multiple counting", [("s1", "v1", 10, 21, N)], [("s1", "v1", 10, 19, N), ("s1", "v1", 12, 21, P)], None,
     1 / 3, 2 / 3),
    # file order: 10-24 (IoU 0.75) comes first and takes the truth; 10-29 (IoU 1) is a FP. Rows (neg, pos), (pos, pos):
    # neg 0 0, pos P 1/2 R 1 -> F1 1/3; spot 2 TP 1 FP -> 0.8; STRS 0.8/3. mpt: 10-29 matched, analysis 1 -> 0.8.
    ("file order", [("s1", "v1", 10, 24, P), ("s1", "v1", 10, 29, N), ("s1", "v2", 50, 59, P)],
     [("s1", "v1", 10, 29, N), ("s1", "v2", 50, 59, P)], None, 0.8 / 3, 0.8),
    # a subject without predictions: s2's truth is not scored (no FN); surprise (s2's class) averaged as 0:
    # P = R = 2/3 -> STRS 2/3. mpt: FN 1 -> spot F1 0.8, analysis 1 -> 0.8.
    ("subject without predictions", [("s1", "v1", 10, 19, N), ("s1", "v2", 50, 59, P)],
     [("s1", "v1", 10, 19, N), ("s1", "v2", 50, 59, P), ("s2", "v1", 10, 19, S)], None, 2 / 3, 0.8),
    # a video without ground truth: its prediction is not scored -> 1.0. mpt: a FP -> spot F1 0.8 -> 0.8.
    ("video without ground truth", [("s1", "v1", 10, 19, N), ("s1", "v2", 50, 59, P), ("s1", "v3", 100, 109, S)],
     [("s1", "v1", 10, 19, N), ("s1", "v2", 50, 59, P)], None, 1.0, 0.8),
    # 0/0: a perfect one-class analysis is a 1 x 1 confusion matrix -> zeros -> P = R = 0 -> NaN. mpt: 1.
    ("0/0 perfect one class", [("s1", "v1", 10, 19, N), ("s1", "v2", 50, 59, N)],
     [("s1", "v1", 10, 19, N), ("s1", "v2", 50, 59, N)], None, math.nan, 1.0),
    # 0/0: every class wrong -> P = R = 0 -> NaN. mpt: F1 0 -> 0.
    ("0/0 all wrong", [("s1", "v1", 10, 19, P), ("s1", "v2", 50, 59, N)],
     [("s1", "v1", 10, 19, N), ("s1", "v2", 50, 59, P)], None, math.nan, 0.0),
    # the challenge's classes: the 'others' TP leaves the analysis; surprise absent -> 0: P = R = 2/3. mpt: 1.
    ("others outside the classes", [("s1", "v1", 10, 19, N), ("s1", "v2", 50, 59, N), ("s1", "v3", 80, 89, P)],
     [("s1", "v1", 10, 19, "others"), ("s1", "v2", 50, 59, N), ("s1", "v3", 80, 89, P)], [N, P, S], 2 / 3, 1.0),
    # four TPs, per class: neg P 1 R 1/2, pos P 1/3 R 1, sur 0 0 -> P 4/9, R 1/2, F1 8/17 (mpt the same: all present);
    # the leaderboard's "UAR" = 4/9, mpt's = 1/2.
    ("uar is mean precision", [("s1", "v1", 10, 19, N), ("s1", "v1", 30, 39, P), ("s1", "v1", 50, 59, P),
                               ("s1", "v1", 70, 79, P)],
     [("s1", "v1", 10, 19, N), ("s1", "v1", 30, 39, N), ("s1", "v1", 50, 59, P), ("s1", "v1", 70, 79, S)], None,
     8 / 17, 8 / 17),
    # both rules at once, and an unclassified interval (""): 1-10 takes both truths (IoU 9/11 each), 2-11 is a FP;
    # s2's interval is not classified. Spot 3 TP 1 FP -> 6/7; rows (pos, sur), (sur, sur), (neg, ""): sur P 1/2 R 1,
    # the others 0 -> P 1/6, R 1/3, F1 2/9 -> 4/21. mpt: 2-11 takes the surprise (IoU 1), 1-10 the positive; every
    # class wrong -> 0.
    ("multiple counting, order, unclassified", [("s1", "v1", 1, 10, S), ("s1", "v1", 2, 11, P), ("s2", "v1", 0, 9, "")],
     [("s1", "v1", 0, 9, P), ("s1", "v1", 2, 11, S), ("s2", "v1", 0, 9, N)], [N, P, S], 4 / 21, 0.0),
]


def same(a, b):
    return (math.isnan(a) and math.isnan(b)) or a == pytest.approx(b, abs=1e-12)


@pytest.mark.parametrize("name, pred, truth, classes, megc, mine", CASES, ids=[c[0] for c in CASES])
def test_megc_equals_the_public_evaluator(name, pred, truth, classes, megc, mine):
    official = Oracle().strs(frame(pred), frame(truth), None if classes is None else set(classes))
    assert same(official["STRS"], megc), (official["STRS"], megc)  # the hand-worked figure is the evaluator's
    got = megc_metric.strs(rows(pred), rows(truth), classes)
    assert same(got["strs"], megc)
    s, a = got["spotting"], got["analysis"]
    assert (s["tp"], s["fp"], s["fn"]) == (official["TP"], official["FP"], official["FN"])
    assert same(s["f1"], official["F1 spotting"])
    for key, theirs in (("precision", "P"), ("recall", "R"), ("f1", "F1 analysis"), ("uf1", "UF1"), ("uar", "UAR")):
        assert same(a[key], official[theirs]), key
    assert (a["tp"], a["fp"], a["fn"]) == (official["TP analysis"], official["FP analysis"], official["FN analysis"])
    both = score_str(rows(pred), rows(truth), classes)
    assert same(both["megc"]["strs"], megc) and same(both["mpt"]["strs"], mine)
    if not same(megc, mine):
        assert both["reasons"], "a difference without a reason"


def test_no_match_at_all_crashes_the_evaluator_and_is_nan_here():
    pred, truth = [("s1", "v1", 40, 49, N)], [("s1", "v1", 10, 19, N)]
    with pytest.raises(KeyError):
        Oracle().strs(frame(pred), frame(truth))
    got = megc_metric.strs(rows(pred), rows(truth))
    assert got["crashes"] and math.isnan(got["strs"]) and got["spotting"]["f1"] == 0
    both = score_str(rows(pred), rows(truth))
    assert both["mpt"]["strs"] == 0.0 and any("KeyError" in r for r in both["reasons"])


def test_spotting_per_type_is_the_evaluator_on_each_types_rows():
    """`mpt spot evaluate --megc`: the evaluator's spotting step on each type's rows alone."""
    pred = [("s1", "v1", 10, 21, "micro"), ("s1", "v1", 100, 160, "macro"), ("s1", "v2", 5, 14, "macro"),
            ("s1", "v2", 40, 49, "micro"), ("s2", "v1", 0, 30, "macro")]
    truth = [("s1", "v1", 10, 19, "micro"), ("s1", "v1", 12, 21, "micro"), ("s1", "v1", 100, 150, "macro"),
             ("s1", "v2", 40, 49, "micro"), ("s3", "v1", 10, 19, "micro")]
    got = megc_metric.spotting_by_type(rows(pred), rows(truth))
    for kind in ("micro", "macro"):
        p = frame([r for r in pred if r[4] == kind])
        t = frame([r for r in truth if r[4] == kind])
        TP = FP = FN = 0
        for subject in p["subject"].unique():
            for video in t[t["subject"] == subject]["video"].unique():
                tp, fp, fn = Oracle().spotting(p[(p["subject"] == subject) & (p["video"] == video)],
                                               t[(t["subject"] == subject) & (t["video"] == video)])
                TP, FP, FN = TP + len(tp), FP + len(fp), FN + len(fn)
        assert (got[kind]["tp"], got[kind]["fp"], got[kind]["fn"]) == (TP, FP, FN), kind
    # by hand: micro: 10-21 takes both s1/v1 truths (2 TP), 40-49 one (TP); s3 has no prediction (not scored)
    assert (got["micro"]["tp"], got["micro"]["fp"], got["micro"]["fn"]) == (3, 0, 0)
    # macro: 100-160 vs 100-150 (IoU 51/61) TP; s1/v2 and s2/v1 hold no macro truth: their predictions not scored
    assert (got["macro"]["tp"], got["macro"]["fp"], got["macro"]["fn"]) == (1, 0, 0)
    assert got["overall"]["f1"] == 1.0
    both = score_spotting(rows(pred), rows(truth))
    mine = both["mpt"]
    # mpt: micro one-to-one (2 TP, FN for the second s1/v1 truth and s3's), macro 2 FPs
    assert (mine["micro"]["tp"], mine["micro"]["fp"], mine["micro"]["fn"]) == (2, 0, 2)
    assert (mine["macro"]["tp"], mine["macro"]["fp"], mine["macro"]["fn"]) == (1, 2, 0)
    assert len(both["reasons"]) >= 3


def test_file_order_match_is_order_dependent_and_multiple():
    truth = [(10, 29)]
    assert megc_metric.file_order_match([(10, 24), (10, 29)], truth) == [(0, 0, 0.75)]
    assert megc_metric.file_order_match([(10, 29), (10, 24)], truth) == [(0, 0, 1.0)]
    assert [t for _, t, _ in megc_metric.file_order_match([(0, 11)], [(0, 9), (2, 11)])] == [0, 1]


def test_json_safe_turns_nan_into_null():
    assert megc_metric.json_safe({"a": [float("nan"), 1.0], "b": float("nan")}) == {"a": [None, 1.0], "b": None}
