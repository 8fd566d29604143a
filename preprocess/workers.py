"""Per-clip work of the dataset pipeline (runs in the worker processes).

``process_clip`` loads a clip's frames from disk (and, for corpora whose frames are whole video
frames, aligns the face: one transform found on the onset frame, applied to every frame, or with
tracking each frame's own stabilising transform: ``face.align.align_clip``), then
calls the in-memory kernel ``mpt_core.clip.clip_arrays``. Each worker saves its clips as its own
shard files, one thread per worker; only the parent writes the HDF5 file.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from mpt_core.clip import PreprocessSettings, clip_arrays

from .face.align import as_options
from .frames import load_frames
from .records import ClipRecord, DatasetError
from .writer import save_shard, source_of


def process_clip(record: ClipRecord, settings: PreprocessSettings, timings: dict | None = None, *,
                 face="none") -> dict:
    """``rank`` (S, S, 3) uint8, ``motion`` (T, S, S, 3) uint8 or float16, ``n_frames`` (+ ``face``:
    the transform as JSON when the face is aligned). ``face``: a ``FaceOptions`` or a method name.

    Raises DatasetError (FrameError for a bad frame) naming the clip or file.
    """
    t = {} if timings is None else timings
    frames, extra = clip_frames(record, settings.size, t, face)
    return {**clip_arrays(frames, record.fps, settings, t), **extra}


def process_flow_clip(record: ClipRecord, settings, timings: dict | None = None, *, face="none") -> dict:
    """The flow cache's arrays of one clip (``mpt_core.apex_flow.clip_flow_arrays``; ``settings``: a
    ``FlowSettings``), its face aligned exactly as in the clip cache."""
    from mpt_core.apex_flow import clip_flow_arrays

    t = {} if timings is None else timings
    frames, extra = clip_frames(record, settings.size, t, face)
    t0 = time.perf_counter()
    arrays = clip_flow_arrays(frames, onset=record.onset, apex=record.apex, settings=settings)
    t["flow"] = t.get("flow", 0.0) + time.perf_counter() - t0
    return {**arrays, **extra}


def clip_frames(record: ClipRecord, size: int, t: dict, face="none") -> tuple:
    """The clip's frames onset..offset (N, size, size, 3) uint8, face-aligned where ``face`` says so, and
    the extra fields to save (``face``: the transform as JSON)."""
    if len(record.frames) < 2:
        raise DatasetError(
            f"clip {record.key}: {len(record.frames)} frame(s) from onset {record.onset} to offset "
            f"{record.offset}; at least 2 are needed"
        )
    extra = {}
    options = as_options(face)
    if options.method != "none":
        from .face import FaceError
        from .face.align import align_clip

        frames = load_frames(record.frames, None, t)  # (N, H, W, 3) uint8, whole frames
        t0 = time.perf_counter()
        try:
            aligned = align_clip(frames, options, size=size, fps=record.fps, check=False,
                                 where=f"clip {record.key}: onset frame {record.frames[0]}")
        except FaceError as err:
            raise DatasetError(str(err)) from None
        frames = aligned.crops  # (N, S, S, 3): one transform for the clip, or each frame's own (tracked)
        entry = aligned.transform.to_dict() if aligned.track is None else aligned.summary()
        extra["face"] = json.dumps(entry, sort_keys=True)
        t["face"] = t.get("face", 0.0) + time.perf_counter() - t0
    else:
        frames = load_frames(record.frames, size, t)  # (N, S, S, 3) uint8
        extra["face"] = json.dumps(measure_onset(record, t), sort_keys=True)
    return frames, extra


def measure_onset(record: ClipRecord, timings: dict) -> dict:
    """The framing of a cropped clip, measured on its onset frame at its own size (the face JSON of
    a corpus that ships crops: ``preprocess.face.framing.CropFit.to_dict``)."""
    from .face.framing import fit_crop

    onset = load_frames(record.frames[:1], None, timings)[0]  # (H, W, 3) uint8, the crop as shipped
    t0 = time.perf_counter()
    entry = fit_crop(onset).to_dict()
    timings["face"] = timings.get("face", 0.0) + time.perf_counter() - t0
    return entry


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


def face_mode(face, record: ClipRecord):
    """One face setting (a ``FaceOptions`` or a method name) for every clip, or a dict of them per source
    corpus (composites mix cropped and whole-frame parts)."""
    return face[source_of(record)] if isinstance(face, dict) else face


def work(record: ClipRecord, settings: PreprocessSettings, shard: Path, face) -> tuple[str | None, dict]:
    """Process one clip and save it as ``shard``; returns (error or None, stage seconds)."""
    timings: dict = {}
    compute = process_clip if isinstance(settings, PreprocessSettings) else process_flow_clip
    try:
        result = compute(record, settings, timings, face=face_mode(face, record))
    except DatasetError as err:
        return str(err), timings
    t0 = time.perf_counter()
    save_shard(shard, key=record.key, **result)
    timings["write"] = time.perf_counter() - t0
    return None, timings


def work_in_worker(row: int, record: ClipRecord, settings: PreprocessSettings, shard: Path, face):
    _one_thread()
    return (row, *work(record, settings, shard, face))


def run_serial(tasks, settings, shard, face):
    import cv2
    from threadpoolctl import threadpool_limits

    before = cv2.getNumThreads()
    cv2.setNumThreads(1)
    try:
        with threadpool_limits(1):
            for row, record in tasks:
                yield (row, *work(record, settings, shard(row), face))
    finally:
        cv2.setNumThreads(before)


def run_parallel(tasks, settings, shard, face, jobs: int):
    from joblib import Parallel, delayed, parallel_config

    with parallel_config(backend="loky", inner_max_num_threads=1):
        return Parallel(n_jobs=jobs, return_as="generator_unordered")(
            delayed(work_in_worker)(row, record, settings, shard(row), face) for row, record in tasks
        )
