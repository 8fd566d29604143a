"""A synthetic long video with chosen expressions, rendered by the long-video generator's own
functions (``preprocess.synth.longvideo``): for tests of spotting then classifying."""

from pathlib import Path

import numpy as np

# (kind, onset, apex, offset, AUs, gain) at 30 fps: three micro- and two macro-expressions, 12 s
FIVE_EXPRESSIONS = (("macro", 30, 50, 80, "6+12", 4.0), ("micro", 110, 114, 119, "4+9", 1.5),
                    ("macro", 150, 170, 200, "1+2", 4.0), ("micro", 240, 244, 249, "6+12", 1.5),
                    ("micro", 300, 304, 309, "1+2", 1.5))


def render_long_video(folder: Path, events=FIVE_EXPRESSIONS, *, frames: int = 360, seed: int = 5,
                      width: int = 320, height: int = 240, preset: str = "easy") -> Path:
    """``folder/img{1..frames}.jpg`` (30 fps) holding ``events``; returns the folder. The easy preset by
    default: these tests check what is done with spotted intervals; how well the spotter finds them on
    the calibrated (real-level) motion is measured in bench/ (issue 26)."""
    from preprocess.synth.casme3 import camera_shading
    from preprocess.synth.face import render_face
    from preprocess.synth.longvideo import Event, VideoPlan, render_video

    rng = np.random.default_rng([seed, 20, 1])
    face = camera_shading(render_face(rng, int(0.5 * min(width, height))))
    plan = VideoPlan(1, 1, frames, tuple(Event(k, on, apex, off, aus, gain=g) for k, on, apex, off, aus, g in events))
    folder.mkdir(parents=True, exist_ok=True)
    for n, data in render_video(face, plan, seed, width, height, grey=False, preset=preset):
        (folder / f"img{n}.jpg").write_bytes(data)
    return folder
