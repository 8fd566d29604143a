"""``mpt datasets summary``: read a dataset's annotations and frame folders, report what was found."""

from __future__ import annotations

import json
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from mpt_core.names import DATASETS, LONG_VIDEO_DATASETS

from .app import datasets_app

Dataset = Enum("Dataset", {name: name for name in DATASETS}, type=str)  # the one list of corpora


def split_classes(text: str | None) -> list[str] | None:
    """`--classes a,b,c` (or a preset name such as casme3-4) as a list, or None for the default."""
    return [c.strip() for c in text.split(",") if c.strip()] if text is not None else None


@datasets_app.command("summary")
def summary(
    name: Annotated[Dataset, typer.Argument(help="Dataset: " + ", ".join(DATASETS) + ".", show_default=False)],
    root: Annotated[
        Path,
        typer.Option(
            "--root", exists=True, file_okay=False, dir_okay=True,
            help="Dataset root: the folder holding Cropped/ or CASME2_RAW_selected/ (casme2), SAMM/ (samm), "
            "HS/ or SMIC_all_cropped/ (smic), casme2/, samm/ and smic/ (megc2019), rawpic/ (cas2) or "
            "SAMM_longvideos/ (samm-lv).",
        ),
    ],
    annotations: Annotated[
        Optional[Path],
        typer.Option(
            "--annotations",
            help="Annotation file: CASME II coding .xlsx, SAMM_Micro_FACS_Codes_v2.xlsx, HS_cropped.csv (smic, "
            "optional), combined_3class_gt.csv (megc2019), CASME_sq_gt.xlsx (cas2) or SAMMLV_gt.xlsx (samm-lv, "
            "with SAMM_Micro_FACS_Codes_v2.xlsx beside it for emotions). Default: looked up in the root (smic: "
            "folders only).",
        ),
    ] = None,
    classes: Annotated[
        Optional[str],
        typer.Option("--classes", help="Comma-separated class selection, in label-index order "
                     "(default: the dataset's standard classes)."),
    ] = None,
    strict: Annotated[
        bool, typer.Option("--strict", help="Fail on the first problem instead of skipping the clip.")
    ] = False,
    max_seconds: Annotated[
        Optional[float], typer.Option("--max-seconds", help="casme3: onset-to-offset spans longer than this are "
                                      "problems (default 10 s).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object and nothing else on stdout.")] = False,
) -> None:
    """Count clips, subjects and classes of a dataset, and list skipped clips with the reason.

    Long-video corpora (cas2, samm-lv): intervals per type, videos and subjects, then every table row
    skipped or changed (by a documented convention), by row.
    """
    from preprocess.readers import read_dataset, read_long_videos

    if name.value in LONG_VIDEO_DATASETS:
        videos = read_long_videos(name.value, root, annotations, strict=strict)
        if as_json:
            for w in videos.warnings:
                typer.echo(f"warning: {w}", err=True)
            typer.echo(json.dumps(videos.summary()))
        else:
            _print_long_table(videos.summary(), videos.warnings)
        return

    index = read_dataset(name.value, root, annotations, strict=strict, classes=split_classes(classes),
                         max_seconds=max_seconds)
    if as_json:
        for w in index.warnings:
            typer.echo(f"warning: {w}", err=True)
        typer.echo(json.dumps(index.summary()))
        return
    _print_table(index.summary(), index.warnings)


def _print_table(report: dict, warnings: list[str]) -> None:
    from rich.console import Console
    from rich.table import Table

    out = Console()
    out.print(f"[bold]{report['dataset']}[/]: {report['clips']} clips, {report['subjects']} subjects")
    table = Table()
    table.add_column("class")
    table.add_column("clips", justify="right")
    for i, (cls, n) in enumerate(report["classes"].items()):
        table.add_row(f"{i} {cls}", str(n))
    out.print(table)
    if report["skipped"]:
        out.print(f"[bold red]{len(report['skipped'])} clip(s) skipped:[/]")
        for s in report["skipped"]:
            out.print(f"  {s['reason']}", markup=False, highlight=False, soft_wrap=True)
    else:
        out.print("no clips skipped")
    for w in warnings:
        out.print(f"[yellow]warning:[/] {w}", highlight=False, soft_wrap=True)


def _print_long_table(report: dict, warnings: list[str]) -> None:
    from rich.console import Console
    from rich.table import Table

    out = Console()
    out.print(f"[bold]{report['dataset']}[/]: {report['intervals']} intervals, {report['videos']} videos, "
              f"{report['subjects']} subjects")
    table = Table()
    for col in ("type", "intervals", "videos", "subjects"):
        table.add_column(col, justify="left" if col == "type" else "right")
    for kind, n in report["types"].items():
        table.add_row(kind, str(n["intervals"]), str(n["videos"]), str(n["subjects"]))
    out.print(table)
    for what, rows in (("row(s) skipped", report["skipped"]), ("change(s) by a documented convention, each naming "
                                                                "its row(s)", report["changed"])):
        if rows:
            out.print(f"[bold {'red' if 'skipped' in what else 'yellow'}]{len(rows)} {what}:[/]")
            for s in rows:
                out.print(f"  {s['reason']}", markup=False, highlight=False, soft_wrap=True)
        else:
            out.print(f"no {what.split(' by ')[0].replace('(s)', 's')}")
    for w in warnings:
        out.print(f"[yellow]warning:[/] {w}", highlight=False, soft_wrap=True)
