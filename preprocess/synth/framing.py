"""One synthetic clip rendered twice: as a corpus's tight face crop and as a whole video frame.

Why: a model trained on a corpus's crops (CASME II's ``Cropped``: 1.8 x the inter-ocular distance
wide, eyes at 28 % of the height, about 230 x 280 px) and applied to a raw video of the same face
only works when the application cuts the face the same way. The CASME II-layout synth frames its
crops and its whole frames alike, so it cannot show that; this generator can.

``generate_framing_pair(OUT)`` writes, for every clip of ``plan_clips`` (shortened to ``span`` frames):

- ``OUT/crops/Cropped/subXX/CLIP/reg_imgN.jpg`` and ``OUT/crops/CASME2-coding-synth.xlsx``: the
  clip as corpus crops in ``crop`` framing (the subject's face upright), which
  ``read_dataset("casme2", OUT / "crops", ...)`` reads unchanged;
- ``OUT/whole/subXX/CLIP/N.jpg``: the same clip (the same face, motion and head drift) as whole
  ``frame_size`` video frames, onset..offset only: the face rolled, off-centre and smaller, with its
  hair and backdrop around it.

Each frame is one remap of the subject's face (``face.render_face``, shaded by
``casme3.camera_shading``) through its own output-to-face map, so both renderings carry exactly the
same motion; each gets its own sensor noise and JPEG, as two cameras would.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, replace
from functools import partial
from pathlib import Path

import cv2
import numpy as np

from mpt_core.framing import Framing, unit_matrix

from .motion import au_field, envelope, head_drift
from .writer import (FLICKER_STD, NOISE_BANK, NOISE_STD, ClipPlan, camera_jpeg, plan_clips, render_subjects,
                     reuse_or_clear)

CODING_FILE = "CASME2-coding-synth.xlsx"
FORMAT_VERSION = 2  # bump when the output changes (2: placements/ beside whole/)


@dataclass(frozen=True)
class PairSettings:
    """How the two renderings frame the face."""

    crop: Framing = Framing(width_per_iod=1.8, eye_height=0.28, eye_x=0.5, aspect=230 / 280, source_size=(230, 280),
                            kind="preset")
    frame_size: tuple[int, int] = (640, 480)  # whole frames (w, h)
    frame_iod: tuple[float, float] = (85.0, 110.0)  # inter-ocular distance in the whole frame, px
    roll_deg: tuple[float, float] = (4.0, 9.0)  # |roll| of the face in the whole frame (sign drawn)
    offset: float = 0.18  # eye midpoint up to this fraction of the frame away from its centre
    face_size: int = 384  # the face is drawn at this side (about 120 px between the eyes)
    span: tuple[int, int] = (14, 22)  # onset..offset frame count of a clip

    def to_dict(self) -> dict:
        out = asdict(self)
        out["crop"] = self.crop.to_dict()
        return out


# helpers


def _shorten(plan: ClipPlan, rng: np.random.Generator, span: tuple[int, int]) -> ClipPlan:
    """The plan's clip cut to ``span`` frames (the test renders fewer frames; labels and AUs unchanged)."""
    n = int(rng.integers(span[0], span[1] + 1))
    offset = plan.onset + n - 1
    apex = plan.onset + max(1, round(rng.uniform(0.3, 0.6) * (n - 1)))
    return replace(plan, first=plan.onset - 1, apex=apex, offset=offset, last=offset + 1)


def crop_matrix(face, framing: Framing) -> np.ndarray:
    """(2, 3) face-image px -> crop px (``framing.source_size``) of a corpus-style crop."""
    w, h = framing.source_size
    unit = unit_matrix(face.points["eye_l"], face.points["eye_r"], framing)
    m = unit * np.array([[w], [h]])
    m[:, 2] -= 0.5
    return m


def whole_matrix(face, rng: np.random.Generator, settings: PairSettings) -> np.ndarray:
    """(2, 3) face-image px -> whole-frame px: scaled to ``frame_iod``, rolled, moved off-centre."""
    (lx, ly), (rx, ry) = face.points["eye_l"], face.points["eye_r"]
    iod = math.hypot(rx - lx, ry - ly)
    scale = rng.uniform(*settings.frame_iod) / iod
    roll = rng.uniform(*settings.roll_deg) * rng.choice([-1.0, 1.0])
    fw, fh = settings.frame_size
    target = (fw / 2 + rng.uniform(-1, 1) * settings.offset * fw, fh / 2 + rng.uniform(-1, 1) * settings.offset * fh)
    m = cv2.getRotationMatrix2D(((lx + rx) / 2, (ly + ry) / 2), roll, scale)
    m[:, 2] += np.array(target) - np.array([(lx + rx) / 2, (ly + ry) / 2])
    return m


def _maps(matrix: np.ndarray, width: int, height: int):
    """Output pixel -> face-image pixel maps (u, v), each (height, width) float32."""
    inv = cv2.invertAffineTransform(matrix)
    gy, gx = np.mgrid[0:height, 0:width].astype(np.float32)
    u = (inv[0, 0] * gx + inv[0, 1] * gy + inv[0, 2]).astype(np.float32)
    v = (inv[1, 0] * gx + inv[1, 1] * gy + inv[1, 2]).astype(np.float32)
    return u, v


def render_pair(face, plan: ClipPlan, seed: int, out: Path, settings: PairSettings) -> dict:
    """Write one clip's crop frames and whole frames; returns where the whole frame put the face."""
    from .casme3 import _backdrop

    rng = np.random.default_rng([seed, 22, plan.subject, plan.index])
    size = face.image.shape[0]
    field = au_field(plan.aus, face.points, size, rng)  # (2, size, size) face px
    frames = np.arange(plan.first, plan.last + 1)
    env = envelope(frames, plan.onset, plan.apex, plan.offset)
    drift = head_drift(rng, len(frames), size)
    gain = rng.uniform(0.95, 1.05) * (1 + rng.normal(0, FLICKER_STD, len(frames)))
    views = {"crops": (crop_matrix(face, settings.crop), settings.crop.source_size),
             "whole": (whole_matrix(face, rng, settings), settings.frame_size)}
    margin = 0
    prepared = {}
    for name, (matrix, (w, h)) in views.items():
        u, v = _maps(matrix, w, h)
        margin = max(margin, int(math.ceil(max(0, -u.min(), -v.min(), u.max() - size, v.max() - size))) + 4)
        moves = [cv2.remap(field[i], u, v, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT) for i in (0, 1)]
        prepared[name] = (u, v, moves, w, h)
    pad = 16  # sensor noise: random crops of a small per-view bank (fresh normals per frame cost more)
    banks = {name: rng.standard_normal((NOISE_BANK, h + pad, w + pad, 3), dtype=np.float32) * NOISE_STD
             for name, (_, _, _, w, h) in prepared.items()}
    source = _backdrop(face.image, margin)  # BGR float32, the backdrop continued around the drawn face
    folders = {"crops": out / "crops" / "Cropped" / plan.folder, "whole": out / "whole" / plan.folder}
    for folder in folders.values():
        folder.mkdir(parents=True, exist_ok=True)
    for t, n in enumerate(frames):
        for name, (u, v, (mx, my), w, h) in prepared.items():
            if name == "whole" and not plan.onset <= n <= plan.offset:
                continue  # the raw clip: onset..offset only
            map_x = u + (margin - drift[t, 0]) - env[t] * mx
            map_y = v + (margin - drift[t, 1]) - env[t] * my
            img = cv2.remap(source, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
            cy, cx = rng.integers(0, pad + 1, 2)
            noise = banks[name][t % NOISE_BANK, cy: cy + h, cx: cx + w]
            file = folders[name] / (f"reg_img{n}.jpg" if name == "crops" else f"{n}.jpg")
            file.write_bytes(camera_jpeg(img, gain[t], noise, where=str(file)).tobytes())
    return {"clip": plan.folder, "whole": views["whole"][0].tolist()}


def _render_subject(plans: list[ClipPlan], seed: int, out: Path, settings: PairSettings) -> int:
    from .casme3 import camera_shading
    from .face import render_face

    cv2.setNumThreads(1)
    face = camera_shading(render_face(np.random.default_rng([seed, 1, plans[0].subject]), settings.face_size))
    placements = [render_pair(face, plan, seed, out, settings) for plan in plans]
    (out / "placements").mkdir(exist_ok=True)  # where each whole frame put the face (face px -> frame px)
    (out / "placements" / f"sub{plans[0].subject:02d}.json").write_text(json.dumps(placements) + "\n")
    return len(plans)


def generate_framing_pair(out_dir, *, subjects: int = 3, clips_per_subject: int = 4, seed: int = 0,
                          settings: PairSettings = PairSettings(), jobs: int | None = None,
                          progress: bool = False, overwrite: bool = True) -> tuple[Path, Path]:
    """Write both renderings under ``out_dir`` (see the module docstring); returns (the crops'
    coding file, the whole frames' folder). A finished pair with the same arguments is reused; one
    made with other arguments is replaced (``overwrite``) or an error."""
    from .writer import write_coding

    out = Path(out_dir)
    coding, whole = out / "crops" / CODING_FILE, out / "whole"
    recorded = {"subjects": subjects, "clips_per_subject": clips_per_subject, "seed": seed,
                "settings": settings.to_dict(), "format_version": FORMAT_VERSION}
    if reuse_or_clear(out, recorded, frames=out / "crops" / "Cropped", table=coding,
                      settings_file=out / "synth-settings.json", overwrite=overwrite):
        return coding, whole
    import shutil

    shutil.rmtree(whole, ignore_errors=True)
    shutil.rmtree(out / "placements", ignore_errors=True)
    rng = np.random.default_rng([seed, 21])
    # the easy preset's AU choices: this pair tests framing, not how hard the motion is (its figures in
    # bench/README.md were measured so); the motion field below is au_field's own default, as before
    plans = [_shorten(p, rng, settings.span) for p in plan_clips(subjects, clips_per_subject, seed, preset="easy")]
    groups = [plans[i: i + clips_per_subject] for i in range(0, len(plans), clips_per_subject)]
    task = partial(_render_subject, seed=seed, out=out, settings=settings)
    render_subjects(task, groups, jobs=jobs, progress=progress, label="synth framing pair", total=len(plans))
    write_coding(coding, plans)  # last: marks the pair finished
    return coding, whole
