"""Dataset readers: one module per corpus, each returning a ``DatasetIndex`` of clip records.

``read_dataset(name, root, annotations=None, *, strict=False, classes=None)`` dispatches on ``name``.
Non-strict, a clip with a problem (missing folder or frame, onset > offset, unknown label, duplicate)
is skipped and listed in ``DatasetIndex.skipped``; strict, the first problem raises ``DatasetError``.
An unreadable or malformed annotation file is always a ``DatasetError``. ``classes`` picks the
classes (their order gives the label index); the default is each dataset's standard selection.
CAS(ME)^3 also takes named class presets (``casme3-7``, ``casme3-4``, ``casme3-3``) that merge emotions.

The long-video corpora ``cas2`` (CAS(ME)^2) and ``samm-lv`` (SAMM Long Videos) have two views:
``read_long_videos`` gives their videos and annotated intervals (spotting); ``read_dataset`` gives
their micro-expressions as whole-frame clips (recognition; presets ``cas2-4``/``cas2-3``,
``samm-lv-5``/``samm-lv-3``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from ..records import DatasetError, DatasetIndex
from .cas2 import read_cas2, read_cas2_videos
from .casme2 import read_casme2
from .casme3 import read_casme3
from .casme3_lv import read_casme3_videos
from .megc2019 import read_megc2019
from .longvideo import Interval, LongVideo, LongVideoIndex
from .samm import read_samm
from .samm_lv import read_samm_lv, read_samm_lv_videos
from .smic import read_smic

READERS = {
    "casme2": read_casme2, "samm": read_samm, "smic": read_smic, "megc2019": read_megc2019, "casme3": read_casme3,
    "cas2": read_cas2, "samm-lv": read_samm_lv,  # the long videos' micro-expressions, as clips
}
DATASETS = tuple(READERS)
LONG_VIDEO_READERS = {"cas2": read_cas2_videos, "samm-lv": read_samm_lv_videos,
                      "casme3-lv": read_casme3_videos}  # CAS(ME)^3 Part A recordings: spotting only


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


def read_long_videos(name: str, root: str | Path | None, annotations: str | Path | None = None, *,
                     strict: bool = False) -> LongVideoIndex:
    """A long-video corpus (cas2, samm-lv): its videos with their annotated intervals. ``root`` None
    reads the annotation table alone (what evaluating predictions needs)."""
    if name not in LONG_VIDEO_READERS:
        raise DatasetError(f"{name!r} is not a long-video corpus: choose one of {', '.join(LONG_VIDEO_READERS)}")
    return LONG_VIDEO_READERS[name](Path(root) if root is not None else None,
                                    Path(annotations) if annotations is not None else None, strict=strict)


__all__ = ["read_long_videos", "Interval", "LongVideo", "LongVideoIndex", "DATASETS", "read_dataset", "read_casme2", "read_samm", "read_smic", "read_megc2019", "read_casme3"]
