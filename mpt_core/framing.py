"""How a cache's faces are framed: the crop's geometry relative to the eyes (``Framing``), recorded
in every cache and copied into every run's ``config.json``, so that an application of the run can
cut a raw video's face the way the training crops were cut.

A framing is measured on the eye centres of dlib's 68 landmarks (the mean of each eye's six
points). The crop is an upright rectangle ``aspect`` = width / height, ``width_per_iod`` times the
inter-ocular distance (IOD) wide, with the eye midpoint at ``eye_x`` of its width and ``eye_height``
of its height from the top; the cache squeezes it to S x S. Two kinds exist:

- "canonical": mpt's own crop of a whole frame (``preprocess.face.geometry``): square, 2.8 IOD,
  eyes at 36 % of the height, the eye line levelled.
- "measured": a corpus that ships crops (CASME II's ``Cropped``, SAMM, SMIC): its crops as they are,
  measured by fitting the landmarks on each clip's onset crop; the cache records each clip's and the
  corpus's typical (median) framing. Such crops keep the subject's roll; an application levels it.

Pure geometry: numpy only (the pipeline measures, the application crops, both through this record).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

KINDS = ("canonical", "measured", "preset")


class FramingError(ValueError):
    """A framing record that cannot be used; the message says which and why."""


@dataclass(frozen=True)
class Framing:
    """An upright face crop relative to the eye centres (see the module docstring)."""

    width_per_iod: float = 2.8  # crop width / inter-ocular distance
    eye_height: float = 0.36  # eye line, as a fraction of the crop height from the top
    eye_x: float = 0.5  # eye midpoint, as a fraction of the crop width from the left
    aspect: float = 1.0  # crop width / height before the squeeze to S x S
    source_size: tuple[int, int] | None = None  # typical crop (w, h) in the corpus's pixels; None: mpt's crop
    kind: str = "canonical"  # one of KINDS

    def __post_init__(self):
        checks = (("width_per_iod", self.width_per_iod, 0.5, 10.0), ("eye_height", self.eye_height, 0.0, 1.0),
                  ("eye_x", self.eye_x, 0.0, 1.0), ("aspect", self.aspect, 0.2, 5.0))
        for name, value, low, high in checks:
            if not isinstance(value, (int, float)) or not math.isfinite(value) or not low < value < high:
                raise FramingError(f"framing {name} {value!r}: expected a number in ({low}, {high})")
        if self.kind not in KINDS:
            raise FramingError(f"framing kind {self.kind!r}: expected one of {', '.join(KINDS)}")
        if self.source_size is not None and (len(self.source_size) != 2 or min(self.source_size) < 1):
            raise FramingError(f"framing source_size {self.source_size!r}: expected (width, height) in pixels")

    @property
    def is_canonical(self) -> bool:
        return self.same_geometry(CANONICAL)

    def same_geometry(self, other: Framing, tol: float = 1e-6) -> bool:
        a, b = self.geometry(), other.geometry()
        return all(abs(x - y) <= tol for x, y in zip(a, b))

    def geometry(self) -> tuple[float, float, float, float]:
        return (self.width_per_iod, self.eye_height, self.eye_x, self.aspect)

    def describe(self) -> str:
        """One line: what a person needs to picture the crop."""
        size = (f", typically {self.source_size[0]} x {self.source_size[1]} px" if self.source_size else "")
        shape = "square" if abs(self.aspect - 1) < 1e-3 else f"width/height {self.aspect:.2f}"
        return (f"{self.kind} framing: width {self.width_per_iod:.2f} x the inter-ocular distance, eyes at "
                f"{100 * self.eye_height:.0f} % of the height and {100 * self.eye_x:.0f} % of the width, "
                f"{shape}{size}")

    def to_dict(self) -> dict:
        out = asdict(self)
        out["source_size"] = None if self.source_size is None else [int(v) for v in self.source_size]
        return out

    @classmethod
    def from_dict(cls, data) -> Framing:
        fields = {"width_per_iod", "eye_height", "eye_x", "aspect", "source_size", "kind"}
        if not isinstance(data, dict) or set(data) != fields:
            got = sorted(data) if isinstance(data, dict) else type(data).__name__
            raise FramingError(f"framing record: expected keys {sorted(fields)}, got {got}")
        size = data["source_size"]
        try:
            return cls(width_per_iod=float(data["width_per_iod"]), eye_height=float(data["eye_height"]),
                       eye_x=float(data["eye_x"]), aspect=float(data["aspect"]),
                       source_size=None if size is None else (int(size[0]), int(size[1])), kind=str(data["kind"]))
        except (TypeError, ValueError, IndexError) as err:
            if isinstance(err, FramingError):
                raise
            raise FramingError(f"framing record: malformed value ({err})") from None


CANONICAL = Framing()
# CASME II's ``Cropped`` faces as measured on 200 real crops (issue 25): width 1.80 x IOD (10th-90th
# percentile 1.74-1.88), eyes at 28 % of the height (27-29 %), about 230 x 280 px.
PRESETS = {
    "canonical": CANONICAL,
    "casme2": Framing(width_per_iod=1.80, eye_height=0.28, eye_x=0.5, aspect=230 / 280, source_size=(230, 280),
                      kind="preset"),
}


def measure(left, right, width: int, height: int) -> Framing:
    """The framing of one upright crop of ``width`` x ``height`` px whose eye centres are ``left``,
    ``right`` (crop pixels, centres at integers)."""
    (lx, ly), (rx, ry) = left, right
    iod = math.hypot(rx - lx, ry - ly)
    if iod <= 0:
        raise FramingError("framing: the two eye centres coincide")
    # pixel centres at integers: the crop spans -0.5 .. width - 0.5
    return Framing(width_per_iod=width / iod, eye_height=((ly + ry) / 2 + 0.5) / height,
                   eye_x=((lx + rx) / 2 + 0.5) / width, aspect=width / height, source_size=(int(width), int(height)),
                   kind="measured")


def typical(framings, kind: str = "measured") -> Framing:
    """The median of each geometric figure over ``framings`` (and the median crop size)."""
    framings = list(framings)
    if not framings:
        raise FramingError("framing: no clip was measured")
    med = np.median(np.array([f.geometry() for f in framings], dtype=np.float64), axis=0)
    sizes = [f.source_size for f in framings if f.source_size is not None]
    size = tuple(int(round(v)) for v in np.median(np.array(sizes), axis=0)) if sizes else None
    return Framing(width_per_iod=round(float(med[0]), 4), eye_height=round(float(med[1]), 4),
                   eye_x=round(float(med[2]), 4), aspect=round(float(med[3]), 4), source_size=size, kind=kind)


def spread(framings) -> dict:
    """10th and 90th percentiles of each figure (what the corpus's crops vary by)."""
    arr = np.array([f.geometry() for f in framings], dtype=np.float64)
    names = ("width_per_iod", "eye_height", "eye_x", "aspect")
    return {n: [round(float(np.percentile(arr[:, i], 10)), 4), round(float(np.percentile(arr[:, i], 90)), 4)]
            for i, n in enumerate(names)}


def unit_matrix(left, right, framing: Framing) -> np.ndarray:
    """(2, 3) input px -> the framing's crop in unit coordinates (0..1 across its width and its
    height), the eye line levelled. The canonical framing gives ``geometry.align_matrix``'s matrix."""
    (lx, ly), (rx, ry) = left, right
    dx, dy = rx - lx, ry - ly
    iod = math.hypot(dx, dy)
    width = framing.width_per_iod * iod
    height = width / framing.aspect
    c, s = dx / iod, dy / iod  # rotation taking the eye line to +x
    linear = np.array([[c / width, s / width], [-s / height, c / height]])
    mid = np.array([(lx + rx) / 2, (ly + ry) / 2])
    shift = np.array([framing.eye_x, framing.eye_height]) - linear @ mid
    return np.hstack([linear, shift[:, None]])


def dlib_box(framing: Framing, width: int, height: int) -> tuple[float, float, float, float]:
    """(x, y, w, h) where dlib's face detector would put its box on a ``width`` x ``height`` crop
    framed by ``framing``: dlib's box relative to the eyes, as it sits in mpt's canonical crop
    (centre 0.392 IOD below the eye midpoint, side 2.18 IOD)."""
    iod = width / framing.width_per_iod
    side = 0.78 * CANONICAL.width_per_iod * iod
    cx = framing.eye_x * width - 0.5
    cy = framing.eye_height * height - 0.5 + (0.5 - CANONICAL.eye_height) * CANONICAL.width_per_iod * iod
    return (cx - side / 2, cy - side / 2, side, side)


def face_record(identity_face, framing_attr: dict | None) -> dict:
    """What a run's ``config.json`` records of how its cache made faces: ``mode`` (the ``--face``
    value: auto, haar or none), ``landmarks`` ("68"/"5" for auto), ``track``, ``aligner`` and
    ``framing`` (the cache's typical framing as a dict, None for a cache made before framings were
    recorded). ``identity_face``: the cache identity's ``face`` (absent for corpora that ship crops)."""
    framing = (framing_attr or {}).get("typical")
    face = identity_face
    if isinstance(face, dict) and "framing" in face:  # a whole-frame cache in a non-canonical framing
        face = face["aligner"]
    track = isinstance(face, dict)
    aligner = face.get("aligner") if track else face
    if aligner in ("landmarks68", "landmarks5"):
        mode, landmarks = "auto", aligner.removeprefix("landmarks")
    elif aligner == "auto":  # Haar: caches keep the value they had before landmarks
        mode, landmarks, aligner = "haar", None, "haar"
    else:  # None (cropped corpora) or "none": frames used as they are
        mode, landmarks, aligner = "none", None, None
    return {"mode": mode, "landmarks": landmarks, "track": track, "aligner": aligner, "framing": framing}


def reframe(canonical: np.ndarray, framing: Framing) -> np.ndarray:
    """(2, 3) input px -> ``framing``'s unit crop, from a matrix into mpt's canonical unit crop (both
    are fixed relative to the levelled eyes, so one scale and shift per axis relates them: how a
    tracked clip's per-frame matrices are cut in a corpus's framing)."""
    c = CANONICAL
    kx = c.width_per_iod / framing.width_per_iod
    ky = c.width_per_iod * framing.aspect / framing.width_per_iod
    a = np.array([[kx, 0.0, framing.eye_x - kx * c.eye_x], [0.0, ky, framing.eye_height - ky * c.eye_height]])
    m = np.vstack([np.asarray(canonical, dtype=np.float64), [0.0, 0.0, 1.0]])
    return a @ m
