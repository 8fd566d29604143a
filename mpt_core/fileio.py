"""File helpers shared by the cache, checkpoint, run and synthetic-data writers."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Callable


def file_sha256(path: str | Path) -> str:
    """Hex SHA-256 of a file's bytes, read in blocks (weights files can be GBs)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 22), b""):
            h.update(block)
    return h.hexdigest()


def atomic_write(path: str | Path, write: Callable[[Path], object]) -> None:
    """Call ``write(tmp_path)``, then rename over ``path``: a kill leaves either the old file or
    the complete new one under ``path`` (at most a stray ``*.tmp-PID`` beside it), never a torn one."""
    path = Path(path)
    tmp = path.with_name(f"{path.name}.tmp-{os.getpid()}")
    write(tmp)
    os.replace(tmp, path)
