"""`mpt track`: parse, validate, call ``mpt.tracking.track``, print a summary or one JSON object."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from mpt_core.names import LANDMARK_MODELS

from .app import app, check_choice, fail
from .options import FPS, OFFSET, ONSET


@app.command("track")
def track(
    input: Path = typer.Argument(..., help="A video file or a folder of frame images."),
    onset: Optional[int] = ONSET,
    offset: Optional[int] = OFFSET,
    fps: Optional[float] = FPS,
    out: Optional[Path] = typer.Option(None, "--out", help="Write the whole track (.npz: status, landmarks, boxes, "
                                       "roll, stabilising matrices)."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object: input, fps, frames (index, status, "
                                 "box, roll_deg, landmarks), lost."),
    video: Optional[Path] = typer.Option(None, "--video", help="Write the original (box and landmarks drawn) beside "
                                         "the stabilised face (.mp4, .mov or .avi)."),
    landmarks: str = typer.Option("68", "--landmarks", help="68 (dlib's 68 points) or 5 (eye corners and nose)."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show a progress bar (stderr)."),
) -> None:
    """Per-frame face landmarks, box, roll and stabilisation of a video (detected once, then tracked)."""
    check_choice(landmarks, LANDMARK_MODELS, "--landmarks")
    if onset is not None and offset is not None and onset > offset:
        fail(f"--onset {onset} is after --offset {offset}")
    from mpt.outputs import check_output_files

    check_output_files({"--out": (out, (".npz",)), "--video": (video, (".mp4", ".mov", ".avi"))}, inputs=[input])

    from mpt.tracking import summary
    from mpt.tracking import track as run_track

    result = run_track(input, onset=onset, offset=offset, fps=fps, out=out, video=video, landmarks=landmarks,
                       progress=progress and not as_json)
    if as_json:
        keys = ("input", "fps", "frames", "lost")
        typer.echo(json.dumps({k: result[k] for k in keys}))
    else:
        typer.echo(summary(result))
