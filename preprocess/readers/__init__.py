"""Dataset readers: one module per corpus, each returning a ``DatasetIndex`` of clip records.

``read_dataset(name, root, annotations=None, *, strict=False, classes=None)`` dispatches on ``name``.
Non-strict, a clip with a problem (missing folder or frame, onset > offset, unknown label, duplicate)
is skipped and listed in ``DatasetIndex.skipped``; strict, the first problem raises ``DatasetError``.
An unreadable or malformed annotation file is always a ``DatasetError``. ``classes`` picks the
classes (their order gives the label index); the default is each dataset's standard selection.
CAS(ME)^3 also takes named class presets (``casme3-7``, ``casme3-4``, ``casme3-3``) that merge emotions.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from ..records import DatasetError, DatasetIndex
from .casme2 import read_casme2
from .casme3 import read_casme3
from .megc2019 import read_megc2019
from .samm import read_samm
from .smic import read_smic

READERS = {
    "casme2": read_casme2, "samm": read_samm, "smic": read_smic, "megc2019": read_megc2019, "casme3": read_casme3,
}
DATASETS = tuple(READERS)


def read_dataset(
    name: str,
    root: str | Path,
    annotations: str | Path | None = None,
    *,
    strict: bool = False,
    classes: Sequence[str] | None = None,
    max_seconds: float | None = None,
) -> DatasetIndex:
    if name not in READERS:
        raise DatasetError(f"unknown dataset {name!r}: choose one of {', '.join(DATASETS)}")
    ann = Path(annotations) if annotations is not None else None
    extra = {}
    if max_seconds is not None:
        if name != "casme3":
            raise DatasetError(f"max_seconds applies to casme3 only (its onset-to-offset span check), not {name}")
        extra["max_seconds"] = max_seconds
    return READERS[name](Path(root), ann, strict=strict, classes=classes, **extra)


__all__ = ["DATASETS", "read_dataset", "read_casme2", "read_samm", "read_smic", "read_megc2019", "read_casme3"]
