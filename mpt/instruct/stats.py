"""``stats.json`` and ``stats.md``: how often the annotation is confirmed by the measured motion, per
AU family (a dataset-quality figure), and samples per template, class and split."""

from __future__ import annotations

from collections import Counter

from .conversations import TEMPLATES
from .grounding import STATUSES, coverage, family_label


def compute_stats(*, dataset: str, classes: list[str], clips: list[dict], groundings: list, records: list[dict],
                  splits: dict[str, tuple[list[dict], list[dict]]], skipped: list[dict], seed: int) -> dict:
    cover = coverage()
    families = {name: {"annotated": 0, "confirmed": 0, "moved": 0, "unresolved": 0, "regions": stems}
                for name, stems in cover.items()}
    not_covered, motion_only = Counter(), Counter()
    for g in groundings:
        for f, status in g.families.items():
            families[family_label(f)]["annotated"] += 1
            families[family_label(f)][status] += 1
        not_covered.update(c.au.label for c in g.checks if c.status == "not covered")
        motion_only.update(label for label, _, _ in g.motion_only)
    annotated = sum(f["annotated"] for f in families.values())
    confirmed = sum(f["confirmed"] for f in families.values())
    per_class = {c: {"clips": 0, "samples": 0} for c in classes}
    label_of = {(c["subject"], c["clip"]): c["label"] for c in clips}
    for clip in clips:
        per_class[clip["label"]]["clips"] += 1
    for r in records:
        per_class[label_of[r["subject"], r["clip"]]]["samples"] += 1
    templates = Counter(r["template"] for r in records)

    def side(rs):
        return {"subjects": len({r["subject"] for r in rs}), "clips": len({(r["subject"], r["clip"]) for r in rs}),
                "samples": len(rs)}

    return {
        "dataset": dataset, "classes": list(classes), "seed": seed,
        "clips": len(clips), "subjects": len({c["subject"] for c in clips}),
        "families": families,
        "confirmed_fraction": round(confirmed / annotated, 4) if annotated else None,
        "annotated_families": annotated, "confirmed_families": confirmed,
        "not_covered": dict(sorted(not_covered.items(), key=_au_number)),
        "motion_only": dict(sorted(motion_only.items(), key=_au_number)),
        "samples": len(records),
        "templates": {t: templates.get(t, 0) for t in TEMPLATES},
        "per_class": per_class,
        "apex": dict(sorted(Counter(c["motion"]["apex_chosen"] for c in clips).items())),
        "eyes": dict(sorted(Counter(c["motion"]["eyes"]["from"] for c in clips).items())),
        "splits": {name: {"train": side(train), "test": side(test)} for name, (train, test) in splits.items()},
        "skipped": skipped,
    }


def _au_number(item) -> int:
    return int(item[0].removeprefix("AU"))


def markdown(stats: dict) -> str:
    """A short report: the confirmation table first (the figure to cite), then the counts."""
    lines = [f"# {stats['dataset']}: {stats['clips']} clips, {stats['subjects']} subjects, {stats['samples']} samples",
             "", "AU families annotated (certain codes only) and how the measured motion bears them out:", "",
             "| family | regions | annotated | confirmed | moved otherwise | below resolution | confirmed % |",
             "|---|---|---:|---:|---:|---:|---:|"]
    for name, f in stats["families"].items():
        pct = f"{100 * f['confirmed'] / f['annotated']:.0f}" if f["annotated"] else "-"
        lines.append(f"| {name} | {', '.join(f['regions'])} | {f['annotated']} | {f['confirmed']} | {f['moved']} | "
                     f"{f['unresolved']} | {pct} |")
    frac = stats["confirmed_fraction"]
    lines.append(f"| all | | {stats['annotated_families']} | {stats['confirmed_families']} | | | "
                 f"{'-' if frac is None else f'{100 * frac:.1f}'} |")
    if stats["not_covered"]:
        lines += ["", "Annotated AUs no region measures: "
                  + ", ".join(f"{k} {v}" for k, v in stats["not_covered"].items())]
    if stats["motion_only"]:
        lines += ["", "Motion consistent with an AU that is not annotated (stated as such, never as present): "
                  + ", ".join(f"{k} {v}" for k, v in stats["motion_only"].items())]
    lines += ["", "| template | samples |", "|---|---:|"]
    lines += [f"| {t} | {n} |" for t, n in stats["templates"].items()]
    lines += ["", "| class | clips | samples |", "|---|---:|---:|"]
    lines += [f"| {c} | {v['clips']} | {v['samples']} |" for c, v in stats["per_class"].items()]
    if stats["splits"]:
        lines += ["", "| split | train subjects | train samples | test subjects | test samples |",
                  "|---|---:|---:|---:|---:|"]
        lines += [f"| {name} | {s['train']['subjects']} | {s['train']['samples']} | {s['test']['subjects']} | "
                  f"{s['test']['samples']} |" for name, s in stats["splits"].items()]
    if stats["skipped"]:
        lines += ["", f"{len(stats['skipped'])} clip(s) skipped:"] + [f"- {s['reason']}" for s in stats["skipped"]]
    return "\n".join(lines) + "\n"


__all__ = ["compute_stats", "markdown", "STATUSES"]
