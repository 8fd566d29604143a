"""Classification metrics on pooled LOSO predictions (METHOD.md section 3, the paper's eqs. 18-21).

Conventions for a class that makes a ratio 0/0 (it has no predictions, no true clips, or both):
its precision, recall or F1 is defined as **0** -- the same as scikit-learn's ``zero_division=0``.
UF1 and UAR still average over *every* class in ``classes``, so a class the model never predicts
pulls the mean down instead of vanishing from it (``f1_score(average="macro", labels=range(C),
zero_division=0)``). This is the honest reading of "mean over classes of 2TP / (2TP + FP + FN)".
"""

from __future__ import annotations

import numpy as np


def confusion(labels, preds, num_classes: int) -> np.ndarray:
    """(C, C) int64 counts; row = true class, column = predicted class."""
    labels = np.asarray(labels, dtype=np.int64)
    preds = np.asarray(preds, dtype=np.int64)
    if labels.shape != preds.shape:
        raise ValueError(f"labels {labels.shape} and predictions {preds.shape} differ in shape")
    for name, a in (("label", labels), ("prediction", preds)):
        if a.size and (a.min() < 0 or a.max() >= num_classes):
            raise ValueError(f"a {name} is outside 0..{num_classes - 1}: {sorted(set(a.tolist()))}")
    cm = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(cm, (labels, preds), 1)
    return cm


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """num / den elementwise, 0 where den == 0 (see the module docstring)."""
    num = num.astype(np.float64)
    den = den.astype(np.float64)
    out = np.zeros_like(num)
    np.divide(num, den, out=out, where=den > 0)
    return out


def per_class(cm: np.ndarray) -> dict[str, np.ndarray]:
    """Precision, recall and F1 per class from a confusion matrix; 0/0 -> 0."""
    tp = np.diag(cm)
    fp = cm.sum(axis=0) - tp
    fn = cm.sum(axis=1) - tp
    return {
        "precision": _ratio(tp, tp + fp),
        "recall": _ratio(tp, tp + fn),
        "f1": _ratio(2 * tp, 2 * tp + fp + fn),
        "support": cm.sum(axis=1),
    }


def scores(labels, preds, num_classes: int) -> dict[str, float]:
    """Accuracy, UF1 (mean per-class F1) and UAR (mean per-class recall)."""
    cm = confusion(labels, preds, num_classes)
    if cm.sum() == 0:
        raise ValueError("no predictions to score")
    pc = per_class(cm)
    return {
        "accuracy": float(np.trace(cm) / cm.sum()),
        "uf1": float(pc["f1"].mean()),
        "uar": float(pc["recall"].mean()),
    }


def per_subject_mean(folds: list[tuple[list[int], list[int]]], num_classes: int) -> dict[str, float]:
    """Accuracy, UF1 and UAR computed per fold (labels, preds), then averaged over folds.

    A secondary figure: with a handful of clips per subject, per-fold F1 is dominated by classes
    that subject never showed (0 by the convention above), so it is much noisier than the pooled one.
    """
    per = [scores(l, p, num_classes) for l, p in folds]
    return {k: float(np.mean([s[k] for s in per])) for k in ("accuracy", "uf1", "uar")}


def evaluate(labels, preds, classes, subject_folds=None) -> dict:
    """Everything results.json reports about predictions: pooled scores, per class, confusion."""
    n = len(classes)
    cm = confusion(labels, preds, n)
    pc = per_class(cm)
    out = scores(labels, preds, n)
    out["per_class"] = {
        name: {k: float(pc[k][i]) if k != "support" else int(pc[k][i]) for k in pc}
        for i, name in enumerate(classes)
    }
    out["confusion"] = cm.tolist()
    if subject_folds is not None:
        out["per_subject_mean"] = per_subject_mean(subject_folds, n)
    return out
