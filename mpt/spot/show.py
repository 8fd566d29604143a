"""Tables for ``mpt spot`` and ``mpt spot evaluate`` (rich), from the JSON objects they print with --json."""

from __future__ import annotations

ROWS = ("micro", "macro", "overall")


def _counts_table(title: str, rows: list[tuple[str, dict]]):
    from rich.table import Table

    table = Table(title=title)
    table.add_column("")
    for col in ("TP", "FP", "FN", "precision", "recall", "F1"):
        table.add_column(col, justify="right")
    for name, c in rows:
        table.add_row(name, str(c["tp"]), str(c["fp"]), str(c["fn"]), f"{c['precision']:.3f}", f"{c['recall']:.3f}",
                      f"{c['f1']:.3f}")
    return table


def show_evaluation(result: dict) -> None:
    """Per-subject overall counts, then micro, macro and overall (printed last)."""
    from rich.console import Console

    out = Console()
    subjects = result.get("subjects", {})
    if subjects:
        out.print(_counts_table("per subject (overall)", [(s, c["overall"]) for s, c in subjects.items()]))
    out.print(_counts_table("MEGC spotting (IoU >= 0.5, counts summed over videos)", [(k, result[k]) for k in ROWS]))
