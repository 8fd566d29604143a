"""A cache's identity and name.

Cache name: ``<dataset>-<key>.h5`` where key is 12 hex of the SHA-256 over the cache format, the
preprocessing settings and the input identity: dataset name, resolved root, annotation file path
and the SHA-256 of its bytes, the strict flag, the class list, the face-alignment mode of a whole-frame
corpus (with its framing when that is not mpt's canonical one: a changed framing is a new cache) and a hash of
every clip record (subject, clip, label, onset/apex/offset, fps, frame paths, AU, emotion), which
covers class selection and skipped clips. Frame *contents* are not hashed (that would mean reading
the whole dataset on every run): after editing images in place use --force.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from mpt_core.cache import FLOW_FORMAT, FORMAT
from mpt_core.clip import PreprocessSettings
from mpt_core.fileio import file_sha256

from .records import DatasetIndex


def input_identity(index: DatasetIndex, *, root=None, annotations=None, strict: bool = False,
                   face: str | dict | None = None) -> dict:
    """What the input is, for the cache key (see the module docstring)."""
    clips = [
        [c.subject, c.clip, c.label, c.label_index, c.onset, c.apex, c.offset, c.fps, [str(p) for p in c.frames],
         c.au, c.emotion]
        for c in index.clips
    ]
    identity = {
        "dataset": index.dataset,
        "root": str(Path(root).resolve()) if root is not None else None,
        "annotations": None
        if annotations is None
        else {"path": str(Path(annotations).resolve()), "sha256": file_sha256(annotations)},
        "strict": bool(strict),
        "classes": list(index.classes),
        "clips_sha256": hashlib.sha256(json.dumps(clips).encode()).hexdigest(),
    }
    if face is not None:  # only whole-frame corpora are aligned; cropped ones keep their old keys
        identity["face"] = face
    return identity


def cache_key(settings, identity: dict) -> str:
    """``settings``: a ``PreprocessSettings`` (the clip cache) or a ``FlowSettings`` (the flow cache,
    whose key also holds its kind and format, so the two never share a key)."""
    head = ({"format": FORMAT} if isinstance(settings, PreprocessSettings)
            else {"kind": "flow", "format": FLOW_FORMAT})
    blob = json.dumps({**head, "settings": settings.to_dict(), "input": identity}, sort_keys=True,
                      separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()[:12]


def cache_path(cache_dir, dataset: str, key: str) -> Path:
    return Path(cache_dir) / f"{dataset}-{key}.h5"
