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

def fit_folds(run: RunFolder, source, settings, model_settings, chosen: list[Fold], n_folds: int,
              test_source=None) -> None:
    """Fit and evaluate every unfinished fold of ``chosen``; each writes its record (the fold is done)."""
    from .loop import _label, fold_record

    if source.multilabel:
        raise ValueError(f"{model_settings.model}: the hand-crafted baselines classify emotions; --task au is for "
                         "the networks")
    method = METHODS[model_settings.model]
    t0 = time.perf_counter()
    X = clip_features(source, method)
    X_test = X if test_source is None else clip_features(test_source, method)
    print(f"{method.name}: {X.shape[1]} features per clip, {len(X)} clips in {time.perf_counter() - t0:.1f} s; "
          f"{'linear SVM' if method.classifier == 'svm' else 'logistic regression'} (balanced, C={C}) per fold",
          flush=True)
    y = source.labels
    n_classes = len(source.classes)
    for fold in chosen:
        if run.is_done(fold.name):
            print(f"{_label(fold, n_folds)} already done, skipped", flush=True)
            continue
        t1 = time.perf_counter()
        pipe = fit_fold(X, y, fold.train, method.classifier, settings.seed + fold.index)
        t2 = time.perf_counter()
        probs = torch.from_numpy(class_scores(pipe, X_test[fold.test], n_classes))
        coef = pipe[-1].coef_
        counts = {"trainable": int(coef.size + pipe[-1].intercept_.size), "frozen": 0,
                  "total": int(coef.size + pipe[-1].intercept_.size)}
        record = fold_record(fold, source, settings, probs=probs, losses=[], seconds=t2 - t1,
                             eval_seconds=time.perf_counter() - t2, counts=counts, fold_batch=1,
                             test_source=test_source)
        record["features"] = int(X.shape[1])
        save_fold(run, fold, pipe, {"format": "mpt-handcrafted-v1", "model": model_settings.model,
                                    "subject": fold.subject, "fold": fold.index})
        run.finish(fold.name, record)
        acc = record["accuracy"]
        print(f"{_label(fold, n_folds)} train {len(fold.train)} clips, test {len(fold.test)}"
              + (f": accuracy {100 * acc:.1f} %" if acc is not None else ""), flush=True)
