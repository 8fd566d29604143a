"""The sweep's results: ``OUT/results.json`` and ``OUT/tables.md``, one table per ``[[table]]``; with
``OUT/tables.tex`` (``latex.py``) and ``OUT/report.html`` (``report.py``) beside them.

A row's figures come from its finished runs, one per seed: the trainable parameter count (from the
fold records, identical in every fold) and the pooled LOSO accuracy, UF1 and UAR of each run
(its ``results.json``), given as mean ± sample standard deviation over the seeds. results.json holds
only settings, run ids and metrics (no times, no absolute paths), so two sweeps of one spec compare
equal however they were run or interrupted. Rows without finished runs have empty cells; skipped
rows have "—" and their reason. Reference figures (the paper's, for the preset) stand beside the rows
under their own caption.
"""

from __future__ import annotations

import json
import statistics
from pathlib import Path

from mpt_core.fileio import atomic_write

from .columns import AU_METRICS, METRICS, REFERENCE, describe_cell, describe_columns, what_it_is
from .plan import DONE, Plan



def _jsonable(value):
    return str(value) if isinstance(value, Path) else list(value) if isinstance(value, tuple) else value


def _run_figures(folder: Path) -> tuple[dict, int | None, int]:
    res = json.loads((folder / "results.json").read_text())
    records = sorted((folder / "folds").glob("*.json"))
    params = json.loads(records[0].read_text()).get("parameters", {}).get("trainable") if records else None
    return {k: res.get(k) for k, _ in METRICS + AU_METRICS}, params, res.get("clips")  # an AU run has mean_f1 only


def _stats(values: list) -> dict | None:
    values = [v for v in values if v is not None]
    if not values:
        return None
    return {"mean": statistics.fmean(values), "sd": statistics.stdev(values) if len(values) > 1 else None,
            "values": values}


def collect(plan: Plan) -> dict:
    """The results.json object, from the finished runs of ``plan``."""
    figures = {rid: _run_figures(r.folder) for rid, r in plan.runs.items() if r.state == DONE}
    tables = []
    for table, ids_per_row in zip(plan.spec.tables, plan.rows):
        rows = []
        for row, ids in zip(table.rows, ids_per_row):
            done = [i for i in ids if i in figures]
            params = [figures[i][1] for i in done if figures[i][1] is not None]
            rows.append({
                "label": row.label,
                "settings": {k: _jsonable(v) for k, v in row.values.items()},
                "runs": list(ids), "seeds": len(done), "seeds_planned": len(ids),
                "trainable_parameters": params[0] if params else None,
                "clips": figures[done[0]][2] if done else None,
                **{k: _stats([figures[i][0][k] for i in done]) for k, _ in METRICS},
                **{k: s for k, _ in AU_METRICS if (s := _stats([figures[i][0][k] for i in done]))},
                "skipped": row.skip, "note": row.note, "reference": row.reference,
                **(what_it_is(row.config) if table.compare and row.config is not None else {}),
            })  # fmt: skip
        tables.append({"name": table.name, "header": table.header, "reference": table.reference,
                       "note": table.note, "rows": rows, **({"compare": True} if table.compare else {})})
    return {"dataset": plan.spec.dataset, "seeds": list(plan.spec.seeds), "tables": tables,
            "metrics": "pooled over the LOSO folds of each run (last epoch); mean and sample standard deviation "
                       "over seeds"}


def _cell(stats: dict | None) -> str:
    if stats is None:
        return ""
    if stats["sd"] is None:
        return f"{100 * stats['mean']:.2f}"
    return f"{100 * stats['mean']:.2f} ± {100 * stats['sd']:.2f}"


def _ref(value, key: str) -> str:
    if value is None:
        return "—"
    return str(value) if key == "params_m" else f"{value:.2f}"  # #params as the paper prints them


def render(results: dict) -> str:
    """tables.md: one markdown table per spec table."""
    out = [f"# Sweep results ({results['dataset']}, seeds {', '.join(map(str, results['seeds']))})", "",
           "Acc / UF1 / UAR in %: " + results["metrics"] + ".", ""]
    for t in results["tables"]:
        ref_cols = [(k, name) for k, name in REFERENCE
                    if any((r["reference"] or {}).get(k) is not None for r in t["rows"])]
        metrics = METRICS + tuple(m for m in AU_METRICS if any(m[0] in r for r in t["rows"]))
        extra = describe_columns(t)
        head = [t["header"], *(name for _, name in extra), "trainable params", *(f"{name} (%)" for _, name in metrics),
                "seeds"]
        head += [f"ref. {name}" for _, name in ref_cols]
        out += [f"## {t['name']}", "", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        notes = []
        for r in t["rows"]:
            label = r["label"]
            why = [x for x in (f"not run: {r['skipped']}" if r["skipped"] else None, r["note"]) if x]
            if why:
                name = r["label"] if t["header"] == "row" else f"{t['header']} = {r['label']}"
                notes.append(f"({len(notes) + 1}) {name}: {'; '.join(why)}")
                label += f" ({len(notes)})"
            described = [describe_cell(r, k) for k, _ in extra]
            if r["skipped"]:
                cells = described + ["—"] * (len(metrics) + 1) + ["0"]
            else:
                params = r["trainable_parameters"]
                cells = described + [f"{params:,}" if params is not None else "", *(_cell(r.get(k)) for k, _ in metrics),
                         f"{r['seeds']}/{r['seeds_planned']}"]
            refs = [_ref((r["reference"] or {}).get(k), k) for k, _ in ref_cols]
            out.append("| " + " | ".join([label, *cells, *refs]) + " |")
        out.append("")
        if ref_cols and t["reference"]:
            out += [f"ref.: {t['reference']}", ""]
        if t["note"]:
            out += [t["note"], ""]
        out += [n + "  " for n in notes] + ([""] if notes else [])
    return "\n".join(out).rstrip() + "\n"


def write_tables(plan: Plan) -> dict:
    """Write OUT/results.json, OUT/tables.md, OUT/tables.tex and OUT/report.html (each atomically);
    returns the results object."""
    from .latex import render_latex
    from .report import write_sweep_page

    results = collect(plan)
    atomic_write(plan.out / "results.json", lambda p: p.write_text(json.dumps(results, indent=1) + "\n"))
    atomic_write(plan.out / "tables.md", lambda p: p.write_text(render(results)))
    atomic_write(plan.out / "tables.tex", lambda p: p.write_text(render_latex(results)))
    write_sweep_page(plan, results)
    return results
