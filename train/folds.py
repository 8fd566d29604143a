"""Leave-one-subject-out folds: one fold per subject, that subject's clips are the test set."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Fold:
    index: int  # position in the sorted subject list
    subject: str  # the held-out subject
    train: np.ndarray  # clip row indices into the cache, ascending
    test: np.ndarray

    @property
    def name(self) -> str:
        """File-system-safe name (megc2019 subjects look like "casme2/sub01")."""
        return self.subject.replace("/", "_").replace("\\", "_")


def loso_folds(subjects) -> list[Fold]:
    """One fold per distinct subject, in sorted subject order; ``subjects`` has one entry per clip."""
    subjects = np.asarray([str(s) for s in subjects])
    if subjects.size == 0:
        raise ValueError("no clips: cannot build leave-one-subject-out folds")
    names = sorted(set(subjects.tolist()))
    if len(names) < 2:
        raise ValueError(f"leave-one-subject-out needs at least 2 subjects, the cache has {names}")
    folds = []
    for i, name in enumerate(names):
        held = subjects == name
        folds.append(Fold(i, name, np.flatnonzero(~held), np.flatnonzero(held)))
    return folds


def select_folds(folds: list[Fold], which: str | int = "all") -> list[Fold]:
    """``"all"``, a fold index (``3`` or ``"3"``) or a subject id (``"sub03"``)."""
    if isinstance(which, int) or (isinstance(which, str) and which.isdigit() and which not in
                                  {f.subject for f in folds}):
        i = int(which)
        if not 0 <= i < len(folds):
            raise ValueError(f"fold index {i} is out of range: there are {len(folds)} folds (0..{len(folds) - 1})")
        return [folds[i]]
    if which == "all":
        return list(folds)
    for f in folds:
        if which in (f.subject, f.name):
            return [f]
    raise ValueError(f"no fold for subject {which!r}; subjects: {', '.join(f.subject for f in folds)}")
