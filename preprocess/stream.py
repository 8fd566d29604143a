"""A user's video or frame folder read one frame at a time (``mpt track``: long videos never sit in
memory whole). Frames are numbered as ``preprocess.inputs`` numbers them: the last number in a
frame's file name, or the 0-based index of a video frame. A frame that cannot be read is yielded
as None with the reason (a tracker marks it lost); everything that makes the whole input unusable
raises ``InputError`` before the first frame.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import cv2
from .frames import FrameError, decode_frame
from .inputs import IMAGE_SUFFIXES, InputError, _check_fps, _check_range, _missing, folder_span


@dataclass
class FrameStream:
    """Iterate for (number, (H, W, 3) uint8 RGB frame or None, problem or None)."""

    source: str
    fps: float
    expected: int | None  # frames the stream should give (None: unknown)
    onset: int
    offset: int | None
    files: dict | None = None  # number -> path (a frame folder)
    warnings: list[str] = field(default_factory=list)  # filled while iterating (e.g. a truncated video)

    def __iter__(self):
        return self._folder() if self.files is not None else self._video()

    def _folder(self):
        shape = None
        for number, path in self.files.items():
            try:
                image = decode_frame(path)
            except FrameError as err:
                yield number, None, err.reason
                continue
            rgb = cv2.cvtColor(image, cv2.COLOR_GRAY2RGB if image.ndim == 2 else cv2.COLOR_BGR2RGB)
            if shape is not None and rgb.shape != shape:
                yield number, None, f"size {rgb.shape[1]}x{rgb.shape[0]} differs from the first frame's " \
                                    f"{shape[1]}x{shape[0]}"
                continue
            shape = rgb.shape
            yield number, rgb, None

    def _video(self):
        cap = cv2.VideoCapture(self.source)
        index, shape = 0, None
        try:
            while self.offset is None or index <= self.offset:
                if not cap.grab():
                    break
                if index >= self.onset:
                    ok, image = cap.retrieve()
                    if not ok:
                        yield index, None, "cannot be decoded"
                    else:
                        rgb = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
                        if shape is not None and rgb.shape != shape:
                            yield index, None, "size differs from the first frame's"
                        else:
                            shape = rgb.shape
                            yield index, rgb, None
                index += 1
        finally:
            cap.release()
        if self.expected is not None and index - self.onset < self.expected:
            read = max(0, index - self.onset)
            self.warnings.append(f"{self.source}: only {read} of the {self.expected} frames the container states "
                                 f"could be decoded ({self.expected - read} unreadable: a truncated or corrupt file?)")


def stream_input(path, *, onset: int | None = None, offset: int | None = None, fps: float | None = None) -> FrameStream:
    """Frames ``onset``..``offset`` (default: all) of a video file or a frame folder, one at a time."""
    path = Path(path)
    _check_range(path, onset, offset)
    if path.is_dir():
        by_number, fps, first, last = folder_span(path, onset, offset, fps)
        chosen = {n: by_number[n] for n in sorted(by_number) if first <= n <= last}
        missing = _missing(list(chosen), first, last)
        if missing:  # as predict, describe and magnify say it: tracking across a gap would skip time
            raise InputError(f"{path}: missing frame(s) {missing} between {first} and {last}; the frames of a "
                             f"video must be consecutive (--onset/--offset can choose a span without the gap)")
        return FrameStream(str(path), fps, len(chosen), first, last, files=chosen)
    if not path.is_file():
        raise InputError(f"{path}: not found (expected a video file or a folder of frames)")
    if path.suffix.lower() in IMAGE_SUFFIXES:
        raise InputError(f"{path}: a single image, not a video; pass the folder holding the frames")
    cap = cv2.VideoCapture(str(path))
    try:
        if not cap.isOpened():
            raise InputError(f"{path}: not a readable video or a folder of frames (OpenCV cannot open it)")
        if fps is None:
            fps = cap.get(cv2.CAP_PROP_FPS)
            if not (math.isfinite(fps) and fps > 0):
                raise InputError(f"{path}: the video states no frame rate; pass --fps")
        fps = _check_fps(path, fps)
        declared = int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
    finally:
        cap.release()
    start = onset or 0
    if declared and start >= declared:
        raise InputError(f"{path}: onset {start} is outside the input (the container states {declared} frames)")
    end = declared - 1 if offset is None else min(offset, declared - 1) if declared else offset
    expected = (end - start + 1) if declared else None
    return FrameStream(str(path), fps, expected, start, offset, files=None)

