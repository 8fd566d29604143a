import numpy as np
import pytest
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, precision_recall_fscore_support, recall_score

from train.folds import loso_folds, select_folds
from train.metrics import evaluate, per_subject_mean, scores


def _sk(labels, preds, n):
    lab = list(range(n))
    return {
        "accuracy": accuracy_score(labels, preds),
        "uf1": f1_score(labels, preds, labels=lab, average="macro", zero_division=0),
        "uar": recall_score(labels, preds, labels=lab, average="macro", zero_division=0),
    }


@pytest.mark.parametrize("seed", range(5))
def test_pooled_scores_equal_sklearn(seed):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 5, 60)
    preds = np.where(rng.random(60) < 0.5, labels, rng.integers(0, 5, 60))
    ours, ref = scores(labels, preds, 5), _sk(labels, preds, 5)
    for k in ref:
        assert ours[k] == pytest.approx(ref[k], abs=1e-12)


def test_class_with_no_predictions_and_class_with_no_clips():
    labels = np.array([0, 0, 1, 1, 2, 2, 3, 3])
    preds = np.array([0, 1, 1, 1, 2, 0, 0, 0])  # class 3 never predicted, class 4 absent entirely
    res = evaluate(labels, preds, ["a", "b", "c", "d", "e"])
    ref = _sk(labels, preds, 5)
    assert res["uf1"] == pytest.approx(ref["uf1"])
    assert res["uar"] == pytest.approx(ref["uar"])
    # closed form: F1 = 2TP/(2TP+FP+FN) per class: a 2/(2+3+1), b 4/(4+1+0), c 2/(2+0+1), d 0, e 0
    assert res["uf1"] == pytest.approx((2 / 6 + 4 / 5 + 2 / 3 + 0 + 0) / 5)
    p, r, f, s = precision_recall_fscore_support(labels, preds, labels=range(5), zero_division=0)
    for i, name in enumerate("abcde"):
        assert res["per_class"][name]["precision"] == pytest.approx(p[i])
        assert res["per_class"][name]["recall"] == pytest.approx(r[i])
        assert res["per_class"][name]["f1"] == pytest.approx(f[i])
        assert res["per_class"][name]["support"] == s[i]
    assert res["confusion"] == confusion_matrix(labels, preds, labels=range(5)).tolist()


def test_per_subject_mean_is_mean_of_fold_scores():
    folds = [([0, 1, 1], [0, 1, 0]), ([2, 2], [2, 2])]
    got = per_subject_mean(folds, 3)
    want = np.mean([_sk(l, p, 3)["uf1"] for l, p in folds])
    assert got["uf1"] == pytest.approx(want)
    assert got["accuracy"] == pytest.approx((2 / 3 + 1) / 2)


def test_out_of_range_label_is_an_error():
    with pytest.raises(ValueError, match="outside"):
        scores([0, 5], [0, 1], 5)


def test_folds_are_disjoint_by_subject_and_cover_every_clip_once():
    rng = np.random.default_rng(0)
    subjects = rng.choice(["sub01", "sub02", "sub10", "s3"], 40)
    folds = loso_folds(subjects)
    assert [f.subject for f in folds] == sorted(set(subjects))
    tested = np.concatenate([f.test for f in folds])
    assert sorted(tested.tolist()) == list(range(40))  # every clip tested exactly once
    for f in folds:
        assert set(subjects[f.test]) == {f.subject}
        assert f.subject not in set(subjects[f.train])
        assert len(f.train) + len(f.test) == 40


def test_fold_selection():
    folds = loso_folds(["006", "007", "011", "006"])
    assert [f.subject for f in select_folds(folds, "all")] == ["006", "007", "011"]
    assert select_folds(folds, 1)[0].subject == "007"
    assert select_folds(folds, "2")[0].subject == "011"
    assert select_folds(folds, "006")[0].subject == "006"  # a subject id wins over an index
    with pytest.raises(ValueError, match="out of range"):
        select_folds(folds, 7)
    with pytest.raises(ValueError, match="no fold for subject"):
        select_folds(folds, "sub99")
    with pytest.raises(ValueError, match="at least 2 subjects"):
        loso_folds(["a", "a"])
