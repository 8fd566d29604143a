"""Writing a cache (format in ``mpt_core/cache.py``): clip shards from the workers, one HDF5 file
from the parent.

Crash safety: every finished clip is saved atomically (write, then rename) as
``<cache>.parts/NNNNNN.npy`` by the worker that computed it. While the workers run, the parent
copies the saved clips in index order into ``<cache>.partial.h5`` (``CacheWriter``); when every
clip is done it sets ``complete`` and renames that file to the final name. A SIGKILL at any moment
therefore leaves either the complete final file or nothing under that name; a rerun reuses every
saved clip and rebuilds the partial file from the shards.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from mpt_core.cache import FLOW_FORMAT, FORMAT, INT_FIELDS, TEXT_FIELDS, CacheError
from mpt_core.fileio import atomic_write

from .records import ClipRecord, DatasetIndex

# No HDF5 compression: on 224x224 face frames lzf saved 0 % and gzip-1 ~10 % of the space,
# while gzip made each clip read ~35x slower (bench/preprocess.py, figures in bench/README.md).
COMPRESSION = None


# shards: written by the worker that computed the clip


def save_shard(path: Path, **fields) -> None:
    """Write one finished clip as a single-record .npy (no pickle, no zip CRC), atomically: a
    SIGKILL leaves either no shard or a complete one (a stray ``*.tmp-PID`` file at most)."""
    values = {k: np.asarray(v) for k, v in fields.items()}
    record = np.empty((), np.dtype([(k, v.dtype, v.shape) for k, v in values.items()]))
    for k, v in values.items():
        record[k] = v

    def write(tmp: Path) -> None:
        with open(tmp, "wb") as fh:  # a file object: np.save would append ".npy" to a name
            np.save(fh, record, allow_pickle=False)

    atomic_write(path, write)


def load_shard(path: Path, keys=None) -> dict | None:
    """The fields (or only ``keys``) of a shard, or None if it is missing or unreadable."""
    try:
        record = np.load(path, mmap_mode="r", allow_pickle=False)
        return {k: np.array(record[k]) for k in (record.dtype.names if keys is None else keys)}
    except (OSError, ValueError, EOFError, KeyError, TypeError):
        return None


# the HDF5 file: written by the parent only


def create_cache(path: Path, n: int, *, frames: int, size: int, motion_dtype, compression: str | None = None):
    """Open a new HDF5 file at ``path`` with every dataset sized for ``n`` clips (n >= 1),
    resizable along the clip axis (``Dataset.resize(m, axis=0)`` drops unused rows)."""
    import h5py

    f = h5py.File(path, "w")
    opts = {"compression": compression} if compression else {}
    for name, shape, dtype in (("rank", (size, size, 3), np.uint8), ("motion", (frames, size, size, 3), motion_dtype)):
        f.create_dataset(name, (n,) + shape, dtype, chunks=(1,) + shape, maxshape=(None,) + shape, **opts)
    for name in INT_FIELDS:
        f.create_dataset(name, (n,), np.int64, maxshape=(None,))
    for name in TEXT_FIELDS:
        f.create_dataset(name, (n,), h5py.string_dtype(), maxshape=(None,))
    return f


def source_of(record: ClipRecord) -> str:
    """The corpus a clip comes from: composites prefix their subjects with it (``casme2/sub01``)."""
    return record.subject.split("/", 1)[0] if "/" in record.subject else record.dataset


def write_row(f, i: int, *, rank, motion, record: ClipRecord, n_frames: int, face: str = "") -> None:
    f["rank"][i] = rank
    f["motion"][i] = motion
    write_table_row(f, i, record=record, n_frames=n_frames, face=face)


def write_table_row(f, i: int, *, record: ClipRecord, n_frames: int, face: str = "") -> None:
    """The clip table's row (every kind of cache has it)."""
    ints = {"label": record.label_index, "onset": record.onset, "apex": record.apex, "offset": record.offset,
            "n_frames": n_frames}
    for name, value in ints.items():
        f[name][i] = value
    text = {"subject": record.subject, "clip": record.clip, "source": source_of(record), "au": record.au,
            "emotion": record.emotion, "face": face}
    for name, value in text.items():
        f[name][i] = value


def finish_cache(f, **attrs) -> None:
    """Set the attributes (dicts and lists as JSON), mark the file complete and close it."""
    for key, value in {"format": FORMAT, **attrs}.items():
        f.attrs[key] = json.dumps(value) if isinstance(value, (dict, list, tuple)) else value
    f.attrs["complete"] = True
    f.close()


def create_flow_cache(path: Path, n: int, *, sizes, frames: int, frames_size: int):
    """A new flow cache (``mpt_core/flow_cache.py``) at ``path`` sized for ``n`` clips (n >= 1)."""
    import h5py

    from mpt_core.apex_flow import CHANNELS
    from mpt_core.cache import FLOW_INT_FIELDS, FLOW_TEXT_FIELDS

    f = h5py.File(path, "w")
    arrays = [(f"flow_{s}", (len(CHANNELS), s, s), np.float32) for s in sizes]
    for name, shape, dtype in arrays + [("frames", (frames, frames_size, frames_size), np.uint8)]:
        f.create_dataset(name, (n,) + shape, dtype, chunks=(1,) + shape, maxshape=(None,) + shape)
    for name in INT_FIELDS + FLOW_INT_FIELDS:
        f.create_dataset(name, (n,), np.int64, maxshape=(None,))
    for name in TEXT_FIELDS + FLOW_TEXT_FIELDS:
        f.create_dataset(name, (n,), h5py.string_dtype(), maxshape=(None,))
    return f


class ClipLayout:
    """What a clip cache's rows hold (rank, motion): creates the file and writes a saved clip."""

    kind = "clip"
    attrs: dict = {}  # beyond the clip cache's own

    def __init__(self, *, frames: int, size: int, motion_dtype):
        self.frames, self.size, self.motion_dtype = frames, size, motion_dtype

    def create(self, path: Path, n: int):
        return create_cache(path, n, frames=self.frames, size=self.size, motion_dtype=self.motion_dtype,
                            compression=COMPRESSION)

    def write(self, f, i: int, saved: dict, record: ClipRecord) -> None:
        write_row(f, i, rank=saved["rank"], motion=saved["motion"], record=record, n_frames=int(saved["n_frames"]),
                  face=str(saved.get("face", "")))


class FlowLayout:
    """What a flow cache's rows hold (flow_<S>, frames, apex_index, apex_source)."""

    kind = "flow"
    attrs = {"kind": "flow", "format": FLOW_FORMAT}

    def __init__(self, settings):
        self.settings = settings

    def create(self, path: Path, n: int):
        s = self.settings
        return create_flow_cache(path, n, sizes=s.sizes, frames=s.frames, frames_size=s.frames_size)

    def write(self, f, i: int, saved: dict, record: ClipRecord) -> None:
        for side in self.settings.sizes:
            f[f"flow_{side}"][i] = saved[f"flow_{side}"]
        f["frames"][i] = saved["frames"]
        f["apex_index"][i] = int(saved["apex_index"])
        f["apex_source"][i] = str(saved["apex_source"])
        write_table_row(f, i, record=record, n_frames=int(saved["n_frames"]), face=str(saved.get("face", "")))


class CacheWriter:
    """Copies saved clips into ``<cache>.partial.h5`` in index order, while the workers run.

    The partial file is only ever derived from the shards: a rerun after a crash starts it
    afresh. ``finish`` marks it complete and renames it to the final name (atomically).
    """

    def __init__(self, tmp: Path, index: DatasetIndex, parts: Path, layout):
        self.tmp, self.index, self.parts, self.layout = tmp, index, parts, layout
        self.f = layout.create(tmp, len(index.clips))
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
        self.layout.write(self.f, self.n, saved, self.index.clips[row])
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
