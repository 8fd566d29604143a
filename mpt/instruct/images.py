"""The per-clip images (aligned onset and apex crops, the flow as an HSV colour image) and the legend.

Flow colours: the usual colour wheel. Hue is the direction of motion in the image (red: toward the
image's right, yellow-green: up, cyan: toward the image's left, blue-violet: down; the image's left
is the subject's right), brightness is the magnitude, full at ``FULL_PX`` pixels (at 224 x 224) and
above, black where nothing moved. One fixed scale for every clip, so colours compare across clips
and corpora.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

FULL_PX = 1.5  # flow magnitude (pixels at 224) shown at full brightness; micro-expressions move ~0.3-1.5 px
LEGEND_PNG = "flow_legend.png"
LEGEND_TXT = "flow_legend.txt"


def write_png(path: Path, rgb: np.ndarray) -> None:
    """A PNG of an (H, W, 3) uint8 RGB image (OpenCV's PNG encoder writes the same bytes each time)."""
    ok, buf = cv2.imencode(".png", np.ascontiguousarray(rgb[..., ::-1]))
    if not ok:
        raise OSError(f"{path}: PNG encoding failed")
    Path(path).write_bytes(buf.tobytes())


def flow_rgb(flow: np.ndarray, full_px: float = FULL_PX) -> np.ndarray:
    """(H, W, 3) uint8 RGB of an (H, W, 2) flow field (dx right, dy down), colours as the module says."""
    dx, dy = flow[..., 0].astype(np.float32), flow[..., 1].astype(np.float32)
    angle = np.degrees(np.arctan2(-dy, dx)) % 360.0  # counter-clockwise from the image's right, y up
    hsv = np.empty((*flow.shape[:2], 3), np.uint8)
    hsv[..., 0] = np.round(angle / 2.0).astype(np.int32) % 180  # OpenCV hue: 0..179 for 0..358 degrees
    hsv[..., 1] = 255
    hsv[..., 2] = np.round(255 * np.clip(np.hypot(dx, dy) / full_px, 0, 1)).astype(np.uint8)
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)


def legend_rgb(size: int = 256, full_px: float = FULL_PX) -> np.ndarray:
    """The colour wheel: each point shows the colour of a motion from the centre to it."""
    r = size * 0.36
    c = (size - 1) / 2
    ys, xs = np.mgrid[0:size, 0:size].astype(np.float32)
    flow = np.stack([(xs - c) / r * full_px, (ys - c) / r * full_px], -1)
    img = flow_rgb(flow, full_px)
    img[np.hypot(xs - c, ys - c) > r] = 0
    img = np.ascontiguousarray(img)
    font, white = cv2.FONT_HERSHEY_SIMPLEX, (255, 255, 255)
    for text, (x, y) in (("up", (c - 10, c - r - 8)), ("down", (c - 18, c + r + 18)),
                         ("image left", (4, c - 6)), ("image right", (size - 82, c - 6))):
        cv2.putText(img, text, (int(x), int(y)), font, 0.4, white, 1, cv2.LINE_AA)
    cv2.putText(img, f"rim: {full_px:g} px at 224", (int(c - 60), size - 6), font, 0.4, white, 1, cv2.LINE_AA)
    return img


def legend_text(full_px: float = FULL_PX) -> str:
    return (
        "Flow images (flow.png): the optical flow from the onset to the apex frame of the aligned 224 x 224 face,\n"
        "relative to the head (a similarity transform fitted robustly over the face is removed).\n"
        "Hue = direction of motion in the image: red = toward the image's right (the subject's left),\n"
        "yellow-green = up, cyan = toward the image's left (the subject's right), blue-violet = down.\n"
        f"Brightness = magnitude, full at {full_px:g} px (pixels at 224 x 224) and above; black = no motion,\n"
        "and everything outside the face (an ellipse around the measured regions), where flow is noise.\n"
        f"{LEGEND_PNG} shows the wheel: the colour at each point is that of a motion from the centre to it.\n"
    )


def write_legend(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    write_png(folder / LEGEND_PNG, legend_rgb())
    (folder / LEGEND_TXT).write_text(legend_text())
