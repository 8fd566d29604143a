"""Action Unit detection as a task: targets from a cache's AU strings, and the per-AU metrics.

Targets: one column per chosen AU, 1 (present), 0 (absent) or -1 (uncertain: named in an
alternative such as ``R6 or R12``; masked out of the loss and the metrics), read by
``mpt_core.aus.parse_aus``. A clip whose string is not coded (``?``, empty) or cannot be read is
left out of the task and listed, never guessed.

Loss: binary cross-entropy per AU, masked where uncertain, with each AU's positive term weighted by
its negatives/positives ratio among the fold's own training clips (``positive_weights``). AUs are
rare (most show in 5-30 % of clips): unweighted, the loss is lowest near each AU's base rate and a
model at threshold 0.5 predicts nearly every AU absent (measured once on a 34-clip synthetic composite,
10 epochs, Haar-aligned: mean F1 6.6 % unweighted, 20.4 % weighted).

Metrics: a fixed threshold of 0.5 on the sigmoid (nothing is tuned on a test subject). Per AU, on
the pooled test clips where the AU is known: F1 = 2TP / (2TP + FP + FN) (0 when it is 0/0, as
scikit-learn's ``zero_division=0``), the ROC AUC where both classes occur (else None), and the number
of positives. ``mean_f1`` averages the F1 of the AUs that had training positives; an AU no training
clip shows cannot be learnt: it is warned about, listed in ``excluded`` and left out of the mean.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mpt_core.aus import au_name, parse_aus

DEFAULT_AUS = (1, 2, 4, 5, 6, 7, 9, 10, 12, 14, 15, 17)  # the 12 AUs of MEB's AU benchmark
THRESHOLD = 0.5


@dataclass(frozen=True)
class AUTargets:
    aus: tuple[int, ...]
    targets: np.ndarray  # (N, A) float32: 1, 0 or -1 (uncertain), one row per cache clip
    usable: np.ndarray  # (N,) bool: the clip's AU string was read
    problems: list[str]  # "subject/clip: why", one per clip left out

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(au_name(a) for a in self.aus)


def au_targets(au_strings, subjects, clips, aus=DEFAULT_AUS) -> AUTargets:
    """Targets of every cache clip for ``aus`` (see the module docstring)."""
    targets = np.zeros((len(au_strings), len(aus)), np.float32)
    usable = np.zeros(len(au_strings), bool)
    problems = []
    for i, text in enumerate(au_strings):
        code = parse_aus(text)
        if not code.usable:
            problems.append(f"{subjects[i]}/{clips[i]}: {code.problem}")
            continue
        usable[i] = True
        targets[i] = [code.target(a) for a in aus]
    return AUTargets(tuple(aus), targets, usable, problems)


def positive_weights(targets: np.ndarray) -> np.ndarray:
    """(A,) float32: per AU, negatives / positives among the known targets of the training clips, so the
    rare positives weigh as much as the negatives in the loss (1 where an AU has no positive or negative).
    Computed per fold from its training clips only."""
    pos = (targets == 1).sum(0).astype(np.float32)
    neg = (targets == 0).sum(0).astype(np.float32)
    return np.where((pos > 0) & (neg > 0), neg / np.maximum(pos, 1), 1.0).astype(np.float32)


def binary_f1(truth: np.ndarray, pred: np.ndarray) -> float:
    tp = int(np.sum((truth == 1) & (pred == 1)))
    fp = int(np.sum((truth == 0) & (pred == 1)))
    fn = int(np.sum((truth == 1) & (pred == 0)))
    return 2 * tp / (2 * tp + fp + fn) if 2 * tp + fp + fn else 0.0


def roc_auc(truth: np.ndarray, scores: np.ndarray) -> float | None:
    """Area under the ROC curve (Mann-Whitney U with average ranks for ties); None unless both classes occur."""
    from scipy.stats import rankdata

    pos = truth == 1
    n_pos, n_neg = int(pos.sum()), int((~pos).sum())
    if n_pos == 0 or n_neg == 0:
        return None
    ranks = rankdata(scores)
    return float((ranks[pos].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def au_metrics(labels, probs, names, train_positives: dict[str, int]) -> dict:
    """``per_au``, ``mean_f1``, ``excluded`` and the baselines, from pooled (N, A) labels (-1 masked) and
    probabilities; ``train_positives`` is, per AU, the most training positives any fold had (0: no
    training clip shows the AU, so it is excluded from the mean)."""
    labels, probs = np.asarray(labels, np.float64), np.asarray(probs, np.float64)
    per_au, counted, excluded = {}, [], []
    prior_f1, all_positive_f1 = [], []
    for j, name in enumerate(names):
        known = labels[:, j] >= 0
        truth, p = labels[known, j].astype(int), probs[known, j]
        f1 = binary_f1(truth, (p >= THRESHOLD).astype(int))
        per_au[name] = {"f1": f1, "auc": roc_auc(truth, p), "positives": int(truth.sum()), "clips": int(known.sum()),
                        "train_positives": int(train_positives.get(name, 0))}
        if train_positives.get(name, 0) == 0:
            excluded.append(name)
            continue
        counted.append(f1)
        q = truth.mean() if len(truth) else 0.0
        all_positive_f1.append(2 * q / (1 + q))
        prior_f1.append(q)  # F1 of guessing "present" at the AU's own rate q: precision q, recall q
    mean = lambda xs: float(np.mean(xs)) if xs else None  # noqa: E731
    return {
        "per_au": per_au, "mean_f1": mean(counted), "excluded": excluded, "threshold": THRESHOLD,
        "baselines": {
            "all_negative": {"mean_f1": 0.0 if counted else None,
                             "note": "predict every AU absent: F1 is 0 for every AU"},
            "all_positive": {"mean_f1": mean(all_positive_f1), "note": "predict every AU present: F1 = 2q/(1+q), "
                             "q the AU's rate among the test clips"},
            "prior": {"mean_f1": mean(prior_f1), "note": "predict each AU present at random at its test rate q: "
                      "expected F1 = q"},
        },
    }
