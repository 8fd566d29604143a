"""A synthetic micro-expression dataset in the CASME II ``Cropped`` on-disk format.

Every subject is a distinct procedural face (``face.py``); every clip warps that face with
subtle, local, AU-like motion (``motion.py``) plus head drift, flicker, sensor noise and JPEG
compression, so the label is carried only by motion. The ``preset`` (``presets.py``) says how hard:
``"real"`` (the default) is calibrated to real CASME II clips (background motion in every region, the
real spread of AU amplitudes and AU frequencies, the real head motion; ``background.py``); ``"easy"`` is
the clean generator of format version 1. ``generate_synthetic`` writes
``OUT_DIR/Cropped/subXX/CLIP/reg_imgN.jpg`` and ``OUT_DIR/CASME2-coding-synth.xlsx``, which
``read_dataset("casme2", OUT_DIR, OUT_DIR / "CASME2-coding-synth.xlsx")`` reads unchanged.
The same arguments always give the same bytes, serially or in parallel.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

from .motion import CASME2_COUNTS, CLASSES
from .presets import DEFAULT_PRESET, FORMAT_VERSION, PRESETS, get_preset
from .writer import FPS, ClipPlan, plan_clips, quota, render_subjects, reuse_or_clear

CODING_FILE = "CASME2-coding-synth.xlsx"
SETTINGS_FILE = "synth-settings.json"

__all__ = ["generate_synthetic", "generate_synthetic_casme3", "plan_clips", "quota", "ClipPlan", "CLASSES", "CASME2_COUNTS", "FPS", "CODING_FILE",
           "PRESETS", "DEFAULT_PRESET"]


def _render_subject(plans: list[ClipPlan], seed: int, size: int, root: Path, preset: str = DEFAULT_PRESET) -> int:
    """One worker task: render the subject's face once, then all its clips. Returns the clip count."""
    import cv2
    import numpy as np

    from .face import render_face
    from .writer import render_clip

    cv2.setNumThreads(1)  # one thread per worker; the parallelism is across subjects
    face = render_face(np.random.default_rng([seed, 1, plans[0].subject]), size)
    for plan in plans:
        render_clip(face, plan, seed, root, preset)
    return len(plans)


def generate_synthetic(
    out_dir,
    *,
    subjects: int = 26,
    clips_per_subject: int = 10,
    seed: int = 0,
    size: int = 224,
    jobs: int | None = None,
    progress: bool = True,
    overwrite: bool = False,
    preset: str = DEFAULT_PRESET,
) -> Path:
    """Write the dataset under ``out_dir`` and return the coding-file path.

    A finished dataset with the same settings is reused as it is. ``jobs=None`` uses every
    CPU core; ``jobs=1`` renders in this process. ``overwrite`` replaces an existing dataset
    made with other settings (otherwise that is an error). ``preset``: "real" (calibrated to real
    clips, the default) or "easy" (clean motion on a still face: the generator of format version 1).
    """
    get_preset(preset)  # an unknown name is an error before anything is written
    checks = (("subjects", subjects, 1), ("clips_per_subject", clips_per_subject, 1), ("size", size, 32), ("seed", seed, 0))
    for name, value, low in checks:
        if not isinstance(value, int) or value < low:
            raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    if subjects > 99:
        raise ValueError(f"subjects must be <= 99 (folders are sub01..sub99), got {subjects}")
    if clips_per_subject > 300:
        raise ValueError(f"clips_per_subject must be <= 300 (clip names EPxx_yy run out), got {clips_per_subject}")
    if jobs is not None and (not isinstance(jobs, int) or jobs < 1):
        raise ValueError(f"jobs must be a positive integer or None, got {jobs!r}")
    out = Path(out_dir)
    root, coding, settings_path = out / "Cropped", out / CODING_FILE, out / SETTINGS_FILE
    settings = {"subjects": subjects, "clips_per_subject": clips_per_subject, "seed": seed, "size": size,
                "fps": FPS, "preset": preset, "format_version": FORMAT_VERSION}
    if reuse_or_clear(out, settings, frames=root, table=coding, settings_file=settings_path, overwrite=overwrite):
        return coding  # finished earlier with the same settings: reuse

    plans = plan_clips(subjects, clips_per_subject, seed, preset)
    by_subject = [plans[i : i + clips_per_subject] for i in range(0, len(plans), clips_per_subject)]
    task = partial(_render_subject, seed=seed, size=size, root=root, preset=preset)
    render_subjects(task, by_subject, jobs=jobs, progress=progress, label=f"synth: {subjects} subjects",
                    total=len(plans))
    from .writer import write_coding

    write_coding(coding, plans)  # written last: its presence marks a finished dataset
    return coding


def __getattr__(name: str):
    # the CAS(ME)^3-layout generator (whole frames, a face inside a larger canvas), imported on use
    if name == "generate_synthetic_casme3":
        from .casme3 import generate_synthetic_casme3

        return generate_synthetic_casme3
    raise AttributeError(name)
