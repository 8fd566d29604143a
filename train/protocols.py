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

from dataclasses import dataclass, field

import numpy as np

from mpt_core.classmap import ClassMap
from mpt_core.names import PROTOCOLS, TASKS

from .folds import Fold

AU_LOSS = "bce-positives-weighted"  # binary cross-entropy, each AU's positives weighted per fold (train/au.py)


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


# the plan: folds and targets of one run


@dataclass
class Plan:
    """What a run trains and tests, whatever the protocol and task."""

    folds: list[Fold]  # every fold of the protocol (``--fold`` chooses among them)
    classes: tuple[str, ...]  # the model's outputs: class names, or AU names for the AU task
    config: dict  # protocol, task, test cache, class map, AUs: recorded in config.json
    notes: list[str] = field(default_factory=list)  # printed before training
    keep: np.ndarray | None = None  # training-cache rows usable for training (the final model's clips)


def _filter(folds: list[Fold], keep: np.ndarray, keep_test: np.ndarray, notes: list[str]) -> list[Fold]:
    out = []
    for f in folds:
        g = Fold(f.index, f.subject, f.train[keep[f.train]], f.test[keep_test[f.test]])
        if len(g.test) == 0:
            notes.append(f"fold {f.subject}: no test clip left (see above); the fold is not trained")
            continue
        out.append(g)
    return out


def _au_plan(source, aus, notes: list[str]) -> tuple[np.ndarray, tuple[str, ...], list[str]]:
    from .au import au_targets

    t = au_targets(source.index.au, source.index.subjects, source.index.clips, aus)
    if not t.usable.any():
        raise ValueError(f"{source.path}: no clip has a readable AU string (AU task needs AU annotations; "
                         f"SMIC has none); for example {t.problems[0] if t.problems else 'none'}")
    source.set_targets(t.targets, t.names)
    if t.problems:
        shown = "; ".join(t.problems[:3]) + (f"; ... ({len(t.problems) - 3} more)" if len(t.problems) > 3 else "")
        notes.append(f"{source.path.name}: {len(t.problems)} clip(s) left out of the AU task: {shown}")
    return t.usable, t.names, t.problems


def plan_protocol(source, test_source=None, *, protocol: str = "loso", task: str = "emotion", aus=None,
                  class_map: str | None = None) -> Plan:
    """The folds and targets of a run: sets the sources' targets (class map, AU targets) and checks
    that the two caches of the cross protocol can meet (settings, classes, subjects)."""
    from mpt_core.classmap import load_class_map

    from .au import DEFAULT_AUS
    from .folds import loso_folds

    if protocol not in PROTOCOLS:
        raise ValueError(f"protocol {protocol!r}: choose one of {', '.join(PROTOCOLS)}")
    if task not in TASKS:
        raise ValueError(f"task {task!r}: choose one of {', '.join(TASKS)}")
    if (protocol == "cross") != (test_source is not None):
        raise ValueError("--protocol cross goes with --test-cache (and --test-cache with the cross protocol)")
    if class_map is not None and (protocol != "cross" or task != "emotion"):
        raise ValueError("--class-map matches the emotion classes of --cache and --test-cache; it applies to the "
                         "cross protocol of the emotion task only")
    if aus is not None and task != "au":
        raise ValueError("--aus applies to --task au")
    notes: list[str] = []
    config = {"protocol": protocol, "task": task, "test_cache": None, "test_cache_key": None, "class_map": None}
    n = len(source)
    keep, keep_test = np.ones(n, bool), None
    classes = tuple(source.classes)
    if test_source is not None:
        check_same_preprocessing(source.meta, test_source.meta)
        config.update(test_cache=str(test_source.path.resolve()), test_cache_key=test_source.meta.cache_key,
                      test_dataset=test_source.meta.dataset)
        if source.meta.cache_key == test_source.meta.cache_key:
            raise ValueError(f"--cache and --test-cache are the same cache ({source.meta.cache_key}): the cross "
                             "protocol tests on another corpus; for one cache use --protocol loso")
    if task == "au":
        aus = tuple(aus) if aus is not None else DEFAULT_AUS
        keep, classes, left_out = _au_plan(source, aus, notes)
        config.update(aus=list(classes), au_left_out=left_out, au_loss=AU_LOSS)
        never = [a for a, n in zip(classes, (source.labels[keep] == 1).sum(0)) if n == 0]
        if never:
            notes.append(f"warning: no training clip shows {', '.join(never)}: cannot be learnt; left out of mean_f1 "
                         "(listed in results.json as excluded)")
        if test_source is not None:
            keep_test, _, test_left_out = _au_plan(test_source, aus, notes)
            config["test_au_left_out"] = test_left_out
    elif test_source is not None:
        cmap = load_class_map(class_map) if class_map is not None else None
        if cmap is None:  # same class names: the identity map
            from mpt_core.classmap import build_class_map

            cmap = build_class_map("identity", {c: [] for c in source.classes})
        labels, keep = map_classes(source.labels, source.classes, cmap, role="train", where=f"--cache {source.path}")
        test_labels, keep_test = map_classes(test_source.labels, test_source.classes, cmap, role="test",
                                             where=f"--test-cache {test_source.path}")
        source.set_targets(labels, cmap.classes)
        test_source.set_targets(test_labels, cmap.classes)
        classes = cmap.classes
        config["class_map"] = cmap.to_dict()
        dropped = sorted({source.index.meta.classes[i] for i in source.index.labels[~keep]})
        if dropped:
            notes.append(f"--cache: {int((~keep).sum())} clip(s) of class(es) {', '.join(dropped)} map to nothing "
                         f"in class map {cmap.name}: left out of training")
    if protocol == "loso":
        folds = loso_folds(source.subjects)
    elif protocol == "lodo":
        folds = lodo_folds(source.subjects)
    else:
        folds = [cross_fold(n, len(test_source), f"test-{test_source.meta.dataset}")]
        train_subjects = set(qualified_subjects(source.subjects[keep], source.index.sources[keep]))
        both = sorted(train_subjects & set(qualified_subjects(test_source.subjects, test_source.index.sources)))
        if both:
            raise ValueError(f"--cache and --test-cache share subject(s) {', '.join(both[:5])}"
                             f"{' ...' if len(both) > 5 else ''}: the test corpus must not hold training subjects")
    folds = _filter(folds, keep, keep_test if keep_test is not None else keep, notes)
    if not folds:
        raise ValueError("no fold has test clips left")
    return Plan(folds, tuple(classes), config, notes, keep)
