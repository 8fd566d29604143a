"""Tables (rich) of mpt's figures beside the MEGC leaderboard's, and of an unseen-set run."""

from __future__ import annotations


def _f(x) -> str:
    return "NaN" if x is None else f"{x:.4f}"


def _reasons(out, result: dict) -> None:
    if result["reasons"]:
        out.print("Why they differ: " + "; ".join(result["reasons"]) + ".", highlight=False, soft_wrap=True)
    else:
        out.print("The two definitions agree on these rows.", highlight=False)


def show_spotting(result: dict, title: str = "spotting") -> None:
    """mpt's micro/macro/overall counts and F1 beside the leaderboard's."""
    from rich.console import Console
    from rich.table import Table

    out = Console()
    table = Table(title=f"{title}: mpt (one-to-one, every video) | MEGC leaderboard (file order, multiple counting, "
                        "scored subjects and videos)")
    for col in ("", "TP", "FP", "FN", "P", "R", "F1", "| TP", "FP", "FN", "P", "R", "F1"):
        table.add_column(col, justify="left" if not col else "right")
    for kind in ("micro", "macro", "overall"):
        a, b = result["mpt"][kind], result["megc"][kind]
        counts = [str(x[k]) for x in (a, b) for k in ("tp", "fp", "fn")]
        rates = [_f(x[k]) for x in (a, b) for k in ("precision", "recall", "f1")]
        table.add_row(kind, *counts[:3], *rates[:3], *counts[3:], *rates[3:])
    out.print(table)
    _reasons(out, result)


def show_str(result: dict, title: str = "STRS") -> None:
    """mpt's STRS and its parts beside the leaderboard's."""
    from rich.console import Console
    from rich.table import Table

    out = Console()
    mine, theirs = result["mpt"], result["megc"]
    table = Table(title=title, caption=f"MEGC: the leaderboard's definitions; its analysis classes: "
                                       f"{', '.join(theirs['analysis']['classes'])}")
    for col in ("", "mpt", "MEGC"):
        table.add_column(col, justify="left" if not col else "right")
    for label, key in (("spotting TP", "tp"), ("spotting FP", "fp"), ("spotting FN", "fn")):
        table.add_row(label, str(mine["spotting"][key]), str(theirs["spotting"][key]))
    table.add_row("spotting F1", _f(mine["spotting"]["f1"]), _f(theirs["spotting"]["f1"]))
    for label, key in (("analysis precision", "precision"), ("analysis recall", "recall"), ("analysis F1", "f1"),
                       ("UF1", "uf1"), ("UAR", "uar")):
        table.add_row(label, _f(mine["analysis"][key]), _f(theirs["analysis"][key]))
    table.add_row("STRS", _f(mine["strs"]), _f(theirs["strs"]))
    out.print(table)
    _reasons(out, result)


def show_unseen(result: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    out = Console()
    table = Table(title=f"{result['folder']}: spotted, then classified with {result['run']} ({result['model']})")
    for col in ("video", "subject", "fps", "file", "micro", "macro", "negative", "positive", "surprise",
                "not classified"):
        table.add_column(col, justify="left" if col in ("video", "subject", "file") else "right")
    for v in result["videos"]:
        micro = [i for i in v["intervals"] if i["type"] == "micro"]
        table.add_row(v["video"], v["subject"], f"{v['fps']:g}", v["dataset"], str(len(micro)),
                      str(len(v["intervals"]) - len(micro)),
                      *(str(sum(i["emotion"] == c for i in micro)) for c in ("negative", "positive", "surprise")),
                      str(sum(i["emotion"] == "" for i in micro)))
    out.print(table)
    out.print(f"faces: {result['faces']}; classes {', '.join(result['classes'])} -> "
              + ", ".join(f"{k}: {v}" for k, v in result["map"].items()), highlight=False, soft_wrap=True)
    if result.get("ignored"):
        out.print("not videos (left out): " + ", ".join(result["ignored"]), highlight=False, soft_wrap=True)
    if "scores" in result:
        show_str(result["scores"], f"STRS against {result['truth']}")
    out.print("written: " + ", ".join(result["files"]) + f", {result['out']}", highlight=False, soft_wrap=True)
