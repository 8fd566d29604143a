"""The hand-crafted baselines' training: features (``mpt_core/features``) + a linear classifier per fold.

Same protocol as the networks (``loop.run_loso`` plans the folds, writes the config and calls
``fit_folds``): per fold, a standardisation (``StandardScaler``) and a class-balanced linear classifier
(a linear SVM or a logistic regression, the method's default) are fitted on the fold's **training**
clips only, then applied once to its held-out subject. The features are pure functions of one clip
each, so computing them for every clip first lets nothing of the test subject into a fit. The fold's
record has the same fields as a network's; its weights file holds the scaler and the classifier.

The SVM has no probabilities: its decision values pass through a softmax (scores for the record's
``probabilities``, not calibrated; the prediction is their arg-max, the SVM's own decision).
"""

from __future__ import annotations

import time

import numpy as np
import torch

from mpt_core.features import METHODS

from .folds import Fold
from .runs import RunFolder

C = 1.0  # the classifiers' regularisation: fixed, never chosen by looking at a test subject


# helpers

def clip_features(source, method) -> np.ndarray:
    """(N, D) float32: the method's feature of every clip of the source's flow cache."""
    from mpt_core.cache import open_cache

    with open_cache(source.path, "flow") as f:
        if method.array not in f:
            raise ValueError(f"{source.path}: {method.name} reads {method.array}, which this flow cache lacks; "
                             "rebuild it with mpt preprocess --flow (default sides)")
        data = f[method.array]
        return np.stack([method.feature(data[i]) for i in range(len(data))]).astype(np.float32)


def make_classifier(kind: str, seed: int):
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    if kind == "svm":
        from sklearn.svm import LinearSVC

        clf = LinearSVC(C=C, class_weight="balanced", random_state=seed, max_iter=5000)
    else:
        from sklearn.linear_model import LogisticRegression

        clf = LogisticRegression(C=C, class_weight="balanced", max_iter=2000, random_state=seed)
    return make_pipeline(StandardScaler(), clf)


def fit_fold(X: np.ndarray, y: np.ndarray, train: np.ndarray, kind: str, seed: int):
    """The fold's pipeline, fitted on the rows ``train`` only."""
    import warnings

    from sklearn.exceptions import ConvergenceWarning

    pipe = make_classifier(kind, seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # a fixed iteration budget, as epochs are fixed
        pipe.fit(X[train], y[train])
    return pipe


def class_scores(pipe, X: np.ndarray, n_classes: int) -> np.ndarray:
    """(n, n_classes) probabilities (logistic regression) or softmax of decision values (SVM); a class
    absent from the fold's training clips scores 0."""
    clf = pipe[-1]
    out = np.zeros((len(X), n_classes), np.float32)
    if not len(X):
        return out
    if hasattr(clf, "predict_proba"):
        scores = pipe.predict_proba(X)
    else:
        d = pipe.decision_function(X)
        d = np.stack([-d, d], 1) if d.ndim == 1 else d
        e = np.exp(d - d.max(1, keepdims=True))
        scores = e / e.sum(1, keepdims=True)
    out[:, clf.classes_] = scores
    return out


def save_fold(run: RunFolder, fold: Fold, pipe, header: dict) -> None:
    from mpt_core.model.checkpoint import write_checkpoint_file

    scaler, clf = pipe[0], pipe[-1]
    tensors = {"mean": scaler.mean_, "scale": scaler.scale_, "coef": clf.coef_, "intercept": clf.intercept_,
               "classes": clf.classes_}
    write_checkpoint_file(run.weights_path(fold.name), {k: torch.from_numpy(np.asarray(v)) for k, v in tensors.items()},
                          header)


# the folds

class FeatureFits:
    """The features of every clip (once), then one fit per fold; ``loop.fit_handcrafted`` writes the records."""

    def __init__(self, source, model_settings, test_source=None):
        if source.multilabel:
            raise ValueError(f"{model_settings.model}: the hand-crafted baselines classify emotions; --task au is "
                             "for the networks")
        self.method = METHODS[model_settings.model]
        self.model = model_settings.model
        t0 = time.perf_counter()
        self.X = clip_features(source, self.method)
        self.X_test = self.X if test_source is None else clip_features(test_source, self.method)
        self.y, self.n_classes = source.labels, len(source.classes)
        print(f"{self.method.name}: {self.X.shape[1]} features per clip, {len(self.X)} clips in "
              f"{time.perf_counter() - t0:.1f} s; "
              f"{'linear SVM' if self.method.classifier == 'svm' else 'logistic regression'} (balanced, C={C}) "
              "per fold", flush=True)

    def fit(self, fold: Fold, seed: int) -> dict:
        """Fit on the fold's training rows; score its test rows. Returns what the fold record needs."""
        t1 = time.perf_counter()
        pipe = fit_fold(self.X, self.y, fold.train, self.method.classifier, seed)
        t2 = time.perf_counter()
        probs = torch.from_numpy(class_scores(pipe, self.X_test[fold.test], self.n_classes))
        n = int(pipe[-1].coef_.size + pipe[-1].intercept_.size)
        return {"pipe": pipe, "probs": probs, "seconds": t2 - t1, "eval_seconds": time.perf_counter() - t2,
                "counts": {"trainable": n, "frozen": 0, "total": n}, "features": int(self.X.shape[1])}

    def save(self, run: RunFolder, fold: Fold, fit: dict) -> None:
        save_fold(run, fold, fit["pipe"], {"format": "mpt-handcrafted-v1", "model": self.model,
                                           "subject": fold.subject, "fold": fold.index})
