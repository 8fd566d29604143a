"""The HDF5 cache format: what preprocessing writes (``preprocess/writer.py``) and the trainer reads.

Datasets, one row per clip in the same order: ``rank`` uint8 (N, S, S, 3), ``motion`` uint8
(N, T, S, S, 3) (float16 for motion_output="band"), ``label`` int64, ``subject`` / ``clip`` /
``source`` (the corpus a clip comes from: differs from the cache's dataset only in composites such as
MEGC2019) / ``au`` (the annotated Action Unit string) / ``emotion`` (the annotated emotion text) /
``face`` (JSON of the face transform applied to the clip's whole frames, see below for cropped corpora) str,
``onset`` / ``apex`` / ``offset`` / ``n_frames`` int64. Attributes: ``settings``, ``classes``
(JSON), ``dataset``, ``mpt_version``, ``format``, ``cache_key`` (the 12 hex digits naming the file:
SHA-256 over the settings and the input identity), ``input`` (JSON), ``skipped`` (JSON),
``framing`` (JSON, optional: how the faces were framed, ``mpt_core.framing``; caches made before it
lack it and stay readable) and ``complete``. For a corpus that ships crops, a row's ``face`` holds
the framing measured on that clip's onset crop (``{"framing", "landmarks_from", "roll_deg"}``);
caches made before framings were recorded have "" there.

Chunks: one clip per chunk ((1, T, S, S, 3) and (1, S, S, 3)), so reading a clip is one
contiguous read. No compression: measured in bench/preprocess.py (figures in bench/README.md),
lzf saved nothing and gzip ~10 % on face frames, while gzip made every clip read ~35x slower.

This module is the one home of the format: dataset names, the schema, ``CacheMeta``, the
reader ``open_cache`` / ``read_cache_meta`` and ``CacheError``. A second kind of cache, the flow
cache of the baselines (``mpt_core/flow_cache.py``: onset-apex flow instead of rank and motion),
shares the clip table and this reader: ``kind="flow"``; each reader refuses the other kind.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mpt_core.names import DATASETS  # noqa: F401 (re-exported)

FORMAT = 2  # 2: adds source, au, emotion and the cache_key attribute
ARRAY_FIELDS = ("rank", "motion")
INT_FIELDS = ("label", "onset", "apex", "offset", "n_frames")
TEXT_FIELDS = ("subject", "clip", "source", "au", "emotion", "face")
REQUIRED_DATASETS = ARRAY_FIELDS + INT_FIELDS + TEXT_FIELDS
REQUIRED_ATTRS = ("settings", "classes", "dataset", "mpt_version", "complete", "format", "cache_key")
# the flow cache (mpt_core/flow_cache.py): its arrays (plus one flow_<S> per side) and per-clip apex fields
FLOW_FORMAT = 1
FLOW_ARRAY_FIELDS = ("frames",)
FLOW_INT_FIELDS = ("apex_index",)
FLOW_TEXT_FIELDS = ("apex_source",)
KINDS = ("clip", "flow")
_MAKE = {"clip": "mpt preprocess", "flow": "mpt preprocess --flow"}


class CacheError(ValueError):
    """A cache file that cannot be used; the message names the file and the reason."""


@dataclass(frozen=True)
class CacheMeta:
    path: Path
    dataset: str
    classes: tuple
    settings: dict
    cache_key: str
    n_clips: int
    mpt_version: str
    frames: int  # T
    size: int  # S
    input: dict
    framing: dict | None = None  # how the faces were framed (``mpt_core.framing``); None: a cache made before
    kind: str = "clip"  # or "flow" (mpt_core/flow_cache.py)
    sizes: tuple = ()  # flow caches: the sides S of the flow_<S> arrays


@dataclass(frozen=True)
class CacheIndex:
    """Everything per clip except the arrays, read in the same open as the metadata."""

    meta: CacheMeta
    labels: np.ndarray  # (N,) int64
    subjects: np.ndarray  # (N,) str
    clips: np.ndarray
    sources: np.ndarray
    au: np.ndarray
    emotion: np.ndarray
    face: np.ndarray
    onset: np.ndarray
    apex: np.ndarray
    offset: np.ndarray
    n_frames: np.ndarray
    apex_source: np.ndarray | None = None  # flow caches: "annotated" or "largest motion" per clip
    apex_index: np.ndarray | None = None  # flow caches: the apex as an index into onset..offset


def _text(s) -> str:
    return s.decode() if isinstance(s, bytes) else str(s)


def _required(kind: str) -> tuple:
    if kind == "flow":
        return FLOW_ARRAY_FIELDS + INT_FIELDS + FLOW_INT_FIELDS + TEXT_FIELDS + FLOW_TEXT_FIELDS
    return REQUIRED_DATASETS


def _check(f, path: Path, kind: str = "clip") -> CacheMeta:
    found = _text(f.attrs.get("kind", "clip"))
    if found != kind and found in KINDS:
        raise CacheError(f"{path}: a {found} cache, where a {kind} cache is needed (made by `{_MAKE[kind]}`)")
    required = _required(kind)
    missing = [name for name in required if name not in f]
    absent = [name for name in REQUIRED_ATTRS if name not in f.attrs]
    if "complete" in f.attrs and not bool(f.attrs["complete"]):
        raise CacheError(f"{path}: incomplete cache (attribute complete is not true); run mpt preprocess again")
    if missing or absent:
        old = "format" not in f.attrs and "rank" in f
        why = ("made by an older mpt (cache format 1); rebuild it with mpt preprocess" if old
               else "not an mpt cache")
        raise CacheError(f"{path}: missing dataset(s) {missing} / attribute(s) {absent}; {why}")
    expected = FLOW_FORMAT if kind == "flow" else FORMAT
    if int(f.attrs["format"]) != expected:
        raise CacheError(f"{path}: {kind} cache format {int(f.attrs['format'])}, this mpt reads format {expected}; "
                         f"rebuild it with {_MAKE[kind]}")
    sizes = tuple(sorted(int(name[5:]) for name in f if name.startswith("flow_"))) if kind == "flow" else ()
    if kind == "flow" and not sizes:
        raise CacheError(f"{path}: a flow cache without any flow_<S> dataset; rebuild it with {_MAKE[kind]}")
    n = len(f["label"])
    uneven = [name for name in required + tuple(f"flow_{s}" for s in sizes) if len(f[name]) != n]
    if uneven:
        raise CacheError(f"{path}: dataset(s) {uneven} do not have {n} rows like label")
    frames, size = ((int(f["frames"].shape[1]), max(sizes)) if kind == "flow"
                    else (int(f["motion"].shape[1]), int(f["rank"].shape[1])))
    return CacheMeta(
        path=path, dataset=str(f.attrs["dataset"]), classes=tuple(json.loads(f.attrs["classes"])),
        settings=json.loads(f.attrs["settings"]), cache_key=str(f.attrs["cache_key"]), n_clips=n,
        mpt_version=str(f.attrs["mpt_version"]), frames=frames, size=size,
        input=json.loads(f.attrs["input"]) if "input" in f.attrs else {}, kind=kind, sizes=sizes,
        framing=json.loads(f.attrs["framing"]) if "framing" in f.attrs else None,
    )  # fmt: skip


def cache_kind(path) -> str:
    """"clip" or "flow": which kind of cache ``path`` is (it is checked when it is opened)."""
    import h5py

    try:
        with h5py.File(path, "r") as f:
            return _text(f.attrs.get("kind", "clip"))
    except OSError as err:
        raise CacheError(f"{path}: cannot read HDF5 file ({err})") from None


def open_cache(path, kind: str = "clip"):
    """Open a complete cache of ``kind`` read-only (an ``h5py.File``; use it as a context manager)."""
    import h5py

    path = Path(path)
    if not path.is_file():
        raise CacheError(f"{path}: cache file not found")
    if not h5py.is_hdf5(path):
        raise CacheError(f"{path}: not an HDF5 file")
    try:
        f = h5py.File(path, "r")
    except OSError as err:
        raise CacheError(f"{path}: cannot read HDF5 file ({err})") from None
    try:
        _check(f, path, kind)
    except BaseException:
        f.close()
        raise
    return f


def cache_meta(f) -> CacheMeta:
    """The metadata of an open cache (``open_cache``)."""
    return _check(f, Path(f.filename), _text(f.attrs.get("kind", "clip")))


def read_cache_meta(path, kind: str = "clip") -> CacheMeta:
    """Check that ``path`` is a complete cache of ``kind`` and return what it describes."""
    try:
        with open_cache(path, kind) as f:
            return cache_meta(f)
    except OSError as err:
        raise CacheError(f"{path}: cannot read HDF5 file ({err})") from None


def cache_index(f) -> CacheIndex:
    """Metadata and every per-clip field of an open cache."""
    meta = cache_meta(f)
    flow = meta.kind == "flow"
    try:
        text = {name: np.array([_text(s) for s in f[name][:]])
                for name in TEXT_FIELDS + (FLOW_TEXT_FIELDS if flow else ())}
        ints = {name: f[name][:].astype(np.int64) for name in INT_FIELDS + (FLOW_INT_FIELDS if flow else ())}
    except OSError as err:
        raise CacheError(f"{meta.path}: cannot read the clip table ({err})") from None
    return CacheIndex(meta=meta, labels=ints["label"], subjects=text["subject"], clips=text["clip"],
                      sources=text["source"], au=text["au"], emotion=text["emotion"], face=text["face"], onset=ints["onset"],
                      apex=ints["apex"], offset=ints["offset"], n_frames=ints["n_frames"],
                      apex_source=text.get("apex_source"), apex_index=ints.get("apex_index"))


def read_cache_index(path, kind: str = "clip") -> CacheIndex:
    with open_cache(path, kind) as f:
        return cache_index(f)
