"""`mpt str`: spot-then-recognize on a long-video corpus under leave-one-subject-out (MEGC STRS)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from mpt_core.names import LONG_VIDEO_DATASETS

from .app import app, check_choice, fail


@app.command("str")
def str_cmd(
    dataset: str = typer.Option(..., "--dataset", help="Long-video corpus: " + ", ".join(LONG_VIDEO_DATASETS) + "."),
    root: Path = typer.Option(..., "--root", help="The corpus root (rawpic/ or SAMM_longvideos/ under it)."),
    run: Path = typer.Option(..., "--run", help="A LOSO run trained on this corpus's micro-expression clips "
                             "(`mpt preprocess DATASET`, then `mpt train --fold all`)."),
    annotations: Optional[Path] = typer.Option(None, "--annotations", help="The annotation table (default: found "
                                               "in the root)."),
    out: Optional[Path] = typer.Option(None, "--out", help="Folder for str.json (default: RUN/str-DATASET)."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object (str.json without the intervals)."),
    device: str = typer.Option("auto", "--device", help="auto, cpu, cuda or cuda:N."),
    step: Optional[int] = typer.Option(None, "--step", help="Spot every STEP-th frame (default: about 30 per "
                                       "second, as `mpt spot`)."),
    tracker: str = typer.Option("landmarks", "--tracker", help="Spotting's face tracker: landmarks or haar "
                                "(as `mpt spot --tracker`)."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show progress bars."),
) -> None:
    """Spot every long video of the corpus (p chosen leave-one-subject-out, as `mpt spot --dataset`),
    classify each spotted micro-expression with the fold model that held its subject out, and score
    as MEGC 2023: spotting F1 (micro, IoU >= 0.5) x analysis F1 (on the true positives) = STRS.

    Writes OUT/str.json (the scores and one record per annotated or spotted micro-expression) and
    prints a table per subject, per class, then the figures last.
    """
    check_choice(dataset, LONG_VIDEO_DATASETS, "--dataset")
    check_choice(tracker, ("landmarks", "haar"), "--tracker")
    if not root.is_dir():
        fail(f"--root {root}: not a folder")
    if annotations is not None and not annotations.is_file():
        fail(f"--annotations {annotations}: no such file")
    if not (run / "config.json").is_file():
        fail(f"--run {run}: not a run folder (no config.json)")
    if step is not None and step < 1:
        fail(f"--step {step}: must be >= 1")
    if not (device in ("auto", "cpu", "cuda") or (device.startswith("cuda:") and device[5:].isdigit())):
        fail(f"--device {device!r} is not one of auto, cpu, cuda, cuda:N")

    from mpt.outputs import claimed_folder
    from mpt.str.run import run_str
    from mpt.str.show import show

    out = out if out is not None else run / f"str-{dataset}"
    with claimed_folder(out, "--out", kind="str", inputs=[annotations], roots=[root], files=["str.json"]):
        result = run_str(dataset, root, run, annotations, out=out, device=device,
                         progress=progress and not as_json, step=step, tracker=tracker)
    if as_json:
        typer.echo(json.dumps({k: v for k, v in result.items() if k != "intervals"}))
    else:
        show(result)
