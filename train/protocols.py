"""Evaluation protocols beyond leave-one-subject-out: cross-dataset and leave-one-dataset-out.

* ``loso`` (``folds.loso_folds``): one fold per subject of one cache.
* ``cross``: train on every clip of cache A, evaluate once on every clip of cache B (MEGC 2018's
  holdout-database protocol). The two caches must have been preprocessed with the same settings,
  their classes meet through a class map (``mpt_core.classmap``): a class of B that maps to nothing
  is an error, clips of A whose class maps to nothing are left out of training (and said so), and no
  subject may be in both (subjects are compared with their corpus: ``casme2/sub01``).
* ``lodo``: on a composite cache, one fold per part: train on the others, test on it.
"""

from __future__ import annotations

import numpy as np

from mpt_core.classmap import ClassMap

from .folds import Fold

PROTOCOLS = ("loso", "lodo", "cross")


def part_of(subject: str) -> str | None:
    """The part of a composite's subject (``casme2/sub01`` -> ``casme2``), None for a plain one."""
    return subject.split("/", 1)[0] if "/" in subject else None


def qualified_subjects(subjects, sources) -> np.ndarray:
    """Each clip's subject with its corpus: composites' subjects already carry it."""
    return np.asarray([s if "/" in s else f"{src}/{s}" for s, src in zip(subjects, sources)])


def lodo_folds(subjects) -> list[Fold]:
    """One fold per part of a composite cache (subjects ``part/subject``), in sorted part order."""
    parts = np.asarray([part_of(str(s)) for s in subjects], dtype=object)
    if len(parts) and any(p is None for p in parts):
        plain = sorted({str(s) for s, p in zip(subjects, parts) if p is None})[:3]
        raise ValueError(f"--protocol lodo needs a composite cache (subjects part/subject, as mpt preprocess "
                         f"composite or megc2019 write them); this cache has subjects such as {', '.join(plain)}")
    names = sorted(set(parts.tolist()))
    if len(names) < 2:
        raise ValueError(f"--protocol lodo needs at least 2 parts, the cache has {names}")
    return [Fold(i, name, np.flatnonzero(parts != name), np.flatnonzero(parts == name)) for i, name in enumerate(names)]


def cross_fold(n_train: int, n_test: int, test_name: str) -> Fold:
    """The one fold of the cross protocol: every row of the training cache, every row of the test cache."""
    return Fold(0, test_name, np.arange(n_train), np.arange(n_test))


def settings_difference(a: dict, b: dict) -> list[str]:
    """``name a-value vs b-value`` for every preprocessing setting that differs (or only one has)."""
    out = []
    for k in sorted(set(a) | set(b)):
        if a.get(k, "(absent)") != b.get(k, "(absent)"):
            out.append(f"{k} {a.get(k, '(absent)')} vs {b.get(k, '(absent)')}")
    return out


def check_same_preprocessing(train_meta, test_meta) -> None:
    diff = settings_difference(train_meta.settings, test_meta.settings)
    if diff:
        raise ValueError(f"--test-cache {test_meta.path} was preprocessed with other settings than --cache "
                         f"{train_meta.path}: {'; '.join(diff)} (train vs test); preprocess both the same way")
    if (train_meta.frames, train_meta.size) != (test_meta.frames, test_meta.size):
        raise ValueError(f"--test-cache {test_meta.path}: clips of {test_meta.frames} frames at {test_meta.size} px, "
                         f"--cache {train_meta.path}: {train_meta.frames} at {train_meta.size} px")


def map_classes(labels: np.ndarray, classes, cmap: ClassMap, *, role: str, where) -> tuple[np.ndarray, np.ndarray]:
    """(labels as indices into ``cmap.classes``, mask of the clips kept). ``role`` "test": a class that maps
    to nothing is an error naming it (unless the map ignores it); "train": its clips are left out (the caller
    says so). Clips of ignored classes are left out in both."""
    targets = [cmap.target(c) for c in classes]
    unmapped = [c for c, t in zip(classes, targets) if t is None]
    bad = [c for c in unmapped if not cmap.ignored(c)]
    if role == "test" and bad:
        raise ValueError(f"{where}: class(es) {', '.join(bad)} map to nothing in class map {cmap.name} "
                         f"(its classes: {', '.join(cmap.classes)}); give a --class-map that maps or ignores them")
    index = np.asarray([cmap.classes.index(t) if t is not None else -1 for t in targets], dtype=np.int64)
    mapped = index[labels] if len(labels) else labels
    return mapped, mapped >= 0
