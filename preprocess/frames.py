"""Frame loading (METHOD.md 1.1): OpenCV decode, BGR -> RGB, greyscale -> 3 channels, resize.

Every problem raises ``FrameError`` naming the file and the reason.
"""

from __future__ import annotations

import time
from pathlib import Path

import cv2
import numpy as np

from .records import DatasetError


class FrameError(DatasetError):
    """A frame that cannot be used; ``path`` and ``reason`` say which and why."""

    def __init__(self, path, reason: str):
        self.path, self.reason = Path(path), reason
        super().__init__(f"{path}: {reason}")


def decode_frame(path: Path) -> np.ndarray:
    """The frame as stored: (H, W) greyscale or (H, W, 3) BGR, uint8."""
    try:
        data = np.fromfile(path, dtype=np.uint8)
    except OSError as err:
        raise FrameError(path, f"unreadable ({err.strerror or err})") from None
    if data.size == 0:
        raise FrameError(path, "empty file")
    # libjpeg decodes a truncated JPEG into a grey-padded image with only a warning
    if data[:2].tobytes() == b"\xff\xd8" and b"\xff\xd9" not in data[-4096:].tobytes():
        raise FrameError(path, "corrupt JPEG (truncated: no end-of-image marker)")
    image = cv2.imdecode(data, cv2.IMREAD_UNCHANGED)
    if image is None:
        raise FrameError(path, "corrupt or not an image (OpenCV cannot decode it)")
    if image.dtype != np.uint8:
        raise FrameError(path, f"{image.dtype} pixels, expected 8-bit")
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    if image.ndim == 3 and image.shape[2] != 3:
        raise FrameError(path, f"{image.shape[2]} channels, expected 1 (greyscale) or 3 (colour)")
    return image


def resize_rgb(image: np.ndarray, size: int) -> np.ndarray:
    """(size, size, 3) RGB uint8. INTER_AREA when no side grows, INTER_LINEAR otherwise."""
    h, w = image.shape[:2]
    if (h, w) != (size, size):
        interpolation = cv2.INTER_AREA if h >= size and w >= size else cv2.INTER_LINEAR
        image = cv2.resize(image, (size, size), interpolation=interpolation)
    code = cv2.COLOR_GRAY2RGB if image.ndim == 2 else cv2.COLOR_BGR2RGB
    return cv2.cvtColor(image, code)


def _rgb(image: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(image, cv2.COLOR_GRAY2RGB if image.ndim == 2 else cv2.COLOR_BGR2RGB)


def load_frames(paths, size: int | None = 224, timings: dict | None = None) -> np.ndarray:
    """The clip's frames as (N, size, size, 3) RGB uint8 (``size=None``: as stored, (N, H, W, 3)).

    Every frame must decode and have the same size and channel count as the clip's first
    frame. ``timings`` (if given) accumulates seconds under "decode" and "resize".
    """
    paths = [Path(p) for p in paths]
    out = np.empty((len(paths), size, size, 3), dtype=np.uint8) if size else None
    first = None
    decode = resize = 0.0
    for i, path in enumerate(paths):
        t0 = time.perf_counter()
        image = decode_frame(path)
        t1 = time.perf_counter()
        if first is None:
            first = (path, image.shape)
        elif image.shape != first[1]:
            reason = f"shape {image.shape} differs from the clip's first frame {first[0].name} {first[1]}"
            raise FrameError(path, reason)
        if out is None:  # native size: allocate once the first frame says how large
            out = np.empty((len(paths), *image.shape[:2], 3), dtype=np.uint8)
        out[i] = resize_rgb(image, size) if size else _rgb(image)
        decode += t1 - t0
        resize += time.perf_counter() - t1
    if timings is not None:
        timings["decode"] = timings.get("decode", 0.0) + decode
        timings["resize"] = timings.get("resize", 0.0) + resize
    return out
