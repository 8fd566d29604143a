"""Scenes for the face tests: scikit-image's astronaut photograph (public domain) pasted into a
640 x 480 frame, rotated, moved, occluded; and the video generators built from it."""

from __future__ import annotations

import math

import cv2
import numpy as np

# Iris centres (x, y) of the image-left and image-right eye in skimage.data.astronaut(), measured
# by hand (see test_face_align.py, where they were obtained); roll of the photo about -4.1 degrees.
ASTRO_EYES = np.array([(203.0, 99.6), (246.0, 102.7)])
HEAD = (100, 20, 360, 300)  # x0, y0, x1, y1 of the head-and-shoulders region pasted into scenes
GREY = (90, 90, 90)


def true_roll(eyes) -> float:
    """Degrees, positive when the image-right eye is higher (smaller y)."""
    (lx, ly), (rx, ry) = eyes
    return math.degrees(math.atan2(ly - ry, rx - lx))


def paste(frame, astro, *, scale, offset):
    """Paste the (scaled) head region at ``offset``; return where its eyes land."""
    x0, y0, x1, y1 = HEAD
    head = astro[y0:y1, x0:x1]
    if scale != 1.0:
        head = cv2.resize(head, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    h, w = head.shape[:2]
    frame[offset[1] : offset[1] + h, offset[0] : offset[0] + w] = head
    return (ASTRO_EYES - (x0, y0)) * scale + offset


def scene(astro, *, angle=0.0, scale=1.0, offset=(150, 60), centre=(320.0, 200.0)):
    """A 640x480 frame with the photo pasted and rotated by ``angle`` degrees (counter-clockwise
    on screen) about ``centre``; returns the frame and where the true eye centres are in it."""
    frame = np.full((480, 640, 3), GREY, dtype=np.uint8)
    eyes = paste(frame, astro, scale=scale, offset=offset)
    m = cv2.getRotationMatrix2D(centre, angle, 1.0)
    frame = cv2.warpAffine(frame, m, (640, 480), borderValue=GREY)
    return frame, eyes @ m[:, :2].T + m[:, 2]


def head_motion(i: int, fps: float) -> np.ndarray:
    """(2, 3) known head motion at frame ``i``: translation +-30 / +-20 px, roll +-10 deg and scale
    +-5 % about the face, each a slow sinusoid (periods 3 to 5 s)."""
    t = i / fps
    tx, ty = 30 * math.sin(2 * math.pi * t / 3), 20 * math.sin(2 * math.pi * t / 4)
    roll, scale = 10 * math.sin(2 * math.pi * t / 5), 1 + 0.05 * math.sin(2 * math.pi * t / 3.5)
    m = cv2.getRotationMatrix2D((280.0, 200.0), roll, scale)
    m[:, 2] += (tx, ty)
    return m


def local_bump(image: np.ndarray, centre, shift, sigma: float = 7.0) -> np.ndarray:
    """``image`` with the skin around ``centre`` moved by ``shift`` (x, y) px (a Gaussian-weighted
    displacement: the true local motion at the centre is ``shift``)."""
    h, w = image.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    weight = np.exp(-((xx - centre[0]) ** 2 + (yy - centre[1]) ** 2) / (2 * sigma**2)).astype(np.float32)
    return cv2.remap(image, xx - np.float32(shift[0]) * weight, yy - np.float32(shift[1]) * weight, cv2.INTER_LINEAR,
                     borderMode=cv2.BORDER_REPLICATE)


def noisy(frame: np.ndarray, rng: np.random.Generator, sigma: float = 2.0) -> np.ndarray:
    """Sensor noise: Gaussian, ``sigma`` grey levels."""
    return np.clip(frame + rng.normal(0, sigma, frame.shape), 0, 255).astype(np.uint8)


def write_video(path, frames, fps: float = 30.0) -> None:
    """(H, W, 3) uint8 RGB frames -> a video (MJPG in .avi, mp4v otherwise)."""
    frames = list(frames)
    h, w = frames[0].shape[:2]
    fourcc = "MJPG" if str(path).endswith(".avi") else "mp4v"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), fps, (w, h))
    assert writer.isOpened(), f"OpenCV cannot write {fourcc} here"
    for frame in frames:
        writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    writer.release()


def cartoon(rng: np.random.Generator, shape=(480, 640, 3)) -> np.ndarray:
    """A frame of flat coloured shapes: no face."""
    frame = np.full(shape, rng.integers(0, 256, 3), np.uint8)
    for _ in range(12):
        centre = (int(rng.integers(0, shape[1])), int(rng.integers(0, shape[0])))
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        cv2.circle(frame, centre, int(rng.integers(10, 80)), colour, -1)
    return frame


def pitch_map(shape, pitch: float, centre, radius: float) -> tuple[np.ndarray, np.ndarray]:
    """cv2.remap maps that pitch the head, modelled as a sphere of ``radius`` px about ``centre``, by
    ``pitch`` degrees about the horizontal axis (positive: the face turns down, a bow). A point on
    the sphere keeps its x; its y and depth rotate: the face slides down and its lower part is
    foreshortened while the forehead opens up, so the face's appearance changes as a bowed face's
    does. Outside the sphere the frame is shortened by cos(pitch), which meets the sphere's rim."""
    h, w = shape[:2]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    x, y = xx - centre[0], yy - centre[1]
    a = math.radians(pitch)
    depth2 = radius**2 - x**2 - y**2
    inside = depth2 > 0
    src_y = np.where(inside, y * math.cos(a) - np.sqrt(np.clip(depth2, 0, None)) * math.sin(a), y * math.cos(a))
    return xx.astype(np.float32), (src_y + centre[1]).astype(np.float32)


def pose_frame(frame: np.ndarray, roll: float, pitch: float, centre=(272.0, 165.0), radius: float = 80.0):
    """``frame`` with the head pitched (``pitch_map``, the sphere about the face in ``scene``'s
    default frame) and then rolled by ``roll`` degrees about ``centre``."""
    mx, my = pitch_map(frame.shape, pitch, centre, radius)
    bowed = cv2.remap(frame, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    m = cv2.getRotationMatrix2D(centre, roll, 1.0)
    return cv2.warpAffine(bowed, m, (frame.shape[1], frame.shape[0]), flags=cv2.INTER_LINEAR, borderValue=GREY)


def pose_video(frame: np.ndarray, rolls, pitches, rng: np.random.Generator) -> list[np.ndarray]:
    """One frame per (roll, pitch) pair (``pose_frame``), with sensor noise."""
    return [noisy(pose_frame(frame, r, p), rng) for r, p in zip(rolls, pitches)]
