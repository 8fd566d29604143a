"""``mpt preprocess``: build (or reuse) the HDF5 cache of a dataset."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from mpt_core.names import DATASETS, FACE_MODES, LANDMARK_MODELS, MOTION_OUTPUTS

from .app import app, check_choice, fail
from .datasets_cmd import split_classes
from .options import LANDMARKS



@app.command("preprocess")
def preprocess(
    name: str = typer.Argument(..., help="Dataset: " + ", ".join(DATASETS) + " (synthetic data is read as casme2, "
                               "or casme3 for `mpt synth --layout casme3`)."),
    root: Path = typer.Option(..., "--root", help="Dataset root folder."),
    annotations: Optional[Path] = typer.Option(
        None, "--annotations", help="Annotation file (default: found under --root)."
    ),
    cache_dir: Path = typer.Option(Path("cache"), "--cache-dir", help="Folder for the cache files."),
    jobs: Optional[int] = typer.Option(None, "--jobs", help="Parallel worker processes (default: all cores)."),
    alpha: float = typer.Option(20.0, "--alpha", help="Magnification factor on every band level."),
    levels: int = typer.Option(4, "--levels", help="Laplacian pyramid band levels."),
    f_lo: float = typer.Option(0.4, "--f-lo", help="Band-pass lower cut-off in Hz."),
    f_hi: float = typer.Option(4.0, "--f-hi", help="Band-pass upper cut-off in Hz."),
    order: int = typer.Option(1, "--order", help="Butterworth filter order."),
    frames: int = typer.Option(16, "--frames", help="Frames per clip after temporal normalisation (T)."),
    motion_output: str = typer.Option(
        "magnified", "--motion-output", help="'magnified' (uint8 magnified frames) or 'band' (float16 band signal)."
    ),
    size: int = typer.Option(224, "--size", help="Frame size in pixels (METHOD: 224)."),
    classes: Optional[str] = typer.Option(None, "--classes", help="Comma-separated class selection or a preset "
                                          "(casme3-7, casme3-4, casme3-3); default: the dataset's standard classes."),
    face: Optional[str] = typer.Option(None, "--face", help="auto: detect the face and its landmarks (dlib) and "
                                       "align it (one transform per clip, found on the onset frame); haar: the same "
                                       "from OpenCV's Haar eyes; none: use frames as they are. Default: auto for "
                                       "corpora of whole video frames (casme3), none for cropped corpora."),
    landmarks: str = LANDMARKS,
    track: bool = typer.Option(False, "--track", help="Stabilise every frame of a clip by its own landmarks (head "
                               "motion) instead of one transform per clip; part of the cache key."),
    max_seconds: Optional[float] = typer.Option(None, "--max-seconds", help="casme3: onset-to-offset spans longer "
                                                "than this are problems (default 10 s)."),
    strict: bool = typer.Option(False, "--strict", help="Stop at the first bad clip or frame instead of skipping it."),
    force: bool = typer.Option(False, "--force", help="Recompute even if a complete cache exists."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show a progress bar."),
):
    """Magnify, normalise to T frames and rank-pool every clip into CACHE_DIR/NAME-KEY.h5.

    Runs again with the same settings reuse the cache; an interrupted run resumes; a second run
    started while the first builds the same cache waits for it and reuses it.
    The cache path is printed as the last line.
    """
    check_choice(name, DATASETS, "NAME")
    check_choice(motion_output, MOTION_OUTPUTS, "--motion-output")
    if face is not None:
        check_choice(face, FACE_MODES, "--face")
    check_choice(landmarks, LANDMARK_MODELS, "--landmarks")
    if track and face not in (None, "auto"):
        fail(f"--track needs landmarks (--face auto), not --face {face}")
    if not root.is_dir():
        fail(f"--root {root}: not a folder")
    if annotations is not None and not annotations.is_file():
        fail(f"--annotations {annotations}: no such file")
    if jobs is not None and jobs < 1:
        fail(f"--jobs {jobs}: must be >= 1")

    from mpt_core.clip import PreprocessSettings
    from preprocess.pipeline import build_cache

    settings = PreprocessSettings(
        alpha=alpha, levels=levels, f_lo=f_lo, f_hi=f_hi, order=order, frames=frames,
        motion_output=motion_output, size=size,
    )  # fmt: skip
    path = build_cache(
        name, root, annotations, settings=settings, cache_dir=cache_dir, jobs=jobs, strict=strict,
        force=force, progress=progress, classes=split_classes(classes), face=face, landmarks=landmarks,
        track=track, max_seconds=max_seconds,
    )  # fmt: skip
    typer.echo(str(path))
