"""Offline preprocessing (METHOD.md section 1): dataset -> one HDF5 cache per dataset, settings and input.

Per clip: load and resize the onset..offset frames, magnify them at the native rate,
normalise to T frames, rank-pool the normalised originals. Clips run in parallel with
joblib (one thread per worker); each worker saves its clips as its own shard files and
only this (parent) process writes the HDF5 file.

Crash safety: every finished clip is saved atomically (write, then rename) as
``<cache>.parts/NNNNNN.npy``. While the workers run, the parent copies the saved clips in
index order into ``<cache>.partial.h5``; when every clip is done it sets ``complete`` and
renames that file to the final name. A SIGKILL at any moment therefore leaves either the
complete final file or nothing under that name; a rerun reuses every saved clip and
rebuilds the partial file from the shards.

Cache name: ``<dataset>-<key>.h5`` where key is 12 hex of the SHA-256 over the
preprocessing settings and the input identity: dataset name, resolved root, annotation
file path and the SHA-256 of its bytes, the strict flag, the class list and a hash of
every clip record (subject, clip, label, onset/apex/offset, fps, frame paths), which
covers class selection and skipped clips. Frame *contents* are not hashed (that would
mean reading the whole dataset on every run): after editing images in place use --force.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from mpt_core import __version__
from mpt_core.fileio import file_sha256
from mpt_core.magnify import magnify
from mpt_core.rank_pool import dynamic_image
from mpt_core.temporal import needed_frames, normalise_length

from .cache import CacheError, create_cache, finish_cache, load_shard, read_cache_meta, save_shard, write_row
from .frames import load_frames
from .records import ClipRecord, DatasetError, DatasetIndex
from .settings import PreprocessSettings

STAGES = ("decode", "resize", "pyramid+filter", "normalise", "rank pool", "write")
# No HDF5 compression: on 224x224 face frames lzf saved 0 % and gzip-1 ~10 % of the space,
# while gzip made each clip read ~35x slower (bench/preprocess.py, figures in bench/README.md).
COMPRESSION = None


# one clip (runs in the workers)


def process_clip(record: ClipRecord, settings: PreprocessSettings, timings: dict | None = None) -> dict:
    """``rank`` (S, S, 3) uint8, ``motion`` (T, S, S, 3) uint8 or float16, ``n_frames``.

    Raises DatasetError (FrameError for a bad frame) naming the clip or file.
    """
    t = {} if timings is None else timings
    if len(record.frames) < 2:
        raise DatasetError(
            f"clip {record.key}: {len(record.frames)} frame(s) from onset {record.onset} to offset "
            f"{record.offset}; at least 2 are needed"
        )
    frames = load_frames(record.frames, settings.size, t)  # (N, S, S, 3) uint8
    n, T = len(frames), settings.frames
    t0 = time.perf_counter()
    at = needed_frames(n, T)
    magnified = magnify(
        frames,  # uint8: read as RGB in [0, 1]
        record.fps,
        alpha=settings.alpha,
        levels=settings.levels,
        f_lo=settings.f_lo,
        f_hi=settings.f_hi,
        order=settings.order,
        output=settings.motion_output,
        at=at,
    )  # (len(at), S, S, 3) float32
    t1 = time.perf_counter()
    motion = normalise_length(magnified, T, n=n, at=at)  # (T, S, S, 3)
    originals = normalise_length(frames, T)  # same positions, for rank pooling
    if settings.motion_output == "magnified":  # round(255 * M), half up, in place on the fresh copy
        motion *= 255.0
        motion += 0.5
        motion = np.floor(motion, out=motion).astype(np.uint8)
    else:
        motion = motion.astype(np.float16)
    t2 = time.perf_counter()
    rank = dynamic_image(originals)
    t3 = time.perf_counter()
    for stage, dt in (("pyramid+filter", t1 - t0), ("normalise", t2 - t1), ("rank pool", t3 - t2)):
        t[stage] = t.get(stage, 0.0) + dt
    return {"rank": rank, "motion": motion, "n_frames": n}


_worker_ready = False


def _one_thread() -> None:
    """One thread per worker: OpenCV and BLAS (also keeps results independent of --jobs)."""
    global _worker_ready
    if not _worker_ready:
        import cv2
        from threadpoolctl import threadpool_limits

        cv2.setNumThreads(1)
        threadpool_limits(1)
        _worker_ready = True


def _work(record: ClipRecord, settings: PreprocessSettings, shard: Path) -> tuple[str | None, dict]:
    """Process one clip and save it as ``shard``; returns (error or None, stage seconds).

    Each worker writes its own shard file (atomically), so arrays never travel back
    through the parent; only the parent writes the HDF5 file.
    """
    timings: dict = {}
    try:
        result = process_clip(record, settings, timings)
    except DatasetError as err:
        return str(err), timings
    t0 = time.perf_counter()
    save_shard(shard, key=record.key, **result)
    timings["write"] = time.perf_counter() - t0
    return None, timings


def _work_in_worker(row: int, record: ClipRecord, settings: PreprocessSettings, shard: Path):
    _one_thread()
    return (row, *_work(record, settings, shard))


def _run_serial(tasks, settings, shard):
    import cv2
    from threadpoolctl import threadpool_limits

    before = cv2.getNumThreads()
    cv2.setNumThreads(1)
    try:
        with threadpool_limits(1):
            for row, record in tasks:
                yield (row, *_work(record, settings, shard(row)))
    finally:
        cv2.setNumThreads(before)


# identity and names


def input_identity(index: DatasetIndex, *, root=None, annotations=None, strict: bool = False) -> dict:
    """What the input is, for the cache key (see the module docstring)."""
    clips = [
        [c.subject, c.clip, c.label, c.label_index, c.onset, c.apex, c.offset, c.fps, [str(p) for p in c.frames]]
        for c in index.clips
    ]
    return {
        "dataset": index.dataset,
        "root": str(Path(root).resolve()) if root is not None else None,
        "annotations": None
        if annotations is None
        else {"path": str(Path(annotations).resolve()), "sha256": file_sha256(annotations)},
        "strict": bool(strict),
        "classes": list(index.classes),
        "clips_sha256": hashlib.sha256(json.dumps(clips).encode()).hexdigest(),
    }


def cache_key(settings: PreprocessSettings, identity: dict) -> str:
    blob = json.dumps({"settings": settings.to_dict(), "input": identity}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()[:12]


def cache_path(cache_dir, dataset: str, key: str) -> Path:
    return Path(cache_dir) / f"{dataset}-{key}.h5"


# the run


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
) -> Path:
    """Read dataset ``name`` at ``root`` and write (or reuse) its cache; returns the cache path."""
    from .readers import read_dataset

    index = read_dataset(name, root, annotations, strict=strict)
    identity = input_identity(index, root=root, annotations=annotations, strict=strict)
    return build_cache_from_index(
        index, settings=settings, cache_dir=cache_dir, jobs=jobs, strict=strict, force=force,
        progress=progress, identity=identity,
    )  # fmt: skip


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
) -> Path:
    """Write (or reuse) the cache of an already read ``DatasetIndex``; returns its path."""
    start = time.perf_counter()
    identity = identity or input_identity(index, strict=strict)
    key = cache_key(settings, identity)
    final = cache_path(cache_dir, index.dataset, key)
    log = lambda msg: print(msg, file=sys.stderr, flush=True)  # noqa: E731
    if final.exists() and not force:
        try:
            meta = read_cache_meta(final)
            log(f"reusing {final} ({meta.n_clips} clips, settings unchanged)")
            return final
        except CacheError as err:
            log(f"rebuilding: {err}")
    if not index.clips:
        raise DatasetError(f"{index.dataset}: no clips to preprocess ({len(index.skipped)} skipped by the reader)")
    final.parent.mkdir(parents=True, exist_ok=True)
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
    writer = _Writer(final.with_name(final.stem + ".partial.h5"), index, parts, settings)
    if jobs == 1 or len(todo) <= 1:
        results = _run_serial(todo, settings, shard)
    else:
        from joblib import Parallel, delayed, parallel_config

        with parallel_config(backend="loky", inner_max_num_threads=1):
            results = Parallel(n_jobs=jobs, return_as="generator_unordered")(
                delayed(_work_in_worker)(row, record, settings, shard(row)) for row, record in todo
            )
    try:
        for row in set(range(len(index.clips))) - {row for row, _ in todo}:
            writer.resolve(row, True)  # reused shards, written while the workers start
        with _progress_bar(progress, len(todo), f"preprocess {index.dataset}") as advance:
            for row, error, clip_timings in results:
                for stage, dt in clip_timings.items():
                    timings[stage] += dt
                if error is not None:
                    key = index.clips[row].key
                    if strict:
                        raise DatasetError(f"{error} (clip {key}); stopped because of --strict")
                    skipped.append({"clip": key, "reason": error})
                writer.resolve(row, error is None)
                advance()
        for warning in index.warnings:
            log(f"  note: {warning}")
        for s in skipped:
            log(f"  skipped {s['clip']}: {s['reason']}")
        if writer.n == 0:
            raise DatasetError(f"{index.dataset}: no clip could be preprocessed ({len(skipped)} skipped, listed above)")
        writer.finish(
            final, settings=settings.to_dict(), classes=list(index.classes), dataset=index.dataset,
            mpt_version=__version__, settings_hash=key, input=identity, skipped=skipped,
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
    log(f"preprocess {index.dataset}: {writer.n} clips in the cache ({computed} computed, {reused} reused), "
        f"{len(skipped)} skipped")  # fmt: skip
    log(
        "stage seconds (summed over workers): "
        + ", ".join(f"{stage} {timings[stage]:.2f}" for stage in STAGES)
        + f"; wall {time.perf_counter() - start:.2f}"
    )
    return final


class _Writer:
    """Copies saved clips into ``<cache>.partial.h5`` in index order, while the workers run.

    The partial file is only ever derived from the shards: a rerun after a crash starts it
    afresh. ``finish`` marks it complete and renames it to the final name (atomically).
    """

    def __init__(self, tmp: Path, index: DatasetIndex, parts: Path, settings: PreprocessSettings):
        self.tmp, self.index, self.parts = tmp, index, parts
        motion_dtype = np.uint8 if settings.motion_output == "magnified" else np.float16
        self.f = create_cache(tmp, len(index.clips), frames=settings.frames, size=settings.size,
                              motion_dtype=motion_dtype, compression=COMPRESSION)  # fmt: skip
        self.resolved: dict[int, bool] = {}  # row -> shard saved (True) or clip skipped (False)
        self.next_row = self.n = 0
        self.seconds = 0.0

    def resolve(self, row: int, saved: bool) -> None:
        self.resolved[row] = saved
        while self.next_row in self.resolved:
            if self.resolved.pop(self.next_row):
                self._write(self.next_row)
            self.next_row += 1

    def _write(self, row: int) -> None:
        t0 = time.perf_counter()
        path = self.parts / f"{row:06d}.npy"
        saved = load_shard(path)
        if saved is None:
            raise CacheError(f"{path}: unreadable clip shard; delete it and run again")
        r = self.index.clips[row]
        write_row(
            self.f, self.n, rank=saved["rank"], motion=saved["motion"], label=r.label_index, subject=r.subject,
            clip=r.clip, onset=r.onset, apex=r.apex, offset=r.offset, n_frames=int(saved["n_frames"]),
        )  # fmt: skip
        self.n += 1
        self.seconds += time.perf_counter() - t0

    def finish(self, final: Path, **attrs) -> None:
        t0 = time.perf_counter()
        for name in self.f:
            self.f[name].resize(self.n, axis=0)  # skipped clips leave no rows
        finish_cache(self.f, **attrs)
        self.tmp.replace(final)  # atomic: the final name only ever holds a complete file
        self.seconds += time.perf_counter() - t0

    def discard(self) -> None:
        self.f.close()
        self.tmp.unlink(missing_ok=True)


def _cpu_count() -> int:
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


@contextmanager
def _progress_bar(enabled: bool, total: int, label: str):
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
