"""Benchmark `mpt track`: frames per second of face tracking on a 640 x 480, 30 fps video, against
decoding the same video alone, in one run.

    .venv/bin/python bench/track.py [--frames 300] [--every-frame 60]

The video: the astronaut photograph (skimage.data) pasted on grey and moved as a head moves
(translation +-30 px, roll +-10 deg, scale +-5 %, slow sinusoids), sensor noise, mp4v. Timed:

1. decoding alone: ``preprocess.stream.stream_input`` (OpenCV decode, BGR -> RGB), the baseline;
2. tracking as ``mpt track`` runs it: decoding + ``track_frames`` (HOG detection on the first
   frame, then landmarks fitted in the previous frame's levelled crop, a detector confirmation
   every 30 frames, the one-euro filters, the stabilising transforms);
3. detection on every frame (``TrackSettings(detect_every_frame=True)``), on the first
   ``--every-frame`` frames: what tracking saves.

Each figure is frames / wall second with OpenCV's default threads; the load average before and
after is printed, since the machine may be shared.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
# this folder holds preprocess.py, named like our package: keep it off the import path
sys.path[:] = [str(REPO)] + [p for p in sys.path if Path(p or ".").resolve() != REPO / "bench"]
sys.path.insert(1, str(REPO / "tests"))

from facescenes import GREY, head_motion, noisy, scene  # noqa: E402
from preprocess.face.track import TrackSettings, track_frames  # noqa: E402
from preprocess.stream import stream_input  # noqa: E402

FPS = 30.0


def make_video(path: Path, frames: int) -> None:
    from skimage.data import astronaut

    still, _ = scene(astronaut())
    rng = np.random.default_rng(0)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), FPS, (640, 480))
    for i in range(frames):
        moved = cv2.warpAffine(still, head_motion(i, FPS), (640, 480), borderValue=GREY)
        writer.write(cv2.cvtColor(noisy(moved, rng), cv2.COLOR_RGB2BGR))
    writer.release()


def frames_of(path: Path, limit: int | None = None):
    for i, (_, frame, _) in enumerate(stream_input(path)):
        if limit is not None and i >= limit:
            return
        yield frame


def timed(fn) -> tuple[float, object]:
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--frames", type=int, default=300)
    ap.add_argument("--every-frame", type=int, default=60)
    args = ap.parse_args()
    print(f"machine: {os.cpu_count()} CPUs ({platform.processor() or platform.machine()}), OpenCV {cv2.__version__}, "
          f"cv2 threads {cv2.getNumThreads()}, load average before {os.getloadavg()[0]:.2f}")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "head.mp4"
        make_video(path, args.frames)
        next(frames_of(path, 1))  # warm the decoder and the file cache
        t_decode, n = timed(lambda: sum(1 for _ in frames_of(path)))
        track_frames(frames_of(path, 2), fps=FPS)  # load dlib's models once (about 0.5 s), not timed
        t_track, track = timed(lambda: track_frames(frames_of(path), fps=FPS))
        k = min(args.every_frame, n)
        t_every, every = timed(lambda: track_frames(frames_of(path, k), fps=FPS,
                                                    settings=TrackSettings(detect_every_frame=True)))
    statuses = {s: track.status.count(s) for s in ("detected", "tracked", "lost")}
    print(f"video: {n} frames, 640 x 480, {FPS:g} fps, mp4v; track: {statuses}")
    print("\n| run | frames | wall s | frames/s | ms/frame | vs decoding alone |\n|---|---:|---:|---:|---:|---:|")
    rows = [("decoding alone (baseline)", n, t_decode), ("mpt track: detect once, then track", n, t_track),
            ("detection on every frame", k, t_every)]
    base = n / t_decode
    for name, frames, seconds in rows:
        rate = frames / seconds
        print(f"| {name} | {frames} | {seconds:.2f} | {rate:.1f} | {1000 / rate:.2f} | {rate / base:.2f}x |")
    print(f"\ntracking adds {1000 * (t_track - t_decode) / n:.2f} ms per frame to decoding; detection on every frame "
          f"adds {1000 * (t_every / k - t_decode / n):.2f}: tracking is {(t_every / k) / (t_track / n):.1f}x faster "
          f"end to end")
    print(f"load average after {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
