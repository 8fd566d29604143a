"""``OUT/tables.tex``: the sweep's tables as booktabs floats for a paper (``train/latex.py`` writes them).

One ``table`` per spec table: the row label, the trainable parameters, Acc / UF1 / UAR as mean +- sd
over the seeds, and, when the spec gives them, the paper's reported figures in their own columns
under their own heading. The best value of each metric column is bold (ours and the paper's
separately, each column on its own). Skipped rows keep their place with dashes and a numbered note.
"""

from __future__ import annotations

import re

from train.latex import Stat, booktabs_table, clips_phrase, escape

from .columns import METRICS, REFERENCE


def _params(count) -> str | None:
    return None if count is None else f"{count / 1e6:.3g}"


def table_tex(t: dict, results: dict) -> str:
    ref_cols = [(k, name) for k, name in REFERENCE if any((r["reference"] or {}).get(k) is not None for r in t["rows"])]
    from .columns import describe_cell, describe_columns

    extra = describe_columns(t)
    header = [t["header"], *(name for _, name in extra), "#params (M)", *(f"{name} (%)" for _, name in METRICS)]
    header += [name for _, name in ref_cols]
    rows, notes = [], []
    for r in t["rows"]:
        label = r["label"]
        why = [x for x in (f"not run: {r['skipped']}" if r["skipped"] else None, r["note"]) if x]
        if why:
            notes.append(f"({len(notes) + 1}) {r['label']}: {'; '.join(why)}")
            label += f" ({len(notes)})"
        ours = [None] * (1 + len(METRICS)) if r["skipped"] else [
            _params(r["trainable_parameters"]), *(Stat.of((r[k] or {}).get("values", [])) for k, _ in METRICS)]
        refs = []
        for k, _ in ref_cols:
            value = (r["reference"] or {}).get(k)
            refs.append(None if value is None else str(value) if k == "params_m" else Stat(float(value)))
        rows.append([label, *(escape(describe_cell(r, k)).replace("—", "--") for k, _ in extra), *ours, *refs])
    clips = [r["clips"] for r in t["rows"] if r.get("clips")]
    seeds = len(results["seeds"])
    caption = (f"{escape(t['name'])}: {escape(results['dataset'])}, LOSO, last epoch, pooled over "
               f"{clips_phrase(clips) if clips else 'the clips of each run'}"
               + (rf"; mean $\pm$ sample standard deviation over {seeds} seeds" if seeds > 1 else "")
               + "; best per metric column in bold.")
    if ref_cols and t["reference"]:
        caption += f" Paper columns: {escape(t['reference'])}."
    n_ours = 1 + len(METRICS) + len(extra)
    metric_cols = list(range(2 + len(extra), 2 + len(extra) + len(METRICS)))
    metric_cols += [1 + n_ours + i for i, (k, _) in enumerate(ref_cols) if k != "params_m"]
    groups = [("ours", 1, n_ours), ("paper (reported)", n_ours + 1, n_ours + len(ref_cols))] if ref_cols else None
    slug = re.sub(r"[^a-z0-9]+", "-", t["name"].lower()).strip("-") or "table"
    if t["note"]:
        notes.append(t["note"])
    return booktabs_table(header, rows, caption=caption, label=f"tab:sweep-{slug}", groups=groups,
                          best_columns=metric_cols, notes=notes)


def render_latex(results: dict) -> str:
    """tables.tex: every spec table, each a float that compiles with \\usepackage{booktabs}."""
    head = (f"% mpt sweep: {results['dataset']}, seeds {', '.join(map(str, results['seeds']))}; "
            "paste into a document with \\usepackage{booktabs}\n")
    return head + "\n".join(table_tex(t, results) for t in results["tables"])
