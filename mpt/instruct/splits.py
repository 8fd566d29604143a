"""Train/test pairs by subject: one held-out set (``--holdout``) or one pair per LOSO fold (``--folds``).
A subject is never on both sides of a pair (tests check every pair)."""

from __future__ import annotations

from .layout import safe_part


class SplitError(ValueError):
    """A held-out subject that is not in the dataset, or a split that leaves one side empty."""


def plan_splits(subjects: list[str], *, holdout: list[str] | None = None, folds: bool = False) -> dict[str, list[str]]:
    """{split name: its test subjects}; the train side is every other subject."""
    if holdout and folds:
        raise SplitError("--holdout and --folds: choose one")
    subjects = sorted(subjects)
    if holdout:
        unknown = [s for s in holdout if s not in subjects]
        if unknown:
            shown = ", ".join(subjects[:12]) + (", ..." if len(subjects) > 12 else "")
            raise SplitError(f"--holdout: subject(s) {', '.join(unknown)} not in the dataset (subjects: {shown})")
        test = sorted(set(holdout))
        if len(test) == len(subjects):
            raise SplitError(f"--holdout holds out every subject ({len(subjects)}): nothing is left to train on")
        return {"holdout": test}
    if folds:
        if len(subjects) < 2:
            raise SplitError(f"--folds needs at least 2 subjects, the dataset has {len(subjects)}")
        return {f"loso-{safe_part(s)}": [s] for s in subjects}
    return {}


def split_records(records: list[dict], test_subjects: list[str]) -> tuple[list[dict], list[dict]]:
    test = set(test_subjects)
    return [r for r in records if r["subject"] not in test], [r for r in records if r["subject"] in test]
