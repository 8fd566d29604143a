"""A tiny fabricated cache in the exact schema preprocess writes (COMMON.md), for the train tests.

Spatial size is 32 instead of 224 (the model resizes / takes img_size=32); everything else --
dataset names, dtypes, attributes -- follows the schema. Imported by the other test_train_* files.
"""

import hashlib
import json
from pathlib import Path

import h5py
import numpy as np

CLASSES = ["happiness", "surprise", "disgust", "repression", "others"]


def write_cache(directory, *, subjects=("sub01", "sub02", "sub03"), per_subject=4, frames=16, size=32,
                complete=True, seed=0, classes=CLASSES, settings=None) -> Path:
    """Write a cache with ``per_subject`` clips per subject; labels cycle over the classes.

    Each class gets a bright square at its own position in the rank image and in the motion frames,
    so the task is learnable in a few steps.
    """
    rng = np.random.default_rng(seed)
    settings = settings or {"frames": frames, "size": size, "alpha": 20.0, "fabricated": True}
    digest = hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:12]
    path = Path(directory) / f"casme2-{digest}.h5"
    n = len(subjects) * per_subject
    labels = np.arange(n) % len(classes)
    rank = rng.integers(0, 60, (n, size, size, 3), dtype=np.uint8)
    motion = rng.integers(0, 60, (n, frames, size, size, 3), dtype=np.uint8)
    for i, c in enumerate(labels):
        y, x = divmod(int(c), 3)
        rank[i, 4 + 8 * y:10 + 8 * y, 4 + 8 * x:10 + 8 * x] = 250
        motion[i, :, 4 + 8 * y:10 + 8 * y, 4 + 8 * x:10 + 8 * x] = 250
    str_dt = h5py.string_dtype()
    with h5py.File(path, "w") as f:
        f.create_dataset("rank", data=rank)
        f.create_dataset("motion", data=motion)
        f.create_dataset("label", data=labels.astype(np.int64))
        f.create_dataset("subject", data=np.array([s for s in subjects for _ in range(per_subject)], dtype=object), dtype=str_dt)
        f.create_dataset("clip", data=np.array([f"EP{i:02d}_01" for i in range(n)], dtype=object), dtype=str_dt)
        for name in ("onset", "apex", "offset", "n_frames"):
            f.create_dataset(name, data=np.full(n, 20 if name != "apex" else -1, dtype=np.int64))
        for name in ("source", "au", "emotion", "face"):
            f.create_dataset(name, data=np.array(["casme2" if name == "source" else ""] * n, dtype=object), dtype=str_dt)
        f.attrs["settings"] = json.dumps(settings)
        f.attrs["classes"] = json.dumps(list(classes))
        f.attrs["dataset"] = "casme2"
        f.attrs["mpt_version"] = "0.1.0"
        f.attrs["cache_key"] = digest
        f.attrs["format"] = 2
        f.attrs["complete"] = bool(complete)
    return path


def test_fabricated_cache_follows_the_schema(tmp_path):
    path = write_cache(tmp_path)
    with h5py.File(path, "r") as f:
        assert f["rank"].dtype == np.uint8 and f["rank"].shape == (12, 32, 32, 3)
        assert f["motion"].dtype == np.uint8 and f["motion"].shape == (12, 16, 32, 32, 3)
        assert f["label"].dtype == np.int64
        assert json.loads(f.attrs["classes"]) == CLASSES
    from mpt_core.cache import read_cache_meta

    meta = read_cache_meta(path)
    assert meta.n_clips == 12 and tuple(meta.classes) == tuple(CLASSES)
