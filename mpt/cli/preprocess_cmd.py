"""``mpt preprocess``: build (or reuse) the HDF5 cache of a dataset."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from mpt_core.names import DATASETS, FACE_MODES, FLOW_METHODS, LANDMARK_MODELS, MOTION_OUTPUTS

from .app import app, check_choice, fail
from .datasets_cmd import split_classes
from .options import LANDMARKS

COMPOSITE = "composite"  # preprocess.composite.COMPOSITE (not imported here: --help stays fast)


@app.command("preprocess")
def preprocess(
    name: str = typer.Argument(..., help="Dataset: " + ", ".join(DATASETS) + " (synthetic data is read as casme2, "
                               "or casme3 for `mpt synth --layout casme3`), or composite (with --parts)."),
    root: Optional[Path] = typer.Option(None, "--root", help="Dataset root folder (composite: the folder holding "
                                        "one folder per part, named after it). Required unless a parts file "
                                        "names every part's root."),
    parts: Optional[str] = typer.Option(None, "--parts", help="composite: comma-separated corpora, e.g. "
                                        "casme2,samm,smic,casme3."),
    parts_file: Optional[Path] = typer.Option(None, "--parts-file", help="composite: TOML with a [part] table "
                                              "per corpus (root, annotations, classes, max_seconds)."),
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
                                          "(casme3-7, casme3-4, casme3-3); default: the dataset's standard classes. "
                                          "composite: a class map, 3class (default) or a .toml/.json file."),
    face: Optional[str] = typer.Option(None, "--face", help="auto: detect the face and its landmarks (dlib) and "
                                       "align it (one transform per clip, found on the onset frame); haar: the same "
                                       "from OpenCV's Haar eyes; none: use frames as they are. Default: auto for "
                                       "corpora of whole video frames (casme3), none for cropped corpora."),
    landmarks: str = LANDMARKS,
    track: bool = typer.Option(False, "--track", help="Stabilise every frame of a clip by its own landmarks (head "
                               "motion) instead of one transform per clip; part of the cache key."),
    max_seconds: Optional[float] = typer.Option(None, "--max-seconds", help="casme3: onset-to-offset spans longer "
                                                "than this are problems (default 10 s)."),
    flow: bool = typer.Option(False, "--flow", help="Build the flow cache of the baselines instead (onset-to-apex "
                              "optical flow, optical strain and grey frames; NAME-flow-KEY.h5): `mpt train --model "
                              "ststnet` and the other baselines read it."),
    flow_method: str = typer.Option("dis", "--flow-method", help="--flow: dis (OpenCV core) or tvl1 (needs "
                                    "opencv-contrib-python-headless instead of opencv-python-headless)."),
    flow_sizes: str = typer.Option("28,60,64,112", "--flow-sizes", help="--flow: the sides the flow maps are "
                                   "stored at (the baselines' input sizes)."),
    strict: bool = typer.Option(False, "--strict", help="Stop at the first bad clip or frame instead of skipping it."),
    force: bool = typer.Option(False, "--force", help="Recompute even if a complete cache exists."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show a progress bar."),
):
    """Magnify, normalise to T frames and rank-pool every clip into CACHE_DIR/NAME-KEY.h5.

    Runs again with the same settings reuse the cache; an interrupted run resumes; a second run
    started while the first builds the same cache waits for it and reuses it.
    The cache path is printed as the last line.
    """
    check_choice(name, DATASETS + (COMPOSITE,), "NAME")
    check_choice(motion_output, MOTION_OUTPUTS, "--motion-output")
    if face is not None:
        check_choice(face, FACE_MODES, "--face")
    check_choice(landmarks, LANDMARK_MODELS, "--landmarks")
    if track and face not in (None, "auto"):
        fail(f"--track needs landmarks (--face auto), not --face {face}")
    if root is not None and not root.is_dir():
        fail(f"--root {root}: not a folder")
    if annotations is not None and not annotations.is_file():
        fail(f"--annotations {annotations}: no such file")
    if jobs is not None and jobs < 1:
        fail(f"--jobs {jobs}: must be >= 1")
    if name != COMPOSITE and (parts is not None or parts_file is not None):
        fail(f"--parts and --parts-file are for `mpt preprocess composite`, not {name}")
    if name != COMPOSITE and root is None:
        fail("--root is required (the dataset's root folder)")

    check_choice(flow_method, FLOW_METHODS, "--flow-method")
    from mpt_core.clip import PreprocessSettings

    if flow:
        settings = _flow_settings(flow_method, flow_sizes)
    else:
        settings = PreprocessSettings(
            alpha=alpha, levels=levels, f_lo=f_lo, f_hi=f_hi, order=order, frames=frames,
            motion_output=motion_output, size=size,
        )  # fmt: skip
    if name == COMPOSITE:
        path = _composite(parts, parts_file, root, annotations, classes, max_seconds, settings=settings,
                          cache_dir=cache_dir, jobs=jobs, strict=strict, force=force, progress=progress, face=face,
                          landmarks=landmarks, track=track)
        typer.echo(str(path))
        return

    from preprocess.pipeline import build_cache

    path = build_cache(
        name, root, annotations, settings=settings, cache_dir=cache_dir, jobs=jobs, strict=strict,
        force=force, progress=progress, classes=split_classes(classes), face=face, landmarks=landmarks,
        track=track, max_seconds=max_seconds,
    )  # fmt: skip
    typer.echo(str(path))


def _flow_settings(method: str, sizes: str):
    from mpt_core.flow_cache import FlowSettings, parse_sizes
    from mpt_core.settings import SettingsError

    try:
        return FlowSettings(method=method, sizes=parse_sizes(sizes))
    except (ValueError, SettingsError) as err:
        fail(f"--flow-sizes {sizes!r}: {err}")


def _composite(parts, parts_file, root, annotations, classes, max_seconds, **build) -> Path:
    """`mpt preprocess composite`: parse the parts (and their file), then build the one cache."""
    from preprocess.composite import build_composite_cache, parse_parts, read_parts_file, resolve_parts

    if parts is None:
        fail("composite needs --parts, e.g. --parts casme2,samm,smic,casme3")
    if annotations is not None or max_seconds is not None:
        fail("composite: give each part's annotations or max_seconds in --parts-file ([casme3] max_seconds = 10)")
    if parts_file is not None and not parts_file.is_file():
        fail(f"--parts-file {parts_file}: no such file")
    names = parse_parts(parts)
    tables, file_classes = read_parts_file(parts_file) if parts_file is not None else ({}, None)
    return build_composite_cache(resolve_parts(names, root, tables), classes or file_classes or "3class", **build)
