"""Benchmark `mpt spot`: frames per second end to end (decode, track, flow, score) on a 640x480, 30 fps video.

    .venv/bin/python bench/spot.py [--seconds 20]

The video: one synthetic long video (`mpt synth --layout cas2`, 640x480, seed 0, one subject), written
as an mp4v .mp4. Timed, in one run: ``mpt.spot.run.spot_inputs`` (what `mpt spot VIDEO` calls) after
one warm-up; its two passes apart (``tracking.track_frames`` = decode + face checks; the crop, flow
and score pass); and two baselines on the same frames: decoding alone (the floor any spotter pays),
and the naive route, DIS at the same preset on every whole 640x480 frame instead of a 128 px
stabilised face crop (timed on 60 frames). Real time is 30 frames/s; the issue asks for at least that.
Each row gives wall seconds and this process's CPU seconds (all its threads): on a shared machine the
wall figure measures the load as much as the code.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path[:] = [str(REPO)] + [p for p in sys.path if Path(p or ".").resolve() != REPO / "bench"]

from mpt.spot.run import spot_inputs  # noqa: E402
from mpt.spot.source import open_input  # noqa: E402
from mpt.spot.tracking import track_frames  # noqa: E402
from mpt_core.describe import dis_flow  # noqa: E402
from preprocess.synth.longvideo import generate_long_videos  # noqa: E402


def make_video(folder: Path, seconds: float) -> Path:
    generate_long_videos(folder / "synth", layout="cas2", subjects=1, videos_per_subject=1, seconds=seconds, seed=0,
                         width=640, height=480, jobs=1, progress=False)
    frames = sorted((folder / "synth" / "rawpic" / "s15").glob("*/img*.jpg"), key=lambda p: int(p.stem[3:]))
    path = folder / "video.mp4"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 30.0, (640, 480))
    for f in frames:
        writer.write(cv2.imread(str(f)))
    writer.release()
    return path


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=20.0, help="mean length of the synthetic video")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        video = make_video(Path(tmp), args.seconds)
        source = open_input(video)
        n = sum(1 for _ in source.frames())
        print(f"video: {video.name}, {n} frames, 640x480, {source.fps:g} fps; {os.cpu_count()} CPUs, "
              f"load average {os.getloadavg()[0]:.2f}, {platform.processor() or platform.machine()}, "
              f"OpenCV {cv2.__version__}, {date.today()}")
        spot_inputs([video], progress=False)  # warm-up: cascades, DIS, imports

        def timed(fn):
            wall, cpu = time.perf_counter(), time.process_time()
            out = fn()
            return out, time.perf_counter() - wall, time.process_time() - cpu

        result, end_wall, end_cpu = timed(lambda: spot_inputs([video], progress=False))
        _, dec_wall, dec_cpu = timed(lambda: sum(1 for _ in source.frames()))
        (_, which), trk_wall, trk_cpu = timed(lambda: track_frames((g for _, g in source.frames()), fps=source.fps))
        frames = [g for _, g in zip(range(60), source.frames())]
        dis = dis_flow(full_resolution=True)
        pairs = list(zip(frames, frames[1:]))
        _, dis_wall, dis_cpu = timed(lambda: [dis.calc(a[1], b[1], None) for a, b in pairs])
        scale = n / len(pairs)
        print(f"tracker: {which}; {len(result['intervals'])} intervals spotted")
        rows = [("mpt spot, end to end", end_wall, end_cpu), ("  pass 1: decode + track", trk_wall, trk_cpu),
                ("  pass 2: decode + crop + flow + score", end_wall - trk_wall, end_cpu - trk_cpu),
                ("decode alone (floor)", dec_wall, dec_cpu),
                ("whole-frame DIS per frame (naive, from 60)", dis_wall * scale, dis_cpu * scale)]
        # wall seconds depend on what else runs; CPU seconds of this process (all its threads) much less
        print(f"{'':46} {'wall s':>8} {'frames/s':>9} {'CPU s':>8} {'frames/CPU s':>13}")
        for name, wall, cpu in rows:
            print(f"{name:46} {wall:8.2f} {n / wall:9.1f} {cpu:8.2f} {n / cpu:13.1f}")
        print(f"end to end vs naive whole-frame flow: {dis_wall * scale / end_wall:.1f}x faster (wall); "
              f"{n / end_wall:.1f} frames/s wall: {'meets' if n / end_wall >= 30 else 'misses'} the 30 frames/s target "
              f"at this load; {n / end_cpu:.1f} frames per CPU second of this process")
        print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
