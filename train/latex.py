"""LaTeX tables for papers: booktabs, mean +- sd over seeds, the best value per metric column in bold.

``booktabs_table`` is the one writer (``mpt report --latex`` and the sweep's ``tables.tex``); the
output is a ``table`` float that compiles as a fragment with ``\\usepackage{booktabs}`` and nothing
else. Figures are percentages with two decimals, as MER papers print them. ``runs_table`` groups run
folders that differ only in their seed into one row.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from pathlib import Path

_SPECIAL = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
            "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}"}
METRICS = (("accuracy", "Acc"), ("uf1", "UF1"), ("uar", "UAR"))
SPEED_KEYS = {"device", "memory_budget_gb", "chunk_clips", "prefetch", "fold_batch", "eval_batch_size"}


def escape(text) -> str:
    return "".join(_SPECIAL.get(c, c) for c in str(text))


@dataclass(frozen=True)
class Stat:
    """A figure in percent: a mean, and the sample sd over seeds when there are several."""

    mean: float
    sd: float | None = None

    @classmethod
    def of(cls, values) -> "Stat | None":
        values = [100 * v for v in values if v is not None]
        if not values:
            return None
        return cls(statistics.fmean(values), statistics.stdev(values) if len(values) > 1 else None)

    def tex(self, bold: bool) -> str:
        if self.sd is None:
            return rf"\textbf{{{self.mean:.2f}}}" if bold else f"{self.mean:.2f}"
        body = rf"{self.mean:.2f} \pm {self.sd:.2f}"
        return rf"$\mathbf{{{body}}}$" if bold else f"${body}$"


def _best(rows, column: int) -> float | None:
    values = [round(r[column].mean, 2) for r in rows if isinstance(r[column], Stat)]  # as printed
    return max(values) if values else None


def booktabs_table(header, rows, *, caption: str, label: str | None = None, groups=None, best_columns=(),
                   notes=(), align: str | None = None) -> str:
    """A ``table`` float. ``rows`` hold text (escaped), ``Stat`` or None (a dash); in each of
    ``best_columns`` the highest mean is bold (ties: all). ``groups``: (title, first column, last
    column) spans above the header, underlined with ``\\cmidrule``. ``notes`` go under the tabular."""
    width = len(header)
    if any(len(r) != width for r in rows):
        raise ValueError("every row needs one value per column")
    best = {c: _best(rows, c) for c in best_columns}
    align = align or "l" + "r" * (width - 1)
    lines = [r"% needs \usepackage{booktabs}", r"\begin{table}[t]", r"  \centering", rf"  \caption{{{caption}}}"]
    if label:
        lines.append(rf"  \label{{{label}}}")
    lines += [rf"  \begin{{tabular}}{{{align}}}", r"    \toprule"]
    if groups:
        cells, rules, col = [], [], 0
        for title, first, last in groups:
            cells += [""] * (first - col)
            cells.append(rf"\multicolumn{{{last - first + 1}}}{{c}}{{{escape(title)}}}")
            rules.append(rf"\cmidrule(lr){{{first + 1}-{last + 1}}}")
            col = last + 1
        cells += [""] * (width - col)
        lines += ["    " + " & ".join(cells) + r" \\", "    " + " ".join(rules)]
    lines += ["    " + " & ".join(escape(h) for h in header) + r" \\", r"    \midrule"]
    for row in rows:
        cells = []
        for c, value in enumerate(row):
            if isinstance(value, Stat):
                cells.append(value.tex(bold=c in best and best[c] is not None and round(value.mean, 2) == best[c]))
            elif value is None:
                cells.append("--")
            else:
                cells.append(escape(value))
        lines.append("    " + " & ".join(cells) + r" \\")
    lines += [r"    \bottomrule", r"  \end{tabular}"]
    if notes:
        lines.append(r"  \par\smallskip\footnotesize " + r" \\ ".join(escape(n) for n in notes))
    lines.append(r"\end{table}")
    return "\n".join(lines) + "\n"


def clips_phrase(counts) -> str:
    counts = sorted(set(counts))
    return f"{counts[0]} clips" if len(counts) == 1 else f"{', '.join(map(str, counts))} clips"


# mpt report --latex

def _identity(config: dict) -> tuple:
    """Everything that changes a run's numbers except its seed."""
    train = {k: v for k, v in config["train"].items() if k not in SPEED_KEYS and k != "seed"}
    return (config.get("cache_key"), tuple(sorted(config["model"].items(), key=str)),
            tuple(sorted(train.items(), key=str)), config.get("weights_sha256"))


def _labels(configs: list[dict]) -> list[str]:
    """The variant, plus every setting that differs between the groups."""
    flat = [{"dataset": c["dataset"], **c["model"],
             **{k: v for k, v in c["train"].items() if k not in SPEED_KEYS and k != "seed"},
             **(c.get("cache_settings") or {}),
             "weights": Path(c["weights"]).name if c.get("weights") else None} for c in configs]
    keys = [k for k in flat[0] if k != "variant" and len({repr(f.get(k)) for f in flat}) > 1]
    return [", ".join([str(f["variant"])] + [f"{k} {f.get(k)}" for k in keys]) for f in flat]


def runs_table(runs: list[tuple[dict, dict, list[dict]]]) -> str:
    """One booktabs row per configuration: ``runs`` are (config.json, results.json, fold records)."""
    groups: dict = {}
    for config, res, folds in runs:
        groups.setdefault(_identity(config), []).append((config, res, folds))
    members = list(groups.values())
    labels = _labels([m[0][0] for m in members])
    rows = []
    for label, group in zip(labels, members):
        params = next((f["parameters"]["trainable"] for _, _, folds in group for f in folds if f.get("parameters")), None)
        rows.append([label, None if params is None else f"{params / 1e6:.3g}",
                     *(Stat.of([r[k] for _, r, _ in group]) for k, _ in METRICS), str(len(group))])
    seeds = sorted({len(g) for g in members})
    datasets = sorted({c["dataset"] for c, _, _ in runs})
    caption = (f"{escape(', '.join(datasets))}: LOSO, last epoch, pooled over "
               f"{clips_phrase(r['clips'] for _, r, _ in runs)}. "
               + (r"Mean $\pm$ sample standard deviation over seeds (runs that differ only in the seed). "
                  if seeds != [1] else "")
               + "Best per metric column in bold.")
    header = ["Method", "#params (M)", *(f"{name} (%)" for _, name in METRICS), "seeds"]
    return booktabs_table(header, rows, caption=caption, label="tab:mpt-runs", best_columns=(2, 3, 4),
                          align="lrrrrr")
