"""File helpers shared by the cache, checkpoint, run and synthetic-data writers."""

from __future__ import annotations

import contextlib
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
    try:
        write(tmp)
        if path.is_dir() and not tmp.is_dir():  # os.replace's own error would be "[Errno 21] Is a directory"
            raise IsADirectoryError(f"{path}: is a folder; the file cannot be written there")
        os.replace(tmp, path)
    except BaseException:
        # a failed write (a full disk, a folder in the way) leaves nothing behind; a kill (SIGKILL)
        # still can, which is why readers never trust a *.tmp-PID
        if tmp.is_dir() and not tmp.is_symlink():
            import shutil

            shutil.rmtree(tmp, ignore_errors=True)
        else:
            with contextlib.suppress(OSError):
                tmp.unlink()
        raise


def read_json(path: str | Path):
    """The JSON in ``path``; a damaged file (truncated, edited) is a ValueError naming the file."""
    import json

    path = Path(path)
    text = path.read_text(encoding="utf-8")
    try:
        return json.loads(text)
    except ValueError as err:
        where = f" (line {err.lineno}, column {err.colno})" if hasattr(err, "lineno") else ""
        raise ValueError(f"{path}: not valid JSON{where}: {getattr(err, 'msg', err)}; the file is truncated or "
                         "damaged") from None


# inter-process locks

_LOCKS: dict = {}  # one FileLock object per path in a process (filelock's advice)


class ProcessLock:
    """An inter-process lock on ``path`` (filelock's OS lock: released by the kernel when the holding
    process dies, so a lock left by a killed process never blocks). The holder's pid and command
    line go to ``<path>.owner`` so that a refused process can say who holds it."""

    def __init__(self, path: str | Path):
        import filelock

        self.path = Path(path)
        key = str(self.path.resolve())
        if key not in _LOCKS:
            _LOCKS[key] = filelock.FileLock(key)
        self._lock = _LOCKS[key]
        self._held = False

    def try_acquire(self) -> bool:
        import filelock

        try:
            self._lock.acquire(timeout=0)
        except filelock.Timeout:
            return False
        self._held = True
        self._write_owner()
        return True

    def acquire_or_wait(self) -> bool:
        """Take the lock, waiting for it if needed; returns False if it had to wait."""
        if self.try_acquire():
            return True
        self._lock.acquire()
        self._held = True
        self._write_owner()
        return False

    def owner(self) -> str:
        try:
            return self.path.with_name(self.path.name + ".owner").read_text().strip()
        except OSError:
            return "another process"

    def _write_owner(self) -> None:
        import sys

        text = f"process {os.getpid()} ({' '.join(sys.argv)[:200]})\n"
        atomic_write(self.path.with_name(self.path.name + ".owner"), lambda p: p.write_text(text))

    def release(self) -> None:
        if self._held:
            self._held = False
            # the owner note goes first, while the lock is still held: no new holder's note is removed
            with contextlib.suppress(OSError):
                self.path.with_name(self.path.name + ".owner").unlink()
            self._lock.release()

    def __enter__(self) -> "ProcessLock":
        return self

    def __exit__(self, *exc) -> None:
        self.release()


def process_lock(path: str | Path) -> ProcessLock:
    """``with process_lock(p) as lock: lock.try_acquire() / lock.acquire_or_wait()``; released on exit."""
    return ProcessLock(path)
