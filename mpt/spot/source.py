"""Long inputs for ``mpt spot``: a video file or a folder of numbered frames, read frame by frame
(a long video never sits in memory whole). Frame numbers are the input's own: the last number in a
file name (``img46.jpg`` -> 46), or a video's 0-based frame index."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import cv2
import numpy as np

from preprocess.inputs import IMAGE_SUFFIXES, InputError, numbered_frames


@dataclass(frozen=True)
class LongInput:
    source: str
    fps: float
    files: tuple[Path, ...] | None  # a frame folder's files, in frame-number order; None for a video
    numbers: tuple[int, ...] | None  # their numbers (a video's are its indices, known once decoded)
    subject: str = ""  # for corpus videos and the MEGC CSV
    video: str = ""

    def frames(self, step: int = 1) -> Iterator[tuple[int, np.ndarray]]:
        """(frame number, (H, W) uint8 grey frame) of every ``step``-th frame from the first."""
        if self.files is not None:
            for i in range(0, len(self.files), step):
                image = cv2.imdecode(np.fromfile(self.files[i], np.uint8), cv2.IMREAD_GRAYSCALE)
                if image is None:
                    raise InputError(f"{self.files[i]}: corrupt or not an image (OpenCV cannot decode it)")
                yield self.numbers[i], image
            return
        cap = cv2.VideoCapture(self.source)
        try:
            index = 0
            while cap.grab():
                if index % step == 0:
                    ok, image = cap.retrieve()
                    if not ok:
                        raise InputError(f"{self.source}: frame {index} cannot be decoded")
                    yield index, cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
                index += 1
        finally:
            cap.release()

    def count(self) -> int | None:
        """Frames in the input (a video's header figure, which may be approximate; None if unknown)."""
        if self.files is not None:
            return len(self.files)
        cap = cv2.VideoCapture(self.source)
        n = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
        cap.release()
        return n if n > 0 else None


def open_input(path: str | Path, fps: float | None = None) -> LongInput:
    """A video file (its rate from its header unless ``fps``) or a folder of frames (``fps``, default 30).

    A folder's frames must be consecutively numbered: a gap would put frames that are seconds apart
    side by side in the signal."""
    path = Path(path)
    if fps is not None and not (math.isfinite(fps) and fps > 0):
        raise InputError(f"{path}: frame rate must be a positive number, got {fps!r}")
    if path.is_dir():
        by_number = numbered_frames(path)
        numbers = sorted(by_number)
        if numbers[-1] - numbers[0] + 1 != len(numbers):
            have = set(numbers)
            gaps = [n for n in range(numbers[0], numbers[-1] + 1) if n not in have]
            raise InputError(f"{path}: frames {numbers[0]}..{numbers[-1]} have {len(gaps)} missing (first: "
                             f"{', '.join(map(str, gaps[:5]))}); a long input's frames must be consecutive")
        return LongInput(str(path), float(fps or 30.0), tuple(by_number[n] for n in numbers), tuple(numbers))
    if path.is_file():
        if path.suffix.lower() in IMAGE_SUFFIXES:
            raise InputError(f"{path}: a single image; pass a video or the folder holding the frames")
        cap = cv2.VideoCapture(str(path))
        opened = cap.isOpened()
        rate = cap.get(cv2.CAP_PROP_FPS) if opened else 0.0
        cap.release()
        if not opened:
            raise InputError(f"{path}: not a readable video or a folder of frames (OpenCV cannot open it)")
        if fps is None:
            if not (math.isfinite(rate) and rate > 0):
                raise InputError(f"{path}: the video states no frame rate; pass --fps")
            fps = rate
        return LongInput(str(path), float(fps), None, None)
    raise InputError(f"{path}: not found (expected a video file or a folder of frames)")
