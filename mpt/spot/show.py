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


def _ranges(numbers: list[int]) -> str:
    parts, start = [], None
    for i, n in enumerate(numbers):
        start = n if start is None else start
        if i + 1 == len(numbers) or numbers[i + 1] != n + 1:
            parts.append(str(start) if start == n else f"{start}-{n}")
            start = None
    return ", ".join(parts)


def _video_table(res: dict):
    from rich.table import Table

    fps, first = res["fps"], res["first"]
    name = f"{res['subject']}/{res['video']}" if res.get("video") and res.get("subject") else res["input"]
    table = Table(title=f"{name}: {len(res['intervals'])} interval(s), p = {res['p']:g}, k = {res['k']} frames, "
                        f"every {res['step']} frame(s) at {fps:g} fps")
    for col in ("onset", "apex", "offset", "onset s", "offset s", "type", "score"):
        table.add_column(col, justify="left" if col == "type" else "right")
    for i in res["intervals"]:
        table.add_row(str(i["onset"]), str(i["apex"]), str(i["offset"]), f"{(i['onset'] - first) / fps:.2f}",
                      f"{(i['offset'] - first) / fps:.2f}", i["type"], f"{i['score']:.1f}")
    return table


def show(result: dict) -> None:
    """Tables of ``mpt spot``'s result: per input (or per corpus video) the intervals, the lost
    frames and the blinks; for a corpus the folds' p, and the evaluation last when asked."""
    from rich.console import Console

    out = Console()
    videos = result.get("videos") or result.get("inputs") or [result]
    for res in videos:
        out.print(_video_table(res))
        if res["lost"]:
            out.print(f"  face lost in {len(res['lost'])} frame(s): {_ranges(res['lost'])} (no interval there)",
                      highlight=False, soft_wrap=True)
        neutral = res.get("neutral") or []
        if len(neutral) == 1:
            out.print(f"  neutral face: frames {neutral[0][0]}-{neutral[0][1]} (the calmest stretch)", highlight=False)
        elif neutral:
            out.print(f"  neutral face: from {len(neutral)} calm stretches (one per 8 s window)", highlight=False)
        for note in res.get("notes", ()):
            out.print(f"  {note}", highlight=False, soft_wrap=True)
        if res["blinks"]:
            out.print(f"  blinks (not intervals) at frames {', '.join(map(str, res['blinks']))}", highlight=False,
                      soft_wrap=True)
    if "folds" in result:
        folds = ", ".join(f"{s} {f['p']:g}" for s, f in result["folds"].items())
        out.print(f"p per held-out subject (chosen on the other subjects): {folds}", highlight=False, soft_wrap=True)
    if "evaluation" in result:
        show_evaluation(result["evaluation"])
