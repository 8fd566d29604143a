"""`mpt spot`: find micro- and macro-expression intervals in long videos, and `mpt spot evaluate`:
score a predictions CSV with the MEGC metric. ``mpt spot INPUT...`` is short for ``mpt spot run INPUT...``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import List, Optional

import typer
from typer.core import TyperGroup

from mpt_core.names import SPOT_DATASETS

from .app import app, check_choice, fail

PLOT_SUFFIXES = (".png", ".pdf", ".svg")  # what matplotlib writes by the name's suffix


class SpotGroup(TyperGroup):
    """``mpt spot ARGS`` runs ``mpt spot run ARGS`` unless ARGS start with a subcommand or --help."""

    def parse_args(self, ctx, args):
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h"):
            args = ["run", *args]
        return super().parse_args(ctx, args)


spot_app = typer.Typer(cls=SpotGroup, no_args_is_help=True, help=(
    "Spot micro- and macro-expressions in long videos (`mpt spot INPUT...` = `mpt spot run INPUT...`), "
    "and score spotted intervals with the MEGC metric (`mpt spot evaluate`)."))
app.add_typer(spot_app, name="spot")


@spot_app.command("run")
def run(
    inputs: Optional[List[Path]] = typer.Argument(None, help="Video files or folders of frame images.",
                                                  show_default=False),
    fps: Optional[float] = typer.Option(None, "--fps", help="Frame rate of frame folders (videos carry their own; "
                                        "default for folders: 30)."),
    dataset: Optional[str] = typer.Option(None, "--dataset", help="Spot a whole corpus instead: "
                                          + ", ".join(SPOT_DATASETS) + "."),
    root: Optional[Path] = typer.Option(None, "--root", help="With --dataset: the corpus root (rawpic/ or "
                                        "SAMM_longvideos/ under it)."),
    annotations: Optional[Path] = typer.Option(None, "--annotations", help="With --dataset: the annotation table "
                                               "(default: found in the root)."),
    evaluate: bool = typer.Option(False, "--eval", help="With --dataset: score the intervals with the MEGC metric "
                                  "(p is chosen by leave-one-subject-out either way)."),
    p: Optional[float] = typer.Option(None, "--p", help="Threshold fraction p of T = mean + p x (max - mean). "
                                      "Default: the documented default for inputs; chosen leave-one-subject-out "
                                      "with --dataset (giving --p there fixes it for every subject)."),
    step: Optional[int] = typer.Option(None, "--step", help="Process every STEP-th frame (default: as many as keep "
                                       "about 30 frames per second: 1 at 30 fps, 7 at 200 fps; at most 3 frames "
                                       "in 0.2 s, the shortest expression: 2 at 30 fps, 13 at 200 fps)."),
    tracker: str = typer.Option("landmarks", "--tracker", help="landmarks: the 68-point tracker's stabilising "
                                "transforms (`mpt track`); haar: one Haar face transform, checked every 0.5 s (faster, "
                                "coarser)."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object and nothing else on stdout."),
    csv_out: Optional[Path] = typer.Option(None, "--csv", help="Write the intervals in the MEGC submission layout "
                                           "(subject, video, onset, offset, type)."),
    plot: Optional[Path] = typer.Option(None, "--plot", help="Write a PNG of the score over time with the "
                                        "threshold, the spotted intervals and, when known, the ground truth "
                                        "(--dataset: one panel per video, at most 12)."),
    report: Optional[Path] = typer.Option(None, "--report", help="With --dataset --eval: write the evaluation as "
                                          "one HTML page (per-type and per-subject tables, each video's score plot "
                                          "with the ground truth)."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show a progress bar."),
    submission: Optional[Path] = typer.Option(None, "--submission", help="Write the MEGC spotting files into this "
                                              "folder: cas_pred.csv / samm_pred.csv, vid,pred_onset,pred_offset,type "
                                              "(me/mae); read back by `mpt spot evaluate`."),
) -> None:
    """Spot micro- and macro-expressions in long videos or frame folders.

    Spot expressions: track and stabilise the face, measure where each facial region is relative to
    the head (optical flow), score its deviation from the neutral face, pick peaks above the video's
    threshold (two passes; blinks set aside), and turn them into intervals typed by length.

    Prints a table per input (onset, apex, offset as frame numbers and seconds, type, score) and
    the frames whose face was lost; --json prints one object instead.
    """
    if dataset is not None:
        check_choice(dataset, SPOT_DATASETS, "--dataset")
        if inputs:
            fail("give either INPUT... or --dataset, not both")
        if root is None:
            fail("--dataset needs --root")
        if not root.is_dir():
            fail(f"--root {root}: not a folder")
    else:
        if not inputs:
            fail("give INPUT... (videos or frame folders) or --dataset NAME --root DIR")
        for name, value in (("--root", root), ("--annotations", annotations)):
            if value is not None:
                fail(f"{name} applies to --dataset only")
        if evaluate:
            fail("--eval applies to --dataset only (a single input has no ground truth)")
    if report is not None and not (dataset is not None and evaluate):
        fail("--report needs --dataset and --eval (the page shows the evaluation)")
    if annotations is not None and not annotations.is_file():
        fail(f"--annotations {annotations}: no such file")
    if fps is not None and not fps > 0:
        fail(f"--fps {fps}: must be > 0")
    if p is not None and not 0 < p < 1:
        fail(f"--p {p}: must be between 0 and 1")
    if step is not None and step < 1:
        fail(f"--step {step}: must be >= 1")
    check_choice(tracker, ("landmarks", "haar"), "--tracker")
    if submission is not None and inputs:
        from mpt.megc.submit import input_names

        input_names(inputs)  # two inputs with one name: said before any spotting
    from mpt.outputs import check_output_files, locked_files

    outputs = {"--csv": (csv_out, (".csv",)), "--plot": (plot, PLOT_SUFFIXES), "--report": (report, (".html",))}
    check_output_files(outputs, inputs=[*(inputs or []), annotations], roots=[root])

    from mpt.spot.run import spot_dataset, spot_inputs
    from mpt.spot.show import show

    if dataset is not None:
        with locked_files({option: path for option, (path, _) in outputs.items()}):
            result = spot_dataset(dataset, root, annotations, with_eval=evaluate, p=p, step=step, csv_out=csv_out,
                                  plot=plot, progress=progress and not as_json, tracker=tracker, report=report)
    else:
        result = spot_inputs(inputs, fps=fps, p=p, step=step, csv_out=csv_out, plot=plot,
                             progress=progress and not as_json, tracker=tracker)
    if submission is not None:
        from mpt.megc.submit import spot_submission

        result["submission"] = [str(x) for x in spot_submission(result, submission, dataset)]
    if as_json:
        typer.echo(json.dumps(result))
    else:
        show(result)
        if submission is not None:
            typer.echo("MEGC spotting files: " + ", ".join(result["submission"]))


@spot_app.command("evaluate")
def evaluate_cmd(
    predictions: Path = typer.Argument(..., help="Predictions CSV: subject, video, onset, offset, type (micro or "
                                       "macro), a header row optional (what `mpt spot --csv` writes), or a MEGC "
                                       "spotting file (vid,pred_onset,pred_offset,type; what --submission writes)."),
    dataset: str = typer.Option(..., "--dataset", help="Corpus of the ground truth: " + ", ".join(SPOT_DATASETS)
                                + "."),
    annotations: Path = typer.Option(..., "--annotations", help="Its annotation table (CASME_sq_gt.xlsx, "
                                     "SAMMLV_gt.xlsx); frames are not needed."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object: micro, macro, overall, subjects."),
    megc: bool = typer.Option(False, "--megc", help="Also score as the MEGC leaderboard does (file order, multiple "
                              "counting, only subjects with predictions and videos with ground truth) and print both "
                              "side by side; --json then prints {mpt, megc, reasons}."),
    root: Optional[Path] = typer.Option(None, "--root", help="The corpus root: with it, an interval past its "
                                        "video's last frame is an error (the table alone does not know the "
                                        "videos' lengths)."),
) -> None:
    """Score spotted intervals against a corpus's table (IoU >= 0.5; --megc as the leaderboard).

    Score predicted intervals: IoU >= 0.5 with frames counted inclusively, one-to-one matching (highest
    IoU first) per video and type, TP/FP/FN summed over videos; precision, recall and F1 for micro,
    macro and overall, and per subject."""
    check_choice(dataset, SPOT_DATASETS, "--dataset")
    if not annotations.is_file():
        fail(f"--annotations {annotations}: no such file")
    if root is not None and not root.is_dir():
        fail(f"--root {root}: not a folder")

    from mpt.megc.submit import evaluate_spotting_file
    from mpt.spot.show import show_evaluation

    # an `mpt spot --csv` file or a MEGC spotting file (vid,pred_onset,pred_offset,type)
    result = evaluate_spotting_file(predictions, dataset, annotations, megc=megc, root=root)
    if as_json:
        typer.echo(json.dumps(result))
    elif megc:
        from mpt.megc.show import show_spotting

        show_spotting(result)
    else:
        show_evaluation(result)
