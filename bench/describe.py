"""Benchmark `mpt describe`: seconds per clip, split into decode, face and flow/description.

    .venv/bin/python bench/describe.py [--repeats 3]

The clip: 2 s at 200 fps (400 frames), 640x480 mp4v, the astronaut photograph (skimage.data) pasted
on grey, its lip corners pulled up and outward by a smooth Gaussian warp (1.5 px peak at the scale of
a 224 face crop) that rises over frames 40..100 (0.3 s), holds, and falls back by frame 200: a
micro-expression-sized smile. Timed through ``mpt.describe.describe`` (the function the CLI calls)
after one warm-up call, with the apex found by motion energy (the default) and with ``--apex``
given; plus one ``mpt describe --json`` subprocess for the whole command's wall time (start-up and
imports included). Run it on a quiet machine: the figures are wall seconds on 2 cores.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
# this folder holds preprocess.py and train.py, named like our packages: keep it off the import path
sys.path[:] = [str(REPO)] + [p for p in sys.path if Path(p or ".").resolve() != REPO / "bench"]

from mpt.describe import describe  # noqa: E402

STAGES = ("decode", "face", "describe")
FRAMES, FPS, APEX = 400, 200.0, 100
EYES = np.array([(203.0, 99.6), (246.0, 102.7)])  # in astronaut(): see tests/test_face_align.py
LIPS = np.array([(204.0, 140.5), (242.0, 142.0)])  # in astronaut(): see tests/test_describe_cli.py
PASTE = (190, 80)  # where the photo's (100, 20) corner lands in the 640x480 scene


def make_video(path: Path, amp_224: float = 1.5) -> Path:
    from skimage.data import astronaut

    scene = np.full((480, 640, 3), 90, dtype=np.float32)
    scene[80:360, 190:450] = astronaut()[20:300, 100:360]  # head and shoulders, RGB
    lips = LIPS - (100, 20) + PASTE
    iod = float(np.hypot(*(EYES[1] - EYES[0])))
    amp = amp_224 * 2.8 * iod / 224  # the aligned crop's side is 2.8 inter-ocular distances
    gy, gx = np.mgrid[0:480, 0:640].astype(np.float32)
    fx, fy = np.zeros((480, 640), np.float32), np.zeros((480, 640), np.float32)
    for cx, cy in lips:
        w = np.exp(-((gx - cx) ** 2 + (gy - cy) ** 2) / (2 * (0.2 * iod) ** 2))
        fx += amp * 0.6 * np.sign(cx - lips[:, 0].mean()) * w
        fy -= amp * 0.8 * w
    t = np.arange(FRAMES)
    rise = np.clip((t - 40) / (APEX - 40), 0, 1)
    fall = np.clip((200 - t) / (200 - 160), 0, 1)
    envelope = 0.5 - 0.5 * np.cos(np.pi * np.minimum(rise, fall))
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), FPS, (640, 480))
    if not writer.isOpened():
        raise SystemExit("OpenCV cannot write mp4v here")
    for e in envelope.astype(np.float32):
        frame = cv2.remap(scene, gx - e * fx, gy - e * fy, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        writer.write(cv2.cvtColor(np.clip(np.rint(frame), 0, 255).astype(np.uint8), cv2.COLOR_RGB2BGR))
    writer.release()
    return path


def timed(video: Path, repeats: int, **kwargs) -> tuple[dict, dict]:
    describe(video, **kwargs)  # warm-up: first-call imports, cascades
    t: dict = {}
    for _ in range(repeats):
        result = describe(video, timings=t, **kwargs)
    per = {s: t[s] / repeats for s in STAGES}
    return {**per, "total": sum(per.values())}, result


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3, help="clips timed per row")
    args = ap.parse_args()
    cpu = next((ln.split(":", 1)[1].strip() for ln in open("/proc/cpuinfo") if ln.startswith("model name")), "?")
    print(f"machine: {os.cpu_count()} CPUs (OpenCV threads {cv2.getNumThreads()}), {cpu}; python "
          f"{platform.python_version()}, OpenCV {cv2.__version__}; date {date.today()}")
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    work = Path(tempfile.mkdtemp(prefix="mpt-bench-describe-"))
    t0 = time.perf_counter()
    video = make_video(work / "astronaut-smile-400.mp4")
    print(f"setup: {time.perf_counter() - t0:.1f} s; clip: {FRAMES} frames 640x480 at {FPS:g} fps, "
          f"{video.stat().st_size / 1e6:.1f} MB\n")

    rows = [("apex by motion energy (default)", *timed(video, args.repeats)),
            (f"--apex {APEX}", *timed(video, args.repeats, apex=APEX)),
            (f"--onset 30 --offset 170 --apex {APEX} (141 frames)",
             *timed(video, args.repeats, onset=30, offset=170, apex=APEX))]
    print("| run | decode s | face s | flow + description s | total s/clip | apex | AU candidates |")
    print("|---|---:|---:|---:|---:|---:|---|")
    for name, r, res in rows:
        found = ", ".join(f"{c['au']} {c['evidence_px']:.2f} px" for c in res["au_candidates"]) or "none"
        print(f"| {name} | " + " | ".join(f"{r[s]:.3f}" for s in STAGES) + f" | {r['total']:.2f} | "
              f"{res['apex']} | {found} |")

    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "mpt", "describe", str(video), "--json"], cwd=REPO,
                          capture_output=True, text=True)
    wall = time.perf_counter() - t0
    status = "ok" if proc.returncode == 0 else f"exit {proc.returncode}: {proc.stderr.strip()[-200:]}"
    print(f"\n`mpt describe VIDEO --json` as a subprocess (start-up and imports included): {wall:.2f} s ({status})")
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    import shutil

    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
