"""Framing measured and reproduced: landmarks on an image known to be one tight face crop
(``fit_crop``), a crop's framing from them (``measure_crop``), and the check that a raw frame can
be cut in a run's framing (``border_check``).

Why not dlib's detector alone on crops: a face that fills the whole image leaves the HOG window no
margin (it missed 18 % of real CASME II onset crops). An image known to be a face crop does not need
a detector: the landmarks are fitted with the whole image as the face box, checked (eyes, nose and
mouth in a plausible layout, the framing within ``PLAUSIBLE``), and only then the detector, then the
box a typical corpus crop would have (``mpt_core.framing.dlib_box`` of the CASME II preset) are tried.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from mpt_core.framing import PRESETS, Framing, dlib_box, measure

from .geometry import roll_deg, transform_points
from .transform import FaceError

# framings a tight or loose face crop can have; a fit outside them is not trusted
PLAUSIBLE = {"width_per_iod": (1.2, 4.5), "eye_height": (0.08, 0.62), "eye_x": (0.3, 0.7)}
MAX_FIT_ROLL_DEG = 25.0
FIT_ORDER = ("detector", "image", "prior")  # how a crop's landmarks were found, in the order tried
MAX_OUTSIDE = 0.15  # fraction of a framed crop's area allowed beyond the frame (edge pixels repeated there)


@dataclass(frozen=True)
class CropFit:
    """The landmarks of one face crop and how they were found."""

    points: np.ndarray | None  # (68, 2) crop px, None when every way failed
    how: str | None  # one of FIT_ORDER, None when every way failed
    framing: Framing | None  # measured from ``points``
    roll_deg: float | None

    def to_dict(self) -> dict:
        """The per-clip JSON the cache's ``face`` field holds for a corpus that ships crops."""
        return {"framing": None if self.framing is None else self.framing.to_dict(), "landmarks_from": self.how,
                "roll_deg": None if self.roll_deg is None else round(self.roll_deg, 2)}


def plausible(points: np.ndarray, width: int, height: int) -> bool:
    """Whether 68 points look like one upright face in a crop: eyes above the nose tip above the
    mouth, the nose tip between the eyes, the eyes of similar size, the framing within PLAUSIBLE."""
    from .landmarks import eye_centres

    left, right = eye_centres(points)
    iod = float(np.hypot(*(right - left)))
    if iod < 4 or abs(roll_deg(left, right)) > MAX_FIT_ROLL_DEG:
        return False
    f = measure(left, right, width, height)
    for name, (low, high) in PLAUSIBLE.items():
        if not low <= getattr(f, name) <= high:
            return False
    mid = (left + right) / 2
    nose, mouth = points[30], points[48:68].mean(axis=0)
    if not mid[1] < nose[1] < mouth[1] or abs(nose[0] - mid[0]) > 0.35 * iod:
        return False
    sizes = [np.ptp(points[s, 0]) for s in (slice(36, 42), slice(42, 48))]
    return min(sizes) > 0.5 * max(sizes)


def fit_crop(image: np.ndarray, prior: Framing = PRESETS["casme2"]) -> CropFit:
    """dlib's 68 landmarks on an (H, W, 3) RGB or (H, W) grey image known to be one face crop: the
    detector's (``detect``, thorough), else the whole image as the face box (the detector misses some faces
    that fill the image), else ``prior``'s typical box; each fit is refined in a levelled crop and checked
    (``plausible``) before it is taken. The detector comes first: the whole-image box fits tight crops
    (CASME II's framing) well, but a looser crop (``mpt synth``'s, mpt's own) is wider than the boxes dlib's
    shape model was trained on, and a third of such fits put the eyes 3-30 px off while passing
    ``plausible`` (tuning seed 1 of the calibrated synthetic world, 48 onset frames against the rendered
    eyes: whole image mean 8.7 px, the detector's box 1.9 px)."""
    from .detect import detect
    from .landmarks import eye_centres, fit_landmarks, refine, to_gray

    gray = to_gray(np.asarray(image))
    h, w = gray.shape
    tries = {
        "image": lambda: refine(gray, fit_landmarks(gray, (0, 0, w, h))),
        "detector": lambda: getattr(detect(gray), "points", None),
        "prior": lambda: refine(gray, fit_landmarks(gray, dlib_box(prior, w, h))),
    }
    for how in FIT_ORDER:
        points = tries[how]()
        if points is not None and len(points) == 68 and plausible(points, w, h):
            left, right = eye_centres(points)
            return CropFit(points, how, measure(left, right, w, h), roll_deg(left, right))
    return CropFit(None, None, None, None)


def border_check(matrix: np.ndarray, source_size, *, where: str, framing: Framing) -> list[str]:
    """Warnings for a framed crop (``matrix``: input px -> unit crop) that reaches past the frame
    (edge pixels are repeated there: how much, per side); FaceError when more than MAX_OUTSIDE of
    the crop lies outside (the face is cut by the border: the run's framing cannot be reproduced)."""
    from .geometry import invert

    width, height = source_size
    back = invert(matrix)  # unit crop -> input px
    n = 64  # a grid over the crop: the fraction of its area that falls outside the frame
    u = (np.arange(n) + 0.5) / n
    grid = np.stack(np.meshgrid(u, u), axis=-1).reshape(-1, 2)
    pts = transform_points(back, grid)
    outside = (pts[:, 0] < -0.5) | (pts[:, 0] > width - 0.5) | (pts[:, 1] < -0.5) | (pts[:, 1] > height - 0.5)
    share = float(outside.mean())
    if share == 0.0:
        corners = transform_points(back, [(0, 0), (1, 0), (0, 1), (1, 1)])
        if corners.min() >= -0.5 and (corners[:, 0] <= width - 0.5).all() and (corners[:, 1] <= height - 0.5).all():
            return []
    corners = transform_points(back, [(0, 0), (1, 0), (0, 1), (1, 1)])
    sides = {"left": -0.5 - corners[:, 0].min(), "top": -0.5 - corners[:, 1].min(),
             "right": corners[:, 0].max() - (width - 0.5), "bottom": corners[:, 1].max() - (height - 0.5)}
    past = ", ".join(f"{math.ceil(v)} px beyond the {k} edge" for k, v in sides.items() if v > 0.5) or "under a pixel"
    if share > MAX_OUTSIDE:
        raise FaceError(f"{where}: the face is cut by the frame's border: {100 * share:.0f} % of the crop the run's "
                        f"framing needs lies outside the frame ({past}; at most "
                        f"{100 * MAX_OUTSIDE:.0f} % can be padded); use footage with the whole face in view")
    if share == 0.0 or past == "under a pixel":
        return []
    return [f"{where}: the {framing.kind} framing's crop reaches past the frame ({past}, {100 * share:.1f} % of "
            "the crop); edge pixels are repeated there"]


def frame_matrix(left, right, framing: Framing) -> np.ndarray:
    """(2, 3) input px -> unit crop in ``framing`` (mpt's own canonical matrix, bit for bit, when
    ``framing`` is canonical: caches of whole-frame corpora stay as they were)."""
    from mpt_core.framing import unit_matrix

    from .geometry import align_matrix

    return align_matrix(left, right) if framing.is_canonical else unit_matrix(left, right, framing)


def cache_framing(entries, sources, face_of_source) -> dict:
    """The cache's ``framing`` attribute from its rows' ``face`` JSON (``entries``, one per clip, with
    the clip's source corpus in ``sources``): per corpus that ships crops, the typical (median)
    measured framing, its spread, how the landmarks were found and how many clips fell back to the
    typical framing; per whole-frame corpus the framing its aligner cropped in. ``face_of_source``:
    source -> ``FaceOptions``. ``typical`` is the framing of most clips (what an application reproduces)."""
    import json
    from collections import Counter

    from mpt_core.framing import CANONICAL, spread, typical

    by_source: dict = {}
    for entry, source in zip(entries, sources):
        by_source.setdefault(source, []).append(json.loads(entry) if entry else {})
    out = {"sources": {}}
    for source, rows in sorted(by_source.items()):
        options = face_of_source(source)
        if options.method != "none":
            framing = options.framing or CANONICAL
            out["sources"][source] = {"clips": len(rows), "typical": framing.to_dict(),
                                      "from": f"mpt's crop of whole frames ({options.aligner})"}
            continue
        measured = [Framing.from_dict(r["framing"]) for r in rows if r.get("framing")]
        found = Counter(r.get("landmarks_from") for r in rows if r.get("framing"))
        record = {"clips": len(rows), "landmarks_found": len(measured),
                  "landmarks_from": {how: found.get(how, 0) for how in FIT_ORDER},
                  "fell_back": len(rows) - len(measured), "from": "measured on each clip's onset crop"}
        if measured:
            record["typical"] = typical(measured).to_dict()
            record["spread_p10_p90"] = spread(measured)
        else:
            record["typical"] = None
        out["sources"][source] = record
    largest = max(out["sources"].values(), key=lambda r: r["clips"])
    out["typical"] = largest["typical"]
    return out


def framing_summary(record: dict) -> str:
    """One log line per source of a cache's ``framing`` attribute."""
    lines = []
    for source, r in record["sources"].items():
        what = Framing.from_dict(r["typical"]).describe() if r["typical"] else "no framing (no landmarks found)"
        if "landmarks_found" in r:
            ways = ", ".join(f"{n} {how}" for how, n in r["landmarks_from"].items() if n)
            what += (f"; landmarks on {r['landmarks_found']} of {r['clips']} onset crops ({ways or 'none'}), "
                     f"{r['fell_back']} fell back to the typical framing")
        lines.append(f"framing of {source}: {what}")
    return "\n".join(lines)
