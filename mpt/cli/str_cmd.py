"""`mpt str`: spot-then-recognize on a long-video corpus under leave-one-subject-out (MEGC STRS)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from mpt_core.names import LONG_VIDEO_DATASETS, SPOT_DATASETS

from .app import app, check_choice, check_device, fail


@app.command("str")
def str_cmd(
    dataset: Optional[str] = typer.Option(None, "--dataset", help="Long-video corpus: "
                                          + ", ".join(LONG_VIDEO_DATASETS) + "."),
    root: Optional[Path] = typer.Option(None, "--root", help="The corpus root (rawpic/ or SAMM_longvideos/ under it)."),
    run: Optional[Path] = typer.Option(None, "--run", help="A LOSO run trained on this corpus's micro-expression clips "
                                       "(`mpt preprocess DATASET`, then `mpt train --fold all`); with --unseen, a "
                                       "run trained on any corpora whose classes map to negative/positive/surprise."),
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
    submission: Optional[Path] = typer.Option(None, "--submission", help="Write the MEGC STR file (str_pred.csv: "
                                              "subject,video,onset,offset,emotion) into this folder; with --unseen "
                                              "also the spotting files (cas_pred.csv, samm_pred.csv)."),
    megc: bool = typer.Option(False, "--megc", help="Also score as the MEGC leaderboard does (the public STRS "
                              "evaluator's choices) and print both side by side."),
    unseen: Optional[Path] = typer.Option(None, "--unseen", help="Spot-then-recognize on an unlabelled folder of long "
                                          "videos (frame folders or video files) with --run; needs --submission."),
    videos: Optional[Path] = typer.Option(None, "--videos", help="With --unseen: a CSV video,fps[,subject][,dataset] "
                                          "(frame folders need their rate here; dataset cas|samm picks the spotting "
                                          "file)."),
    truth: Optional[Path] = typer.Option(None, "--truth", help="Ground truth in the STR layout (subject,video,onset,"
                                         "offset,emotion): scores --unseen or --score."),
    score: Optional[Path] = typer.Option(None, "--score", help="Score an STR file (str_pred.csv) against --truth, or "
                                         "against --dataset's --annotations (3 classes); prints mpt's STRS and the "
                                         "leaderboard's."),
) -> None:
    """Spot-then-recognize: spot long videos, classify what was spotted, score STRS (MEGC).

    Spot every long video of the corpus (p chosen leave-one-subject-out, as `mpt spot --dataset`),
    classify each spotted micro-expression with the fold model that held its subject out, and score
    as MEGC 2023: spotting F1 (micro, IoU >= 0.5) x analysis F1 (on the true positives) = STRS.

    Writes OUT/str.json (the scores and one record per annotated or spotted micro-expression) and
    prints a table per subject, per class, then the figures last.

    MEGC (docs/guide/megc.md): --submission writes the challenge's STR file, --megc adds the
    leaderboard's figures; --unseen FOLDER --run RUN --submission DIR spots and classifies an
    unlabelled folder of long videos; --score FILE scores an STR file, both ways.
    """
    if score is not None or unseen is not None:
        return _megc_modes(score, unseen, dataset, root, run, annotations, truth, videos, submission, as_json,
                           device, progress, out, step)
    for name, value in (("--dataset", dataset), ("--root", root), ("--run", run)):
        if value is None:
            fail(f"{name} is needed (or --unseen FOLDER --run RUN, or --score FILE)")
    for name, value in (("--videos", videos), ("--truth", truth)):
        if value is not None:
            fail(f"{name} applies to --unseen or --score only")
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
    check_device(device)

    from mpt.outputs import claimed_folder
    from mpt.str.run import run_str
    from mpt.str.show import show

    out = out if out is not None else run / f"str-{dataset}"
    with claimed_folder(out, "--out", kind="str", inputs=[annotations], roots=[root], files=["str.json"]):
        result = run_str(dataset, root, run, annotations, out=out, device=device,
                         progress=progress and not as_json, step=step, tracker=tracker)
    extra = {}
    if submission is not None:
        from mpt.megc.submit import str_submission

        extra["submission"] = str(str_submission(result, submission))
    if megc:
        from mpt.megc.score import score_str
        from mpt.megc.submit import str_predictions, str_truth
        from mpt_core.megc_metric import json_safe

        extra["megc"] = json_safe(score_str(str_predictions(result), str_truth(result), result["classes"]))
    if as_json:
        typer.echo(json.dumps({**{k: v for k, v in result.items() if k != "intervals"}, **extra}))
    else:
        show(result)
        if megc:
            from mpt.megc.show import show_str

            show_str(extra["megc"])
        if submission is not None:
            typer.echo(f"MEGC STR file: {extra['submission']}")


def _megc_modes(score, unseen, dataset, root, run, annotations, truth, videos, submission, as_json, device,
                progress, out, step) -> None:
    """`mpt str --score FILE` and `mpt str --unseen FOLDER`."""
    if score is not None and unseen is not None:
        fail("give --score FILE or --unseen FOLDER, not both")
    for name, value in (("--root", root), ("--out", out), ("--step", step)):
        if value is not None:
            fail(f"{name} does not apply to --score or --unseen")
    if truth is not None and not truth.is_file():
        fail(f"--truth {truth}: no such file")
    if score is not None:
        if run is not None or videos is not None or submission is not None:
            fail("--score reads a file: --run, --videos and --submission do not apply")
        if (truth is None) == (dataset is None):
            fail("--score needs --truth TABLE or --dataset NAME --annotations TABLE (one of them)")
        if dataset is not None:
            check_choice(dataset, SPOT_DATASETS, "--dataset")
            if annotations is None or not annotations.is_file():
                fail("--score --dataset needs --annotations TABLE (an existing file)")
        from mpt.megc.show import show_str
        from mpt.megc.submit import score_str_file

        result = score_str_file(score, truth=truth, dataset=dataset, annotations=annotations)
        typer.echo(json.dumps(result)) if as_json else show_str(result, f"STRS of {score}")
        return
    if run is None or submission is None:
        fail("--unseen needs --run RUN and --submission DIR")
    if dataset is not None or annotations is not None:
        fail("--unseen reads a folder: --dataset and --annotations do not apply (give --truth to score)")
    if videos is not None and not videos.is_file():
        fail(f"--videos {videos}: no such file")
    check_device(device)
    from mpt.megc.show import show_unseen
    from mpt.megc.unseen import run_unseen

    result = run_unseen(unseen, run, submission, videos_table=videos, truth=truth, device=device,
                        progress=progress and not as_json)
    typer.echo(json.dumps({k: v for k, v in result.items() if k != "videos"})) if as_json else show_unseen(result)
