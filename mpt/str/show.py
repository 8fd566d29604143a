"""Tables of ``mpt str`` (rich): per subject, per class, then the figures (printed last)."""

from __future__ import annotations


def _subject_rows(result: dict) -> list[tuple]:
    rows = []
    for subject, fold in result["folds"].items():
        mine = [r for r in result["intervals"] if r["subject"] == subject]
        tp = [r for r in mine if r["truth"] is not None and r["prediction"] is not None]
        rows.append((subject, f"{fold['p']:g}", fold["model"], str(sum(r["truth"] is not None for r in mine)),
                     str(sum(r["prediction"] is not None for r in mine)), str(len(tp)),
                     str(sum(r["truth"] == r["prediction"] for r in tp if r["truth"] in result["classes"]))))
    return rows


def show(result: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    out = Console()
    if "intervals" in result:
        table = Table(title=f"{result['dataset']}: micro-expressions per subject")
        for col in ("subject", "p", "model", "annotated", "spotted", "TP", "right class"):
            table.add_column(col, justify="left" if col in ("subject", "model") else "right")
        for row in _subject_rows(result):
            table.add_row(*row)
        out.print(table)
    analysis = result["analysis"]
    if analysis["per_class"]:
        table = Table(title=f"analysis: {analysis['analysed']} TPs, {analysis['excluded']} outside the classes")
        for col in ("class", "support", "precision", "recall", "F1"):
            table.add_column(col, justify="left" if col == "class" else "right")
        for c, v in analysis["per_class"].items():
            table.add_row(c, str(v["support"]), f"{v['precision']:.3f}", f"{v['recall']:.3f}", f"{v['f1']:.3f}")
        out.print(table)
    out.print(f"faces: {result['faces']}; run {result['run']}; written to {result['out']}", highlight=False,
              soft_wrap=True)
    s = result["spotting"]
    table = Table(title="STRS = spotting F1 (micro) x analysis F1 (on the TPs)")
    for col in ("", "TP", "FP", "FN", "precision", "recall", "F1", "UF1", "UAR"):
        table.add_column(col, justify="right" if col else "left")
    table.add_row("spotting", str(s["tp"]), str(s["fp"]), str(s["fn"]), f"{s['precision']:.3f}",
                  f"{s['recall']:.3f}", f"{s['f1']:.3f}", "", "")
    table.add_row("analysis", "", "", "", f"{analysis['precision']:.3f}", f"{analysis['recall']:.3f}",
                  f"{analysis['f1']:.3f}", f"{analysis['uf1']:.3f}", f"{analysis['uar']:.3f}")
    table.add_row("STRS", "", "", "", "", "", f"{result['strs']:.3f}", "", "")
    out.print(table)
