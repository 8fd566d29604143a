"""`mpt magnify`: parse, validate, call ``mpt.magnify.magnify_video``, say where the video went."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from mpt_core.names import FACE_MODES, LANDMARK_MODELS

from .app import app, check_choice, fail
from .options import FACE_OPTION, FPS, FRAMING, LANDMARKS, OFFSET, ONSET, TRACK


@app.command("magnify")
def magnify(
    input: Path = typer.Argument(..., help="A video file or a folder of frame images (one clip)."),
    out: Path = typer.Option(..., "-o", "--out", help="Output video (.mp4, .mov or .avi; written with mp4v)."),
    alpha: float = typer.Option(20.0, "--alpha", help="Magnification factor (METHOD 1.2: 20)."),
    face: str = FACE_OPTION,
    landmarks: str = LANDMARKS,
    track: bool = TRACK,
    framing: Optional[str] = FRAMING,
    onset: Optional[int] = ONSET,
    offset: Optional[int] = OFFSET,
    fps: Optional[float] = FPS,
    levels: int = typer.Option(4, "--levels", help="Laplacian pyramid band levels."),
    f_lo: float = typer.Option(0.4, "--f-lo", help="Band-pass low cut-off, Hz."),
    f_hi: float = typer.Option(4.0, "--f-hi", help="Band-pass high cut-off, Hz (below half the frame rate)."),
    slow: float = typer.Option(10.0, "--slow", help="Slow-down: the video plays at max(1, fps / slow) frames per "
                               "second (200 fps -> 20)."),
    size: int = typer.Option(224, "--size", help="Height of each half in pixels (the face crop's side)."),
    gif: bool = typer.Option(False, "--gif", help="Also write OUT with the suffix .gif (needs Pillow)."),
) -> None:
    """The face of a clip next to its Eulerian motion magnification, slowed down, as a video (and a GIF)."""
    check_choice(face, FACE_MODES, "--face")
    check_choice(landmarks, LANDMARK_MODELS, "--landmarks")
    if track and face != "auto":
        fail(f"--track needs landmarks (--face auto), not --face {face}")
    if not alpha > 0:
        fail(f"--alpha {alpha}: must be > 0")
    if levels < 1:
        fail(f"--levels {levels}: must be >= 1")
    if not 0 < f_lo < f_hi:
        fail(f"--f-lo {f_lo} / --f-hi {f_hi}: need 0 < f-lo < f-hi")
    if not slow > 0:
        fail(f"--slow {slow}: must be > 0 (1 plays at the real rate)")
    if size < 16:
        fail(f"--size {size}: must be >= 16")
    from mpt.outputs import check_output_files

    check_output_files({"--out": (out, (".mp4", ".mov", ".avi")),
                        "--gif": (out.with_suffix(".gif") if gif else None, (".gif",))}, inputs=[input])

    from mpt.magnify import magnify_video

    r = magnify_video(input, out, alpha=alpha, face=face, landmarks=landmarks, track=track, onset=onset,
                      offset=offset, fps=fps, levels=levels, f_lo=f_lo, f_hi=f_hi, slow=slow, gif=gif, size=size,
                      framing=framing)
    typer.echo(f"{r['video']}: {r['frames']} frames of {r['width']}x{r['height']} (original | magnified "
               f"x{r['alpha']:g}), {r['fps']:g} fps played at {r['playback_fps']:g} fps: {r['duration_s']:.1f} s")
    if r["gif"] is not None:
        typer.echo(f"{r['gif']}: the same as a GIF")
