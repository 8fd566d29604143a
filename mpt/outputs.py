"""Where a command writes: the checks every command makes on its output paths before any work, and
the lock and kind marker of the output folders that two processes could share.

Rules (``docs/guide/errors.md``), checked before the first frame is read so that a bad path costs
nothing and is named with its option:

- an output file is not a folder, ends in a suffix the command writes, is not one of the command's
  inputs (``mpt magnify X.mp4 -o X.mp4``) and does not lie inside a dataset root being read
  (``mpt spot DIR --csv DIR/img1.jpg``); the first folder on its path that exists is a folder
  (not a file) and is writable;
- an output folder is not a file, is not an input or a dataset root being read, does not lie inside
  one, and is not a corpus (frame images or annotation tables directly in it);
- an output folder of ``mpt instruct``, ``mpt str`` and ``mpt sweep`` carries a marker of its kind
  (``.mpt-output``): a folder of another kind (or a training run, which has its ``config.json``) is
  refused; a second process writing the same folder (or, for ``mpt spot --dataset``, the same
  output files) is refused at once with one line naming the process that holds it.

Refuse, not wait: a second process with the same output would redo or undo the first one's work
(two instruction sets with different splits in one folder); ``mpt train`` and ``mpt sweep`` refused
already. Only ``mpt preprocess`` waits, since two identical builds of one cache give one cache.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import Iterable, Iterator, Sequence

from mpt_core.fileio import atomic_write, process_lock

MARKER = ".mpt-output"  # {"kind": "instruct"}: what wrote this folder
LOCK = ".lock"  # inside a claimed folder (as a run folder's)
# a folder without a marker is recognised by what its kind writes (folders from before the marker)
SIGNATURES = {"train": "config.json", "instruct": "instruct.json", "str": "str.json", "sweep": "caches.json"}
KIND_NAMES = {"train": "a training run (mpt train)", "instruct": "an instruction set (mpt instruct)",
              "str": "an mpt str result", "sweep": "a sweep (mpt sweep)"}
CORPUS_FILES = {".xlsx", ".xls"}  # annotation tables
# frame images: what the corpora and the users' frame folders hold
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".ppm", ".pgm", ".jp2"}


class OutputError(ValueError):
    """An output path a command cannot or must not write; the message names the option and why."""


# helpers


def _inside(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
        return True
    except ValueError:
        return False


def _same(a: Path, b: Path) -> bool:
    if a.resolve() == b.resolve():
        return True
    try:
        return a.exists() and b.exists() and os.path.samefile(a, b)  # hard links
    except OSError:
        return False


def _writable_parent(path: Path, option: str) -> None:
    """The first folder that exists on the way to ``path`` is a folder and accepts a new file."""
    parent = path.parent
    while not parent.exists() and not parent.is_symlink() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise OutputError(f"{option} {path}: {parent} is a file, not a folder; choose another path")
    try:  # a real probe: os.access says yes to root, and to read-only mounts
        fd, probe = tempfile.mkstemp(prefix=".mpt-probe-", dir=parent)
    except OSError as err:
        raise OutputError(f"{option} {path}: cannot write in {parent} ({err.strerror or err}); choose a writable "
                          f"folder") from None
    os.close(fd)
    os.unlink(probe)


def _not_reading(path: Path, option: str, inputs: Iterable, roots: Iterable) -> None:
    inputs = list(inputs)  # read twice below
    for inp in inputs:
        if inp is not None and _same(path, Path(inp)):
            raise OutputError(f"{option} {path}: is one of the command's inputs; writing it would destroy it: "
                              "choose another path")
    for root in roots:
        if root is not None and (_same(path, Path(root)) or _inside(path, Path(root))):
            raise OutputError(f"{option} {path}: inside the dataset root {root} being read; write outside it")
    for inp in inputs:
        if inp is not None and Path(inp).is_dir() and _inside(path, Path(inp)):
            raise OutputError(f"{option} {path}: inside the input folder {inp}; write outside it")


# output files


def check_output_file(path, option: str, *, suffixes: Sequence[str] | None = None, inputs: Iterable = (),
                      roots: Iterable = ()) -> Path:
    """``path`` if a command may write it (see the module's rules), else OutputError naming ``option``."""
    path = Path(path)
    _not_reading(path, option, inputs, roots)  # first: the reason that matters most
    if path.is_dir():
        raise OutputError(f"{option} {path}: is a folder; give a file name")
    if suffixes is not None and path.suffix.lower() not in suffixes:
        raise OutputError(f"{option} {path}: must end in {', '.join(suffixes)}")
    _writable_parent(path, option)
    if path.exists() and not os.access(path, os.W_OK):
        raise OutputError(f"{option} {path}: the file is read-only")
    return path


def check_output_files(outputs: dict, *, inputs: Iterable = (), roots: Iterable = ()) -> None:
    """``check_output_file`` for each {option: (path or None, suffixes)}; two options naming one file
    are refused too."""
    inputs, roots = list(inputs), list(roots)
    seen: dict = {}
    for option, (path, suffixes) in outputs.items():
        if path is None:
            continue
        check_output_file(path, option, suffixes=suffixes, inputs=inputs, roots=roots)
        key = Path(path).resolve()
        if key in seen:
            raise OutputError(f"{option} {path}: also given to {seen[key]}; give each output its own file")
        seen[key] = option


@contextlib.contextmanager
def locked_files(paths: dict) -> Iterator[None]:
    """Hold a lock per output file ({option: path or None}; the lock is ``.NAME.lock`` beside it)
    while the block runs; a file another process is writing is an OutputError at once."""
    held = []
    try:
        for option, path in sorted((o, Path(p)) for o, p in paths.items() if p is not None):
            path.parent.mkdir(parents=True, exist_ok=True)
            lock = process_lock(path.with_name(f".{path.name}.lock"))
            if not lock.try_acquire():
                raise OutputError(f"{option} {path}: being written by {lock.owner()}; wait for it to finish or "
                                  f"choose another {option}")
            held.append(lock)
        yield
    finally:
        for lock in held:
            lock.release()


# output folders


def check_plain_folder(path, option: str, *, inputs: Iterable = (), roots: Iterable = ()) -> Path:
    """A folder a command adds its own files to (``--save-crops``): not a file, not an input or a
    dataset root nor inside one, writable."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise OutputError(f"{option} {path}: is a file, not a folder")
    _not_reading(path, option, list(inputs), list(roots))
    _writable_parent(path / MARKER if path.is_dir() else path, option)
    return path


def folder_kind(path: Path) -> str | None:
    """What wrote ``path``: its marker's kind, else the kind whose signature file it holds; None if neither."""
    marker = path / MARKER
    if marker.is_file():
        try:
            return str(json.loads(marker.read_text())["kind"])
        except (OSError, ValueError, KeyError, TypeError):
            return "unknown"
    for kind, name in SIGNATURES.items():
        if (path / name).exists():
            return kind
    return None


def _corpus_like(path: Path) -> str | None:
    """Why ``path`` looks like a corpus or a frame folder (files directly in it), or None."""
    try:
        entries = list(path.iterdir())
    except OSError:
        return None
    for p in entries:
        suffix = p.suffix.lower()
        if suffix in IMAGE_SUFFIXES and p.is_file():
            return f"it holds frame images: {p.name}"
        if suffix in CORPUS_FILES and p.is_file():
            return f"it holds an annotation table: {p.name}"
    if (path / "synth-settings.json").is_file():
        return "it holds a synthetic corpus: synth-settings.json"
    return None


def check_output_folder(path, option: str, *, kind: str, inputs: Iterable = (), roots: Iterable = (),
                        files: Sequence[str] = ()) -> Path:
    """``path`` if ``mpt KIND`` may write there (see the module's rules), else OutputError naming ``option``.
    ``files``: names the command writes directly in it (a folder there is refused)."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise OutputError(f"{option} {path}: is a file, not a folder")
    for name in files:
        if (path / name).is_dir():
            raise OutputError(f"{option} {path}: {path / name} is a folder where mpt {kind} writes a file; move it "
                              f"or choose another {option}")
    _not_reading(path, option, inputs, roots)
    if path.is_dir():
        found = folder_kind(path)
        if found is not None and found != kind:
            what = KIND_NAMES.get(found, f"a folder of another kind ({found})")
            raise OutputError(f"{option} {path}: holds {what}; mpt {kind} writes its own folder: choose another "
                              f"{option}")
        if found is None:
            why = _corpus_like(path)
            if why is not None:
                raise OutputError(f"{option} {path}: looks like a dataset ({why}); choose an empty or new folder")
        _writable_parent(path / MARKER, option)
    else:
        _writable_parent(path, option)
    return path


@contextlib.contextmanager
def claimed_folder(path, option: str, *, kind: str, inputs: Iterable = (), roots: Iterable = (),
                   files: Sequence[str] = ()) -> Iterator[Path]:
    """Check ``path`` (``check_output_folder``), create it, hold its lock while the block runs and mark
    it as ``kind``'s. Another process holding the lock: OutputError at once (no waiting)."""
    inputs, roots = list(inputs), list(roots)
    path = check_output_folder(path, option, kind=kind, inputs=inputs, roots=roots, files=files)
    created = not path.exists()
    path.mkdir(parents=True, exist_ok=True)
    lock = process_lock(path / LOCK)
    if not lock.try_acquire():
        raise OutputError(f"{option} {path}: being written by {lock.owner()}; wait for it to finish or choose "
                          f"another {option}")
    try:
        check_output_folder(path, option, kind=kind, inputs=inputs, roots=roots, files=files)  # again, locked
        if not (path / MARKER).is_file():
            atomic_write(path / MARKER, lambda p: p.write_text(json.dumps({"kind": kind}) + "\n"))
        yield path
    finally:
        # a command that failed before writing anything leaves no folder it created
        empty = created and {p.name for p in path.iterdir()} <= {MARKER, LOCK, f"{LOCK}.owner"}
        if empty:
            (path / MARKER).unlink(missing_ok=True)
        lock.release()
        if empty:
            with contextlib.suppress(OSError):
                (path / LOCK).unlink()
                path.rmdir()
