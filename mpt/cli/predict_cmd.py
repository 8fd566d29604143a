"""`mpt predict`: parse, validate, call ``mpt.inference.predict``, print a table or one JSON object."""

from __future__ import annotations

import json
from pathlib import Path
from typing import List, Optional

import typer

from mpt_core.names import FACE_MODES, LANDMARK_MODELS, SPOT_MODES

from .app import app, check_choice, check_device, fail
from .options import FACE, FPS, FRAMING, LANDMARKS, OFFSET, ONSET, TRACK


@app.command("predict")
def predict(
    inputs: List[Path] = typer.Argument(..., help="Video files or folders of frame images (one clip each)."),
    run: Path = typer.Option(..., "--run", help="Run folder (from `mpt train`)."),
    model: Optional[str] = typer.Option(None, "--model", help="final (the default when the run has "
                                        "final.safetensors), ensemble (mean over the fold models; the default "
                                        "otherwise) or one fold's subject."),
    onset: Optional[int] = ONSET,
    offset: Optional[int] = OFFSET,
    fps: Optional[float] = FPS,
    face: Optional[str] = typer.Option(None, "--face", help=FACE + ". Default: as the run's cache (haar for a Haar "
                                       "cache, else auto)."),
    landmarks: str = LANDMARKS,
    track: bool = TRACK,
    framing: Optional[str] = FRAMING,
    save_crops: Optional[Path] = typer.Option(None, "--save-crops", help="Folder for each input's aligned onset "
                                              "crop, strip of normalised motion frames and rank image (PNG)."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object instead of tables."),
    device: str = typer.Option("auto", "--device", help="auto, cpu, cuda or cuda:N."),
    weights: Optional[Path] = typer.Option(None, "--weights", help="Backbone weights file, if not where the run "
                                           "recorded it (its sha256 must match the run's)."),
    spot: str = typer.Option("auto", "--spot", help="auto: an input longer than 2 s given without --onset/--offset "
                             "is spotted first (as `mpt spot`) and each spotted micro-expression is classified; on: "
                             "spot every input; off: every input is one clip, as it is."),
    macro: bool = typer.Option(False, "--macro", help="Classify spotted macro-expression intervals too (the model "
                               "was trained on micro-expressions)."),
) -> None:
    """Class probabilities of raw clips under a trained run's model, preprocessed exactly as its cache.

    A long input (over 2 s, no --onset/--offset) is spotted first: the output is a timeline of the
    spotted intervals (onset, apex, offset in frames and seconds, type, spotting score), each with
    the class probabilities and the decision."""
    if face is not None:
        check_choice(face, FACE_MODES, "--face")
    check_choice(landmarks, LANDMARK_MODELS, "--landmarks")
    if track and face not in (None, "auto"):
        fail(f"--track needs landmarks (--face auto), not --face {face}")
    check_device(device)
    if weights is not None and not weights.is_file():
        fail(f"--weights {weights}: no such file")
    check_choice(spot, SPOT_MODES, "--spot")
    if spot == "on" and (onset is not None or offset is not None):
        fail("--spot on spots whole inputs, --onset/--offset cut one clip: give one or the other")
    if macro and (spot == "off" or onset is not None or offset is not None):
        fail("--macro applies to spotted inputs (--spot auto|on without --onset/--offset)")
    if not (run / "config.json").is_file():
        fail(f"--run {run}: not a run folder (no config.json)")
    if save_crops is not None:
        from mpt.outputs import check_plain_folder

        check_plain_folder(save_crops, "--save-crops", inputs=inputs)

    from mpt.inference import format_table
    from mpt.inference import predict as run_predict

    result = run_predict(inputs, run, model=model, onset=onset, offset=offset, fps=fps, face=face,
                         landmarks=landmarks, track=track, weights=weights, device=device, save_crops=save_crops,
                         spot=spot, macro=macro, progress=not as_json, framing=framing)
    typer.echo(json.dumps(result) if as_json else format_table(result))
