"""``mpt preprocess``: build (or reuse) the HDF5 cache of a dataset."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from .app import app

DATASETS = ("casme2", "samm", "smic", "megc2019")
MOTION_OUTPUTS = ("magnified", "band")


@app.command("preprocess")
def preprocess(
    name: str = typer.Argument(..., help="Dataset: casme2, samm, smic or megc2019 (synthetic data is read as casme2)."),
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
    strict: bool = typer.Option(False, "--strict", help="Stop at the first bad clip or frame instead of skipping it."),
    force: bool = typer.Option(False, "--force", help="Recompute even if a complete cache exists."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show a progress bar."),
):
    """Magnify, normalise to T frames and rank-pool every clip into CACHE_DIR/NAME-HASH.h5.

    Runs again with the same settings reuse the cache; an interrupted run resumes.
    The cache path is printed as the last line.
    """
    if name not in DATASETS:
        raise typer.BadParameter(f"must be one of {', '.join(DATASETS)}", param_hint="NAME")
    if not root.is_dir():
        raise typer.BadParameter(f"{root} is not a folder", param_hint="--root")
    if annotations is not None and not annotations.is_file():
        raise typer.BadParameter(f"{annotations} is not a file", param_hint="--annotations")
    if jobs is not None and jobs < 1:
        raise typer.BadParameter("must be >= 1", param_hint="--jobs")
    if motion_output not in MOTION_OUTPUTS:
        raise typer.BadParameter(f"must be one of {', '.join(MOTION_OUTPUTS)}", param_hint="--motion-output")

    from preprocess.cache import CacheError
    from preprocess.pipeline import build_cache
    from preprocess.records import DatasetError
    from preprocess.settings import PreprocessSettings

    try:
        settings = PreprocessSettings(
            alpha=alpha, levels=levels, f_lo=f_lo, f_hi=f_hi, order=order, frames=frames,
            motion_output=motion_output, size=size,
        )  # fmt: skip
        path = build_cache(
            name, root, annotations, settings=settings, cache_dir=cache_dir, jobs=jobs, strict=strict,
            force=force, progress=progress,
        )  # fmt: skip
    except (DatasetError, CacheError, ValueError, TypeError) as err:
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(1)
    typer.echo(str(path))
