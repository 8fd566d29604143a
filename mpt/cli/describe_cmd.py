"""`mpt describe`: parse, validate, call ``mpt.describe.describe``, print tables or one JSON object."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from mpt_core.names import FACE_MODES, LANDMARK_MODELS

from .app import app, check_choice, fail
from .options import FPS, FRAMING, ONSET


@app.command("describe")
def describe(
    input: Path = typer.Argument(..., help="A video file or a folder of frame images (one clip)."),
    onset: Optional[int] = ONSET,
    apex: Optional[int] = typer.Option(None, "--apex", help="Apex frame, numbered like --onset. Default: the "
                                       "frame of maximum motion energy relative to the onset."),
    offset: Optional[int] = typer.Option(None, "--offset", help="Last frame, inclusive, where the face is back "
                                         "at rest: the motion is then measured relative to the face's drift from "
                                         "the onset to it (the expression's transient part). Default: the last "
                                         "frame, and motion from the onset."),
    fps: Optional[float] = FPS,
    face: str = typer.Option("auto", "--face", help="auto: track the face's 68 landmarks (dlib) and stabilise every "
                             "frame; the regions are placed from the onset frame's landmarks; haar: one transform "
                             "from Haar's eyes, regions placed from the eyes; none: the frames are already cropped "
                             "to the face (landmarks found on the onset frame, else the eyes, else where mpt's crop "
                             "puts them)."),
    landmarks: str = typer.Option("68", "--landmarks", help="68 (the only choice that places regions; 5 is "
                                  "refused)."),
    framing: Optional[str] = FRAMING,
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object instead of tables."),
) -> None:
    """Region motion from onset to apex (optical flow, head motion removed) and motion-based AU candidates."""
    check_choice(face, FACE_MODES, "--face")
    check_choice(landmarks, LANDMARK_MODELS, "--landmarks")
    if landmarks == "5":
        fail("--landmarks 5: the 5-point model (eye corners and nose) places no regions; mpt describe needs the 68 "
             "points")
    for name, value in (("--onset", onset), ("--apex", apex), ("--offset", offset)):
        if value is not None and value < 0:
            fail(f"{name} {value}: frame numbers are >= 0")
    if onset is not None and apex is not None and apex <= onset:
        fail(f"--apex {apex} must come after --onset {onset}")
    if apex is not None and offset is not None and apex > offset:
        fail(f"--apex {apex} is after --offset {offset}")

    from mpt.describe import describe as run_describe
    from mpt.describe import show

    result = run_describe(input, onset=onset, apex=apex, offset=offset, fps=fps, face=face, landmarks=landmarks,
                          framing=framing)
    if as_json:
        typer.echo(json.dumps(result))
    else:
        show(result)
