"""The HDF5 cache that preprocessing writes and the trainer reads (schema in COMMON/issue 3).

Datasets, one row per clip in the same order: ``rank`` uint8 (N, S, S, 3), ``motion`` uint8
(N, T, S, S, 3) (float16 for motion_output="band"), ``label`` int64, ``subject`` / ``clip``
str, ``onset`` / ``apex`` / ``offset`` / ``n_frames`` int64. Attributes: ``settings``,
``classes`` (JSON), ``dataset``, ``mpt_version``, ``settings_hash``, ``input`` (JSON),
``skipped`` (JSON) and ``complete``.

Chunks: one clip per chunk ((1, T, S, S, 3) and (1, S, S, 3)), so reading a clip is one
contiguous read. No compression: measured in bench/preprocess.py (figures in
bench/README.md), lzf saved nothing and gzip ~10 % on face frames, while gzip made every
clip read ~35x slower.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mpt_core.fileio import atomic_write

REQUIRED_DATASETS = ("rank", "motion", "label", "subject", "clip", "onset", "apex", "offset", "n_frames")
INT_FIELDS = ("label", "onset", "apex", "offset", "n_frames")
REQUIRED_ATTRS = ("settings", "classes", "dataset", "mpt_version", "complete")


class CacheError(ValueError):
    """A cache file that cannot be used; the message names the file and the reason."""


@dataclass(frozen=True)
class CacheMeta:
    path: Path
    dataset: str
    classes: tuple
    settings: dict
    settings_hash: str
    n_clips: int
    mpt_version: str


def read_cache_meta(path) -> CacheMeta:
    """Check that ``path`` is a complete cache and return what it describes."""
    import h5py

    path = Path(path)
    if not path.is_file():
        raise CacheError(f"{path}: cache file not found")
    if not h5py.is_hdf5(path):
        raise CacheError(f"{path}: not an HDF5 file")
    try:
        with h5py.File(path, "r") as f:
            missing = [name for name in REQUIRED_DATASETS if name not in f]
            if missing:
                raise CacheError(f"{path}: missing dataset(s) {missing}; not an mpt cache")
            absent = [name for name in REQUIRED_ATTRS if name not in f.attrs]
            if absent:
                raise CacheError(f"{path}: missing attribute(s) {absent}; not an mpt cache")
            if not bool(f.attrs["complete"]):
                raise CacheError(f"{path}: incomplete cache (attribute complete is not true); run mpt preprocess again")
            n = len(f["label"])
            uneven = [name for name in REQUIRED_DATASETS if len(f[name]) != n]
            if uneven:
                raise CacheError(f"{path}: dataset(s) {uneven} do not have {n} rows like label")
            return CacheMeta(
                path=path,
                dataset=str(f.attrs["dataset"]),
                classes=tuple(json.loads(f.attrs["classes"])),
                settings=json.loads(f.attrs["settings"]),
                settings_hash=str(f.attrs.get("settings_hash", "")),
                n_clips=n,
                mpt_version=str(f.attrs["mpt_version"]),
            )
    except OSError as err:
        raise CacheError(f"{path}: cannot read HDF5 file ({err})") from None


# writer helpers: shards are written by the worker that computed the clip, the HDF5 file
# only by the parent process


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
    for name in ("subject", "clip"):
        f.create_dataset(name, (n,), h5py.string_dtype(), maxshape=(None,))
    return f


def write_row(f, i: int, *, rank, motion, label, subject, clip, onset, apex, offset, n_frames) -> None:
    f["rank"][i] = rank
    f["motion"][i] = motion
    for name, value in (("label", label), ("onset", onset), ("apex", apex), ("offset", offset), ("n_frames", n_frames)):
        f[name][i] = value
    f["subject"][i] = subject
    f["clip"][i] = clip


def finish_cache(f, **attrs) -> None:
    """Set the attributes (dicts and lists as JSON), mark the file complete and close it."""
    for key, value in attrs.items():
        f.attrs[key] = json.dumps(value) if isinstance(value, (dict, list, tuple)) else value
    f.attrs["complete"] = True
    f.close()
