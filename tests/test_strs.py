"""The STRS metric (mpt_core.strs): hand-made cases, and random records against an independent
recomputation (a confusion matrix built here, not the module's per-class counting)."""

import random

import numpy as np
import pytest

from mpt_core.strs import analysis_scores, pair_intervals, str_scores


def rec(truth, prediction):
    return {"truth": truth, "prediction": prediction}


def test_hand_made():
    # 3 TPs (2 right), 1 FP, 2 FN: spotting P 3/4, R 3/5
    records = [rec("negative", "negative"), rec("positive", "positive"), rec("negative", "surprise"),
               rec(None, "negative"), rec("surprise", None), rec("negative", None)]
    out = str_scores(records)
    s = out["spotting"]
    assert (s["tp"], s["fp"], s["fn"]) == (3, 1, 2)
    assert s["f1"] == pytest.approx(2 * 0.75 * 0.6 / 1.35)
    a = out["analysis"]
    # classes negative, positive, surprise: precision 1, 1, 0; recall 1/2, 1, 0
    assert a["precision"] == pytest.approx(2 / 3) and a["recall"] == pytest.approx(0.5)
    assert a["f1"] == pytest.approx(2 * (2 / 3) * 0.5 / (2 / 3 + 0.5))
    assert a["uf1"] == pytest.approx((2 / 3 + 1 + 0) / 3) and a["uar"] == pytest.approx(0.5)
    assert out["strs"] == pytest.approx(s["f1"] * a["f1"])


def test_no_true_positive_and_empty():
    assert str_scores([rec(None, "a"), rec("b", None)])["strs"] == 0
    empty = str_scores([])
    assert empty["strs"] == 0 and empty["spotting"]["tp"] == 0 and empty["analysis"]["f1"] == 0


def test_classes_outside_the_model_are_excluded_and_failures_are_wrong():
    records = [rec("negative", "negative"), rec("others", "negative"), rec("positive", "")]
    out = str_scores(records, classes=("negative", "positive", "surprise"))
    assert out["spotting"]["tp"] == 3  # spotting does not care about classes
    a = out["analysis"]
    assert a["analysed"] == 2 and a["excluded"] == 1
    assert set(a["per_class"]) == {"negative", "positive"}
    assert a["per_class"]["positive"]["recall"] == 0 and a["per_class"]["negative"]["precision"] == 1


def test_uar_is_recall_not_precision():
    # one class predicted for everything: recall and precision differ
    a = analysis_scores(["a", "a", "b"], ["a", "a", "a"])
    assert a["uar"] == pytest.approx((1 + 0) / 2) and a["precision"] == pytest.approx((2 / 3 + 0) / 2)


def test_pairing_uses_the_megc_matching():
    spotted = [(10, 20), (30, 40), (100, 110)]
    truth = [(11, 21), (60, 70)]
    pairs = pair_intervals(spotted, truth)
    assert pairs[0][:2] == (0, 0) and pairs[0][2] == pytest.approx(10 / 12)
    assert set(pairs[1:]) == {(1, None, None), (2, None, None), (None, 1, None)}


def independent(records, classes):
    tp = sum(1 for r in records if r["truth"] is not None and r["prediction"] is not None)
    fp = sum(1 for r in records if r["truth"] is None)
    fn = sum(1 for r in records if r["prediction"] is None)
    p = tp / (tp + fp) if tp + fp else 0
    r = tp / (tp + fn) if tp + fn else 0
    f_spot = 2 * p * r / (p + r) if p + r else 0
    pairs = [(x["truth"], x["prediction"]) for x in records if x["truth"] in classes and x["prediction"] is not None]
    index = {c: i for i, c in enumerate(classes)}
    conf = np.zeros((len(classes), len(classes) + 1))  # last column: a prediction outside the classes
    for t, q in pairs:
        conf[index[t], index.get(q, len(classes))] += 1
    used = [i for i, c in enumerate(classes) if conf[i].sum() or conf[:, i].sum()]
    if not used:
        return f_spot, 0.0, 0.0
    prec = [conf[i, i] / conf[:, i].sum() if conf[:, i].sum() else 0 for i in used]
    recl = [conf[i, i] / conf[i].sum() if conf[i].sum() else 0 for i in used]
    P, R = np.mean(prec), np.mean(recl)
    f_an = 2 * P * R / (P + R) if P + R else 0
    return f_spot, f_an, f_spot * f_an


@pytest.mark.parametrize("seed", range(5))
def test_random_records_against_an_independent_computation(seed):
    rng = random.Random(seed)
    classes = ("negative", "positive", "surprise")
    labels = [*classes, "others", ""]
    records = []
    for _ in range(rng.randint(0, 40)):
        kind = rng.choice(["tp", "tp", "fp", "fn"])
        truth = None if kind == "fp" else rng.choice(labels)
        pred = None if kind == "fn" else rng.choice([*classes, ""])
        records.append(rec(truth, pred))
    out = str_scores(records, classes)
    f_spot, f_an, strs = independent(records, classes)
    assert out["spotting"]["f1"] == pytest.approx(f_spot)
    assert out["analysis"]["f1"] == pytest.approx(f_an)
    assert out["strs"] == pytest.approx(strs)
