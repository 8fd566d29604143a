"""A spotting evaluation as one page: ``spot_report_html(evaluation, plots, out)``.

``evaluation`` is the JSON of ``mpt spot --eval``: per expression type (``micro``, ``macro``) and
``overall``, the interval counts and scores ``{"tp", "fp", "fn", "precision", "recall", "f1"}``, and the
same per subject under ``"subjects"``. ``plots`` maps a video's name to a PNG of its spotting score
over time with the ground-truth intervals. The page: the per-type table, a per-subject table and
figure (F1 per subject and type), and the per-video plots. Pieces from ``mpt_core/htmlpage.py``.
"""

from __future__ import annotations

import io
from pathlib import Path

from mpt_core.htmlpage import (figure, gallery, metric_cards, notice, page, paragraph, section, table,
                               write_page)

TYPES = (("micro", "micro-expressions"), ("macro", "macro-expressions"), ("overall", "overall"))
COUNTS = ("tp", "fp", "fn")


def _score(value) -> str:
    return "—" if value is None else f"{value:.4f}"


def _types(block: dict) -> list[tuple[str, str]]:
    return [(k, name) for k, name in TYPES if isinstance(block.get(k), dict)]


def per_type_table(evaluation: dict):
    rows = [(name, *(evaluation[k].get(c, "—") for c in COUNTS),
             *(_score(evaluation[k].get(s)) for s in ("precision", "recall", "f1")))
            for k, name in _types(evaluation)]
    return table(["type", "TP", "FP", "FN", "precision", "recall", "F1"], rows, numeric_columns=range(1, 7))


def per_subject_table(subjects: dict, types: list[tuple[str, str]]):
    header = ["subject"] + [f"{k} {what}" for k, _ in types for what in ("TP / FP / FN", "F1")]
    rows = []
    for subject, block in subjects.items():
        row = [subject]
        for k, _ in types:
            b = block.get(k) or {}
            row += [" / ".join(str(b.get(c, "—")) for c in COUNTS), _score(b.get("f1"))]
        rows.append(row)
    return table(header, rows, numeric_columns=range(1, len(header)))


def per_subject_plot(subjects: dict, types: list[tuple[str, str]]) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    names = list(subjects)
    x = np.arange(len(names))
    width = 0.8 / max(len(types), 1)
    fig, ax = plt.subplots(figsize=(max(6.0, 0.45 * len(names) + 2), 3.8))
    for i, (k, name) in enumerate(types):
        f1 = [(subjects[s].get(k) or {}).get("f1") for s in names]
        ax.bar(x + (i - (len(types) - 1) / 2) * width, [v if v is not None else 0 for v in f1], width, label=name)
    ax.set_xticks(x, names, rotation=45 if len(names) > 8 else 0, ha="right" if len(names) > 8 else "center",
                  fontsize=8)
    ax.set_ylim(0, 1)
    ax.set_ylabel("F1")
    ax.set_title("spotting F1 per subject", fontsize=10)
    ax.legend(fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    plt.close(fig)
    return buf.getvalue()


def spot_page(evaluation: dict, plots: dict[str, bytes], *, title: str = "Spotting evaluation") -> str:
    types = _types(evaluation)
    if not types:
        raise ValueError("the evaluation has none of micro, macro, overall: not the JSON of mpt spot --eval")
    head = evaluation.get("overall") or evaluation[types[0][0]]
    body = [section("Headline", metric_cards([(f"{name} F1", _score((evaluation[k] or {}).get("f1")),
                                                f"TP {evaluation[k].get('tp', '—')}, FP {evaluation[k].get('fp', '—')}, "
                                                f"FN {evaluation[k].get('fn', '—')}") for k, name in types]),
                    paragraph("MEGC interval matching: a spotted interval is a true positive when its "
                              "intersection over union with a ground-truth interval of its type is at least 0.5 "
                              "(one-to-one per video); TP, FP and FN are summed over the videos, then precision, "
                              "recall and F1 computed (a subject's row sums that subject's videos)."),
                    per_type_table(evaluation), anchor="types")]
    nav = [("types", "Per type")]
    subjects = evaluation.get("subjects") or {}
    if subjects:
        sub_types = [t for t in types if any(isinstance(b.get(t[0]), dict) for b in subjects.values())]
        body.append(section("Per subject", figure(per_subject_plot(subjects, sub_types),
                                                  "F1 per subject and expression type", width=900),
                            per_subject_table(subjects, sub_types), anchor="subjects"))
        nav.append(("subjects", "Per subject"))
    if plots:
        body.append(section(f"Per video ({len(plots)})", paragraph("Each video's spotting score over time, with "
                                                                   "the ground-truth intervals."),
                            gallery(figure(png, name) for name, png in sorted(plots.items())), anchor="videos"))
        nav.append(("videos", "Per video"))
    else:
        body.append(notice("No per-video plots were given."))
    subtitle = (f"{len(subjects)} subject(s), {len(plots)} video plot(s); overall F1 {_score(head.get('f1'))}")
    return page(title, *body, subtitle=subtitle, nav=nav, footer="written by mpt from the mpt spot --eval JSON")


def spot_report_html(evaluation: dict, plots: dict[str, bytes], out: Path) -> Path:
    """Write the page to ``out`` (a ``.html`` file, or a folder that gets ``report.html``); returns its path."""
    out = Path(out)
    path = out if out.suffix == ".html" else out / "report.html"
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_page(path, spot_page(evaluation, plots))
