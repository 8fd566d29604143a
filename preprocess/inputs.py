"""A user's raw clip for ``mpt predict``: a video file or a folder of frame images.

Frames stay at their native size (face alignment crops them later). ``onset``/``offset`` are
frame numbers as the user sees them: the last number in a frame's file name (the convention of
every corpus, METHOD.md 1.1), or the 0-based frame index of a video. Every problem raises
``InputError`` with one line naming the path and the reason.
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass
from numbers import Integral, Real
from pathlib import Path

import cv2
import numpy as np

from .frames import FrameError, load_frames

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".ppm", ".pgm", ".jp2"})
# the last run of digits: extensions are stripped first (".jp2")
_LAST_NUMBER = re.compile(r"(\d+)(?!.*\d)")


class InputError(ValueError):
    """Raw input that cannot be used; the message names the path and why."""


@dataclass(frozen=True, eq=False)
class ClipInput:
    frames: np.ndarray  # (N, H, W, 3) uint8 RGB, native size, onset..offset inclusive
    numbers: tuple[int, ...]  # each frame's number: from its file name, or its 0-based video index
    onset: int
    offset: int
    fps: float
    source: str  # the video file or frame folder
    warnings: tuple[str, ...] = ()  # e.g. a video that ends before the frame count its container states


# helpers


def frame_number(name: str | os.PathLike) -> int:
    """The last number in a file name, without its extension: ``reg_img46.jpg`` -> 46,
    ``006_05562.jpg`` -> 5562."""
    stem = Path(name).stem
    m = _LAST_NUMBER.search(stem)
    if m is None:
        raise InputError(f"{name}: no frame number in the file name")
    return int(m.group(1))


def _span(numbers) -> str:
    return f"frames {numbers[0]}..{numbers[-1]}"


def _missing(have: list[int], onset: int, offset: int) -> str:
    """The numbers in onset..offset not in sorted ``have``, as "12, 15-17" ("" if none)."""
    parts, expected = [], onset
    for n in [*have, offset + 1]:
        if n > expected:
            parts.append(str(expected) if n - 1 == expected else f"{expected}-{n - 1}")
        expected = n + 1
    return ", ".join(parts[:8]) + (", ..." if len(parts) > 8 else "")


def _check_range(path: Path, onset: int | None, offset: int | None) -> None:
    for name, value in (("onset", onset), ("offset", offset)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, Integral) or value < 0):
            raise InputError(f"{path}: {name} must be a frame number >= 0, got {value!r}")
    if onset is not None and offset is not None and onset > offset:
        raise InputError(f"{path}: onset {onset} is after offset {offset}")


def _check_fps(path: Path, fps) -> float:
    if isinstance(fps, bool) or not isinstance(fps, Real) or not math.isfinite(fps) or fps <= 0:
        raise InputError(f"{path}: frame rate must be a positive number, got {fps!r}")
    return float(fps)


def _video_rgb(path, image: np.ndarray, first_shape) -> np.ndarray:
    rgb = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
    if first_shape is not None and rgb.shape != first_shape:
        first = f"{first_shape[1]}x{first_shape[0]}"
        raise InputError(f"{path}: frame size {rgb.shape[1]}x{rgb.shape[0]} differs from the first frame's {first}")
    return rgb


def numbered_frames(path: Path) -> dict[int, Path]:
    """A folder's frame images by their frame number; no images or a number twice is an InputError."""
    files = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith(".")
                   and p.is_file())
    if not files:
        raise InputError(f"{path}: no frame images ({', '.join(sorted(IMAGE_SUFFIXES))}) in the folder")
    by_number: dict[int, Path] = {}
    for f in files:
        n = frame_number(f)
        if n in by_number:
            raise InputError(f"{path}: frame number {n} appears twice ({by_number[n].name}, {f.name})")
        by_number[n] = f
    return by_number


def folder_span(path: Path, onset, offset, fps) -> tuple[dict[int, Path], float, int, int]:
    """A frame folder's frames by number, its frame rate and the onset..offset asked for (default: all),
    checked: a folder has no frame rate of its own, and the span must lie inside its numbers."""
    by_number = numbered_frames(path)
    if fps is None:
        raise InputError(f"{path}: a folder of frames has no frame rate; pass --fps (e.g. 200 for CASME II)")
    fps = _check_fps(path, fps)
    numbers = sorted(by_number)
    onset = numbers[0] if onset is None else onset
    offset = numbers[-1] if offset is None else offset
    for name, value in (("onset", onset), ("offset", offset)):
        if not numbers[0] <= value <= numbers[-1]:
            raise InputError(f"{path}: {name} {value} is outside the input ({_span(numbers)})")
    return by_number, fps, onset, offset


def _load_folder(path: Path, onset, offset, fps) -> ClipInput:
    by_number, fps, onset, offset = folder_span(path, onset, offset, fps)
    chosen = [n for n in sorted(by_number) if onset <= n <= offset]
    missing = _missing(chosen, onset, offset)
    if missing:
        raise InputError(f"{path}: missing frame(s) {missing} between onset {onset} and offset {offset}")
    if len(chosen) < 2:
        raise InputError(f"{path}: only frame {onset} (onset {onset}, offset {offset}); a clip needs 2 or more frames")
    try:
        frames = load_frames([by_number[n] for n in chosen], size=None)
    except FrameError as err:
        raise InputError(str(err)) from None
    return ClipInput(frames, tuple(chosen), onset, offset, fps, str(path))


def _load_video(path: Path, onset, offset, fps) -> ClipInput:
    if path.suffix.lower() in IMAGE_SUFFIXES:  # OpenCV would open it as a 1-frame "video"
        raise InputError(f"{path}: a single image, not a clip; pass the folder holding the clip's frames")
    cap = cv2.VideoCapture(str(path))
    try:
        if not cap.isOpened():
            raise InputError(f"{path}: not a readable video or a folder of frames (OpenCV cannot open it)")
        if fps is None:
            fps = cap.get(cv2.CAP_PROP_FPS)
            if not (math.isfinite(fps) and fps > 0):
                raise InputError(f"{path}: the video states no frame rate; pass --fps")
        fps = _check_fps(path, fps)
        declared = int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)  # the container's count (0: unknown)
        start = onset or 0
        index, frames, shape = 0, [], None
        while offset is None or index <= offset:
            if not cap.grab():  # decodes; before onset the frame is not converted or copied
                break
            if index >= start:
                ok, image = cap.retrieve()
                if not ok:
                    raise InputError(f"{path}: frame {index} cannot be decoded")
                frames.append(_video_rgb(f"{path}: frame {index}", image, shape))
                shape = frames[0].shape
            index += 1
    finally:
        cap.release()
    if index == 0:
        raise InputError(f"{path}: no frame could be decoded")
    stop = index - 1  # last frame read
    short = ""
    if declared > index and (offset is None or offset >= index):
        short = (f"only {index} of the {declared} frames the container states could be decoded "
                 f"({declared - index} unreadable: a truncated or corrupt file?)")
    for name, value in (("onset", start), ("offset", offset)):
        if value is not None and value > stop:
            raise InputError(f"{path}: {name} {value} is outside the input (frames 0..{stop})"
                             + (f"; {short}" if short else ""))
    if len(frames) < 2:
        raise InputError(f"{path}: only frame {start} (frames 0..{stop}); a clip needs 2 or more frames")
    end = start + len(frames) - 1
    return ClipInput(np.stack(frames), tuple(range(start, end + 1)), start, end, fps, str(path),
                     (f"{path}: {short}",) if short else ())


def load_input(
    path: str | os.PathLike, *, onset: int | None = None, offset: int | None = None, fps: float | None = None
) -> ClipInput:
    """Frames ``onset``..``offset`` inclusive (default: all) of a video or a frame folder.

    A folder's frames are ordered by ``frame_number`` and must be consecutive in the chosen
    range; it needs ``fps``. A video's rate defaults to its header's; only frames up to
    ``offset`` are decoded.
    """
    path = Path(path)
    _check_range(path, onset, offset)
    onset = None if onset is None else int(onset)
    offset = None if offset is None else int(offset)
    if path.is_dir():
        return _load_folder(path, onset, offset, fps)
    if path.is_file():
        return _load_video(path, onset, offset, fps)
    raise InputError(f"{path}: not found (expected a video file or a folder of frames)")
