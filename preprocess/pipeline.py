"""Offline preprocessing (METHOD.md section 1): dataset -> one HDF5 cache per dataset, settings and input.

Orchestration only: read the dataset, name the cache (``identity.py``), take the cache's lock, run
the clips in parallel (``workers.py``: joblib, one thread per worker, each worker saving its own
shards) and let the parent alone write the HDF5 file (``writer.py``), with a progress bar.

Locking: building a cache holds an inter-process lock (``<cache dir>/.locks/<cache>.lock``, filelock: an OS lock the
kernel releases when its process dies, so a killed run never blocks the next). A second identical
``mpt preprocess`` waits for the first, then reuses its cache and says that it waited.
"""

from __future__ import annotations

import shutil
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from mpt_core import __version__
from mpt_core.cache import CacheError, read_cache_meta
from mpt_core.clip import PreprocessSettings
from mpt_core.fileio import process_lock
from mpt_core.names import FACE_MODES

from .face.align import FaceOptions
from .face.framing import cache_framing, framing_summary
from .identity import cache_key, cache_path, input_identity
from .records import DatasetError, DatasetIndex
from .workers import run_parallel, run_serial
from .writer import CacheWriter, ClipLayout, FlowLayout, load_shard

STAGES = ("decode", "resize", "face", "pyramid+filter", "normalise", "rank pool", "flow", "write")
OPTIONAL_STAGES = ("face", "flow")  # printed only where they took time


def build_cache(
    name: str,
    root,
    annotations=None,
    *,
    settings: PreprocessSettings,
    cache_dir="cache",
    jobs: int | None = None,
    strict: bool = False,
    force: bool = False,
    progress: bool = True,
    classes=None,
    face: str | None = None,
    landmarks: str = "68",
    track: bool = False,
    max_seconds: float | None = None,
) -> Path:
    """Read dataset ``name`` at ``root`` and write (or reuse) its cache; returns the cache path.

    ``face``: "auto" aligns faces in whole-frame corpora from dlib's ``landmarks`` ("68" or "5"; the
    default for them), "haar" from OpenCV's Haar eyes, "none" uses frames as they are (the default
    for the corpora that ship cropped faces). ``track``: each frame stabilised by its own landmarks
    instead of one transform per clip. The aligner (and tracking) is part of the cache key of a
    whole-frame corpus; cropped corpora keep the keys they always had. The cache records how its
    faces were framed (``framing``: measured on each clip's onset crop for cropped corpora,
    ``preprocess.face.framing``; mpt's canonical crop for whole-frame corpora) and logs it.
    """
    from .readers import read_dataset

    index = read_dataset(name, root, annotations, strict=strict, classes=classes, max_seconds=max_seconds)
    face = _face_options(index, face, landmarks, track)
    identity = input_identity(index, root=root, annotations=annotations, strict=strict,
                              face=face.identity() if index.whole_frames else None)
    return build_cache_from_index(
        index, settings=settings, cache_dir=cache_dir, jobs=jobs, strict=strict, force=force,
        progress=progress, identity=identity, face=face,
    )  # fmt: skip


def _face_options(index: DatasetIndex, face: str | None, landmarks: str, track: bool) -> FaceOptions:
    if face is None:
        face = "auto" if index.whole_frames else "none"
    if face not in FACE_MODES:
        raise ValueError(f"face mode {face!r}: choose one of {', '.join(FACE_MODES)}")
    return FaceOptions(method=face, landmarks=landmarks, track=track)


def build_cache_from_index(
    index: DatasetIndex,
    *,
    settings: PreprocessSettings,
    cache_dir="cache",
    jobs: int | None = None,
    strict: bool = False,
    force: bool = False,
    progress: bool = True,
    identity: dict | None = None,
    face="none",
) -> Path:
    """Write (or reuse) the cache of an already read ``DatasetIndex``; returns its path. ``face``: a
    ``FaceOptions`` or a method name ("none": frames as they are), or {source corpus: either} (a composite).

    ``settings``: a ``PreprocessSettings`` (the clip cache) or a ``FlowSettings`` (the flow cache of the
    baselines, ``mpt_core/flow_cache.py``, named ``<dataset>-flow-<key>.h5``); both are built alike."""
    identity = identity or input_identity(index, strict=strict)
    kind = "clip" if isinstance(settings, PreprocessSettings) else "flow"
    if kind == "flow":
        from mpt_core.apex_flow import flow_function

        flow_function(settings.method)  # an unavailable method fails here, before any work
    key = cache_key(settings, identity)
    final = cache_path(cache_dir, index.dataset if kind == "clip" else f"{index.dataset}-flow", key)
    final.parent.mkdir(parents=True, exist_ok=True)
    (final.parent / ".locks").mkdir(exist_ok=True)
    with process_lock(final.parent / ".locks" / f"{final.name}.lock") as lock:
        if not lock.try_acquire():
            _log(f"waiting for {lock.owner()}, which is building {final}")
            lock.acquire_or_wait()
            _log(f"waited for another mpt preprocess that was building {final}")
        if final.exists() and not force:
            try:
                meta = read_cache_meta(final, kind)
                _log(f"reusing {final} ({meta.n_clips} clips, settings unchanged)")
                return final
            except CacheError as err:
                _log(f"rebuilding: {err}")
        _build(index, final, key, settings=settings, jobs=jobs, strict=strict, force=force, progress=progress,
               identity=identity, face=face)
    return final


def _log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _build(index: DatasetIndex, final: Path, key: str, *, settings, jobs, strict, force, progress, identity,
           face) -> None:
    start = time.perf_counter()
    if not index.clips:
        raise DatasetError(f"{index.dataset}: no clips to preprocess ({len(index.skipped)} skipped by the reader)")
    parts = final.with_name(final.stem + ".parts")
    if force and parts.exists():
        shutil.rmtree(parts)
    parts.mkdir(exist_ok=True)

    def shard(row: int) -> Path:
        return parts / f"{row:06d}.npy"

    todo, reused = [], 0
    for row, record in enumerate(index.clips):
        saved = load_shard(shard(row), ["key"]) if shard(row).exists() else None
        if saved is not None and str(saved["key"]) == record.key:
            reused += 1
        else:
            todo.append((row, record))

    skipped = [{"clip": p.clip, "reason": str(p)} for p in index.skipped]
    timings = dict.fromkeys(STAGES, 0.0)
    jobs = jobs or _cpu_count()
    if isinstance(settings, PreprocessSettings):
        motion_dtype = np.uint8 if settings.motion_output == "magnified" else np.float16
        layout = ClipLayout(frames=settings.frames, size=settings.size, motion_dtype=motion_dtype)
    else:
        layout = FlowLayout(settings)
    writer = CacheWriter(final.with_name(final.stem + ".partial.h5"), index, parts, layout)
    if jobs == 1 or len(todo) <= 1:
        results = run_serial(todo, settings, shard, face)
    else:
        results = run_parallel(todo, settings, shard, face, jobs)
    try:
        for row in set(range(len(index.clips))) - {row for row, _ in todo}:
            writer.resolve(row, True)  # reused shards, written while the workers start
        with progress_bar(progress, len(todo), f"preprocess {index.dataset}") as advance:
            for row, error, clip_timings in results:
                for stage, dt in clip_timings.items():
                    timings[stage] = timings.get(stage, 0.0) + dt
                if error is not None:
                    clip_key = index.clips[row].key
                    if strict:
                        raise DatasetError(f"{error} (clip {clip_key}); stopped because of --strict")
                    skipped.append({"clip": clip_key, "reason": error})
                writer.resolve(row, error is None)
                advance()
        for warning in index.warnings:
            _log(f"  note: {warning}")
        for s in skipped:
            _log(f"  skipped {s['clip']}: {s['reason']}")
        if writer.n == 0:
            raise DatasetError(f"{index.dataset}: no clip could be preprocessed ({len(skipped)} skipped, listed above)")
        framing = _framing(writer, index, face)
        for line in framing_summary(framing).splitlines():
            _log(line)
        writer.finish(
            final, settings=settings.to_dict(), classes=list(index.classes), dataset=index.dataset,
            mpt_version=__version__, cache_key=key, input=identity, skipped=skipped, framing=framing,
            **layout.attrs,
        )  # fmt: skip
    except BaseException:
        writer.discard()
        raise
    finally:
        if hasattr(results, "close"):
            results.close()  # stops the workers if we leave early
    timings["write"] += writer.seconds
    shutil.rmtree(parts, ignore_errors=True)

    computed = len(todo) - (len(skipped) - len(index.skipped))
    _log(f"preprocess {index.dataset}: {writer.n} clips in the cache ({computed} computed, {reused} reused), "
         f"{len(skipped)} skipped")  # fmt: skip
    _log("stage seconds (summed over workers): "
         + ", ".join(f"{stage} {timings[stage]:.2f}" for stage in STAGES
                     if timings[stage] or (layout.kind == "clip" and stage not in OPTIONAL_STAGES))
         + f"; wall {time.perf_counter() - start:.2f}")


def _framing(writer: CacheWriter, index: DatasetIndex, face) -> dict:
    """The cache's ``framing`` attribute (``preprocess.face.framing.cache_framing``) from the rows written."""
    from .face.align import as_options

    def options(source: str):
        return as_options(face[source] if isinstance(face, dict) else face)

    text = [s.decode() if isinstance(s, bytes) else str(s) for s in writer.f["face"][: writer.n]]
    sources = [s.decode() if isinstance(s, bytes) else str(s) for s in writer.f["source"][: writer.n]]
    return cache_framing(text, sources, options)


def _cpu_count() -> int:
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


@contextmanager
def progress_bar(enabled: bool, total: int, label: str):
    """A rich progress bar on stderr (or nothing); yields a function that advances it by one clip."""
    if not enabled or total == 0:
        yield lambda: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=Console(stderr=True)) as bar:
        task = bar.add_task(label, total=total)
        yield lambda: bar.advance(task)
