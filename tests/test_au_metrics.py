"""AU targets from cache AU strings, and the per-AU metrics, checked against scikit-learn."""

import numpy as np
import pytest
from sklearn.metrics import f1_score, roc_auc_score

from train.au import DEFAULT_AUS, au_metrics, au_targets, binary_f1, roc_auc


def test_targets_from_strings():
    t = au_targets(["4+L10", "(R6 or R12)+R15", "?", "R14+17+soft focus", "", "12C"], ["s1"] * 6,
                   ["a", "b", "c", "d", "e", "f"], aus=(4, 6, 10, 12, 15))
    assert t.names == ("AU4", "AU6", "AU10", "AU12", "AU15")
    assert t.usable.tolist() == [True, True, False, False, False, True]
    assert t.targets[0].tolist() == [1, 0, 1, 0, 0]
    assert t.targets[1].tolist() == [0, -1, 0, -1, 1]
    assert t.targets[5].tolist() == [0, 0, 0, 1, 0]
    assert len(t.problems) == 3 and t.problems[0].startswith("s1/c: ") and "soft focus" in t.problems[1]
    assert DEFAULT_AUS == (1, 2, 4, 5, 6, 7, 9, 10, 12, 14, 15, 17)


def test_f1_and_auc_equal_scikit_learn():
    rng = np.random.default_rng(0)
    for _ in range(20):
        truth = rng.integers(0, 2, 40)
        scores = np.round(rng.random(40), 1)  # ties on purpose
        pred = (scores >= 0.5).astype(int)
        assert binary_f1(truth, pred) == pytest.approx(f1_score(truth, pred, zero_division=0))
        if 0 < truth.sum() < len(truth):
            assert roc_auc(truth, scores) == pytest.approx(roc_auc_score(truth, scores))
    assert roc_auc(np.ones(5, int), np.arange(5.0)) is None
    assert binary_f1(np.zeros(4, int), np.zeros(4, int)) == 0.0


def test_metrics_mask_uncertain_and_exclude_unlearnable():
    labels = np.array([[1, 0, -1], [0, 0, 1], [1, 1, 0], [0, 0, 0]])
    probs = np.array([[0.9, 0.2, 0.9], [0.1, 0.6, 0.8], [0.4, 0.7, 0.1], [0.2, 0.1, 0.3]])
    m = au_metrics(labels, probs, ["AU1", "AU2", "AU4"], {"AU1": 3, "AU2": 0, "AU4": 2})
    assert m["per_au"]["AU4"]["clips"] == 3 and m["per_au"]["AU4"]["positives"] == 1  # row 0 masked
    assert m["per_au"]["AU1"]["f1"] == pytest.approx(f1_score([1, 0, 1, 0], [1, 0, 0, 0]))
    assert m["excluded"] == ["AU2"]
    assert m["mean_f1"] == pytest.approx((m["per_au"]["AU1"]["f1"] + m["per_au"]["AU4"]["f1"]) / 2)
    assert m["baselines"]["all_negative"]["mean_f1"] == 0.0
    assert m["baselines"]["prior"]["mean_f1"] == pytest.approx((2 / 4 + 1 / 3) / 2)


def test_positive_weights_per_au():
    from train.au import positive_weights

    targets = np.array([[1, 0, -1, 0], [0, 0, 1, 0], [0, 1, 1, 0], [0, 0, 0, 0]], np.float32)
    # AU a: 1 positive, 3 negatives; b: 1 / 3; c: 2 / 1 (one uncertain); d: no positive -> 1
    assert positive_weights(targets).tolist() == [3.0, 3.0, 0.5, 1.0]
