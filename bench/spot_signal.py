"""Which signal shows a micro-expression better: the flow's region positions (what `mpt spot` uses) or
the tracker's landmark displacements? Measured on synthetic long videos, per micro-expression.

    .venv/bin/python bench/spot_signal.py DATA_DIR [--videos 4]

DATA_DIR is `mpt synth --layout cas2` output (its synth-events.json says where the micro-expressions
are). For each video, both signals are put in the same units: each channel's deviation from its 8 s
running median, divided by its median deviation over the video (its noise), maximised over channels
(flow: the 14 regions outside the eyelids; landmarks: the 51 points 17-67 in the 128 px stabilised
crop, each frame's landmarks tracked on every frame). A micro-expression's SNR is the largest score
inside its interval over the 95th percentile of the score outside every event; the table gives the
median over micro-expressions and how many reach 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path[:] = [str(REPO)] + [p for p in sys.path if Path(p or ".").resolve() != REPO / "bench"]

from mpt.spot.run import CROP, measure  # noqa: E402
from mpt.spot.source import open_input  # noqa: E402
from mpt_core.spotting import running_median, window  # noqa: E402


def normalised_max(channels: np.ndarray, rate: float) -> np.ndarray:
    """(N, C, 2) positions -> (N,) max over channels of deviation / its median deviation."""
    n = len(channels)
    base = running_median(channels.reshape(n, -1), window(8.0, rate)).reshape(channels.shape)
    dev = np.linalg.norm(channels - base, axis=2)
    return np.nanmax(dev / np.maximum(np.nanmedian(dev, axis=0), 1e-3), axis=1)


def snr(score: np.ndarray, events: list[dict], first: int) -> list[float]:
    quiet = np.ones(len(score), bool)
    for e in events:
        quiet[max(0, e["onset"] - first - 3): e["offset"] - first + 4] = False
    floor = np.nanpercentile(score[quiet], 95)
    return [float(np.nanmax(score[e["onset"] - first: e["offset"] - first + 1]) / floor)
            for e in events if e["kind"] == "micro"]


def main() -> None:
    from preprocess.face.track import track_frames
    from mpt_core.spot_signal import FACE_REGIONS

    ap = argparse.ArgumentParser()
    ap.add_argument("data", type=Path)
    ap.add_argument("--videos", type=int, default=4)
    args = ap.parse_args()
    videos = json.loads((args.data / "synth-events.json").read_text())[: args.videos]
    flow_snr, mark_snr = [], []
    for v in videos:
        folder = next((args.data / "rawpic" / v["subject"]).glob(f"{v['video']}*"))
        source = open_input(folder, v["fps"])
        sig = measure(source, step=1)
        flow = normalised_max(sig.positions[:, list(FACE_REGIONS)], sig.rate)
        import cv2

        track = track_frames((cv2.cvtColor(g, cv2.COLOR_GRAY2RGB) for _, g in source.frames()), fps=source.fps)
        marks = np.stack([track.landmarks_in_crop(i, CROP)[17:] if track.status[i] != "lost"
                          else np.full((51, 2), np.nan) for i in range(len(track.status))])
        land = normalised_max(marks, source.fps)
        flow_snr += snr(flow, v["events"], sig.numbers[0])
        mark_snr += snr(land, v["events"], sig.numbers[0])
        print(f"{v['subject']}/{v['video']}: {sum(e['kind'] == 'micro' for e in v['events'])} micro-expressions",
              flush=True)
    print(f"{'signal':28} {'median SNR':>10} {'SNR >= 2':>9}")
    for name, values in (("flow regions (mpt spot)", flow_snr), ("landmarks 17-67, per frame", mark_snr)):
        print(f"{name:28} {np.median(values):10.2f} {sum(x >= 2 for x in values):4d} of {len(values)}")


if __name__ == "__main__":
    main()
