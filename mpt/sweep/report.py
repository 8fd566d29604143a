"""``OUT/report.html``: the sweep on one page.

Every spec table with the paper's reported figures beside ours (best per metric column in bold), each
row linking to its runs' own ``report.html`` (one link per seed); for each table whose rows are the
values of one numeric setting (alpha, K, r, ...), a line plot of the metrics against it, seeds as
error bars (sample sd) and dots, the paper's points marked, as the paper's Fig. 5 does for K.
Pieces from ``mpt_core/htmlpage.py``. A finished run without a page (trained by an older mpt) gets
one here, from its own files.
"""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

from mpt_core.htmlpage import (Html, cell, figure, link, notice, page, paragraph, section, table, tag,
                               write_page)

from .plan import DONE, Plan
from .columns import METRICS, REFERENCE


def _number(text: str) -> float | None:
    try:
        return float(text)
    except (TypeError, ValueError):
        return None


def numeric_axis(t: dict) -> list[tuple[float, dict]] | None:
    """(x, row) of a table whose row labels are all numbers (at least two), else None."""
    xs = [(_number(r["label"]), r) for r in t["rows"]]
    if len(xs) < 2 or any(x is None for x, _ in xs):
        return None
    return sorted(xs, key=lambda p: p[0])


def axis_plot(t: dict, points: list[tuple[float, dict]]) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4))
    colours = {"accuracy": "#2f5d9f", "uf1": "#c9582b", "uar": "#3c8c5a"}
    for key, name in METRICS:
        done = [(x, r[key]) for x, r in points if r[key] and not r["skipped"]]
        if not done:
            continue
        xs = [x for x, _ in done]
        means = [100 * s["mean"] for _, s in done]
        sds = [100 * s["sd"] if s["sd"] is not None else 0 for _, s in done]
        ax.errorbar(xs, means, yerr=sds, color=colours[key], marker="o", capsize=3, lw=1.6, label=f"{name} (ours)")
        for x, s in done:
            ax.scatter([x] * len(s["values"]), [100 * v for v in s["values"]], color=colours[key], s=9, alpha=0.45)
    for ref_key, name, colour in (("acc", "Acc", colours["accuracy"]), ("f1", "F1", colours["uf1"])):
        refs = [(x, (r["reference"] or {}).get(ref_key)) for x, r in points]
        refs = [(x, v) for x, v in refs if v is not None]
        if refs:
            ax.plot([x for x, _ in refs], [v for _, v in refs], ls="--", marker="D", mfc="none", color=colour,
                    lw=1, label=f"{name} (paper)")
    ax.set_xticks([x for x, _ in points], [r["label"] for _, r in points])
    ax.set_xlabel(t["header"])
    ax.set_ylabel("%")
    ax.set_title(t["name"], fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    plt.close(fig)
    return buf.getvalue()


def _stat_text(stats: dict | None) -> str:
    if stats is None:
        return ""
    if stats["sd"] is None:
        return f"{100 * stats['mean']:.2f}"
    return f"{100 * stats['mean']:.2f} ± {100 * stats['sd']:.2f}"


def run_page_href(plan: Plan, run_id: str) -> str | None:
    """The run's report.html relative to OUT (written here if a finished run lacks one), or None."""
    run = plan.runs.get(run_id)
    if run is None or run.state != DONE:
        return None
    page_path = run.folder / "report.html"
    if not page_path.is_file():
        from train.report_html import write_run_page
        from train.runs import RunFolder

        folder = RunFolder(run.folder)
        write_run_page(run.folder, folder.config(), folder.fold_records(),
                       json.loads((run.folder / "results.json").read_text()))
    return Path(os.path.relpath(page_path, plan.out)).as_posix()


def table_section(plan: Plan, t: dict, index: int) -> Html:
    ref_cols = [(k, name) for k, name in REFERENCE if any((r["reference"] or {}).get(k) is not None for r in t["rows"])]
    # the best as printed (two decimals in %): ties at that precision are all bold
    best = {k: max((round(100 * r[k]["mean"], 2) for r in t["rows"] if r[k] and not r["skipped"]), default=None)
            for k, _ in METRICS}
    best_ref = {k: max(((r["reference"] or {}).get(k) for r in t["rows"] if (r["reference"] or {}).get(k) is not None),
                       default=None) for k, _ in ref_cols if k != "params_m"}
    from .columns import describe_cell, describe_columns

    extra = describe_columns(t)
    header = [t["header"], *(name for _, name in extra), "trainable params", *(f"{name} (%)" for _, name in METRICS),
              "seeds", "run reports"]
    header += [f"paper {name}" for _, name in ref_cols]
    rows, notes = [], []
    for r in t["rows"]:
        label = r["label"]
        why = [x for x in (f"not run: {r['skipped']}" if r["skipped"] else None, r["note"]) if x]
        if why:
            notes.append(f"({len(notes) + 1}) {r['label']}: {'; '.join(why)}")
            label += f" ({len(notes)})"
        seeds = {rid: plan.runs[rid].seed for rid in r["runs"] if rid in plan.runs}
        links = []
        for rid, seed in seeds.items():
            href = run_page_href(plan, rid)
            links.append(link(href, f"seed {seed}") if href else tag("span", f"seed {seed} (not finished)", cls="ref"))
        cells = [label, *(describe_cell(r, k) for k, _ in extra)]
        if r["skipped"]:
            cells += ["—"] * (len(METRICS) + 1) + ["0", ""]
        else:
            params = r["trainable_parameters"]
            cells += [cell(f"{params:,}" if params is not None else "", numeric=True)]
            cells += [cell(_stat_text(r[k]), numeric=True,
                           cls="best" if r[k] and round(100 * r[k]["mean"], 2) == best[k] else None)
                      for k, _ in METRICS]
            cells += [f"{r['seeds']}/{r['seeds_planned']}", Html(" ".join(links))]
        for k, _ in ref_cols:
            value = (r["reference"] or {}).get(k)
            text = "—" if value is None else str(value) if k == "params_m" else f"{value:.2f}"
            cells.append(cell(text, numeric=True, cls="ref best" if value is not None and best_ref.get(k) == value else "ref"))
        rows.append(cells)
    parts = [table(header, rows, numeric_columns=(2, 3, 4, 5, 6) if extra else (1, 2, 3, 4))]
    if ref_cols and t["reference"]:
        parts.append(paragraph(f"paper columns: {t['reference']}", cls="subtitle"))
    if t["note"]:
        parts.append(paragraph(t["note"]))
    parts += [paragraph(n) for n in notes]
    if (points := numeric_axis(t)) and any(r[k] for _, r in points for k, _ in METRICS):
        parts.append(figure(axis_plot(t, points), f"{t['name']}: Acc / UF1 / UAR against {t['header']}; error bars: "
                            "sample sd over seeds, dots: single seeds; hollow diamonds: the paper's reported figures",
                            width=700))
    return section(t["name"], *parts, anchor=f"t{index}")


def sweep_page(plan: Plan, results: dict) -> str:
    total = len(plan.runs)
    done = sum(r.state == DONE for r in plan.runs.values())
    body = []
    if done < total:
        body.append(notice(f"{done} of {total} runs are finished; rows without finished runs have empty cells."))
    body.append(paragraph("Acc / UF1 / UAR in %: " + results["metrics"] + ". Each row's links open its runs' "
                          "own reports. Bold: the best value of each metric column (ours and the paper's apart)."))
    body += [table_section(plan, t, i) for i, t in enumerate(results["tables"])]
    files = [n for n in ("tables.md", "tables.tex", "results.json") if (plan.out / n).is_file()]
    body.append(paragraph("Files: ", *(Html(link(n, n) + " ") for n in files)))
    nav = [(f"t{i}", t["name"]) for i, t in enumerate(results["tables"])]
    return page(f"Sweep: {results['dataset']}", *body, nav=nav,
                subtitle=f"{plan.spec.source}; seeds {', '.join(map(str, results['seeds']))}; {done} of {total} runs done",
                footer="written by mpt sweep from the runs' results.json")


def write_sweep_page(plan: Plan, results: dict) -> Path:
    return write_page(plan.out / "report.html", sweep_page(plan, results))
