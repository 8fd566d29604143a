"""From region positions to spotted intervals: the score, blinks, Moilanen's threshold, peaks, intervals.

Step by step (``positions`` come from ``spot_signal``; a frame here is a processed frame, every
``step``-th frame of the input, at ``rate`` = fps / step frames per second):

1. Deviation. Each region's position minus its neutral position (``spot_neutral``: its median over
   the calmest stretch of the video, within ``baseline_s`` (8 s) around the frame, or the whole video
   when shorter) is that region's deviation; its length, divided by the region's noise (the median
   frame-to-frame displacement: unlike the median deviation it is not the expression's size in a
   clip that is mostly expression), is the region's score. Lost frames are NaN throughout. The
   score's neutral level is its median over the calm stretches.
2. Score and blinks. The frame's score is the largest region score outside the eyelids (the eyelid
   regions' is drawn beside it). A peak around which the eyelids moved more than ``blink_ratio`` (3)
   times as many pixels as any region below the eyes, and ``blink_brow_ratio`` (2) times as many as
   the brows, is a blink (AU45, not an expression in MEGC) and yields no interval; it is listed as a
   blink. The brows have their own ratio because the lids drag them: with the landmark tracker the
   outer brows moved a quarter to a third of the lids in a blink, the regions below the eyes a tenth
   or less; an expression that moves the brows moves them at least as much as the lids. Eyelid-only
   expressions (AU5 or AU7 alone) are therefore set aside as blinks too.
3. Threshold. T = mean + p x (max - mean) of the video's score (Moilanen et al., as in the MEGC
   baselines), but at least ``noise_floor`` (2) times the score's neutral level: where nothing happens
   (the second pass of a video without micro-expressions) the rule alone would put T in the noise.
   ``p`` is never chosen on a test subject: ``choose_p`` picks it on other subjects.
4. Peaks. Local maxima above T, the highest first, each at least k frames from a taken one and
   moving some region at least ``min_px`` (0.1 crop px: a face that does not move at all, its
   positions wandering by hundredths of a pixel, scores high against its own tiny jitter), where
   k = ``k_s`` x rate (about half a micro-expression: 0.2 s, 6 frames at 30 fps; at 200 fps with
   every 7th frame, 6 processed frames = 42 input frames) and not inside an interval already taken.
5. Intervals. Around a peak, the frames whose score stays above ``extent`` (a fraction) of the peak's
   height over the score's neutral level, without crossing a lost frame. For a raised-cosine onset and
   offset that run is ``1 - acos(1 - 2 extent) / pi`` of the expression (70 % at 0.2), so it is
   widened by ``pad`` of its length on each side to estimate the whole expression; but a held
   expression's run is mostly its hold, so each side is widened by no more than its own ramp
   implies (``ramp_pad``: a raised cosine takes 0.72 times its 20-80 % rise to climb to 20 %; the
   80 % is of the run's upper quartile, which a tremor spike does not move). Runs shorter than
   ``min_s`` are noise; longer than ``macro_max_s`` (4 s), they are cut to 4 s around the peak.
6. Type. Micro when the interval lasts at most ``micro_max_s`` (0.5 s), else macro (its length in
   seconds: ``(offset - onset + 1) / rate``, so the type does not depend on the frame step).
   An interval that starts at the video's first frame (or right after a lost stretch) while the calm
   stretch lies elsewhere is marked ``starts_before``: the video starts mid-expression (or the face
   came back mid-expression) and the true onset was not seen.
7. Second pass. Steps 3-6 again on the score with the first pass's intervals and blinks set to its
   median: one video's macro-expressions (scores of 20-40) would otherwise set a threshold no
   micro-expression (5-10) reaches. On the design seed this took micro F1 from 0.4 to 0.8.
Frame indices map back to the input's numbering in the caller: processed frame i is input frame i x step.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import asdict, dataclass

import numpy as np

from .spot_neutral import neutral_reference
from .spot_signal import BROW_REGIONS, EYE_REGIONS, FACE_REGIONS, LOWER_REGIONS

DEFAULT_P = 0.3  # the best overall F1 on synthetic long videos of the design seed (see docs/guide/spotting.md, `mpt spot`)
P_GRID = tuple(round(0.05 * i, 2) for i in range(1, 15))  # 0.05 .. 0.7


@dataclass(frozen=True)
class SpotSettings:
    k_s: float = 0.2  # peak distance: about half a micro-expression
    baseline_s: float = 8.0  # window the neutral face's calm stretch is sought in (whole video if shorter)
    calm_s: float = 0.15  # window of the motion energy that finds the calm stretch
    calm_tie: float = 1.5  # windows this close to the calmest are as calm (which one: see spot_neutral)
    extent: float = 0.2  # an interval is where the score stays above this fraction of its peak
    min_s: float = 0.1  # shorter runs are noise
    micro_max_s: float = 0.5  # the longest micro-expression
    macro_max_s: float = 4.0  # the longest macro-expression
    noise_floor: float = 2.0  # a peak must reach this many times the score's neutral level, whatever p says
    blink_ratio: float = 3.0  # eyelid over lower-face displacement (pixels) above which a peak is a blink ...
    blink_brow_ratio: float = 2.0  # ... when the eyelids also moved this many times more than the brows
    min_px: float = 0.1  # a peak must move some region this far from neutral (crop px, 128 px side)

    @property
    def pad(self) -> float:
        """Widening of a run on each side, as a fraction of its length (see the module docstring)."""
        covered = 1 - math.acos(1 - 2 * self.extent) / math.pi
        return (1 / covered - 1) / 2

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Spotted:
    onset: int  # processed-frame indices
    apex: int
    offset: int
    type: str  # "micro" | "macro"
    score: float  # the peak's score
    starts_before: bool = False  # at the first frame (or right after a loss), away from the neutral face


@dataclass(frozen=True)
class Scores:
    face: np.ndarray  # (N,) score, NaN where lost
    eyes: np.ndarray  # (N,) eyelid score
    brow_px: np.ndarray | None = None  # (N,) largest deviation of the brows and glabella, crop pixels
    lower_px: np.ndarray | None = None  # (N,) largest deviation below the eyes (cheeks, nose, mouth, chin)
    eyes_px: np.ndarray | None = None  # (N,) largest eyelid deviation, crop pixels
    level: float | None = None  # the face score's neutral level (its median over the calm stretches)
    neutral: tuple = ()  # the calm stretches (first, last processed frame) the neutral face came from

    def floor(self) -> float:
        """The score's neutral level (the median over all frames where none was measured)."""
        if self.level is not None and np.isfinite(self.level):
            return float(self.level)
        return float(np.nanmedian(self.face)) if np.isfinite(self.face).any() else 0.0


def window(seconds: float, rate: float) -> int:
    """A duration in processed frames (at least 1)."""
    return max(1, int(round(seconds * rate)))


def default_step(fps: float) -> int:
    """Process about 30 frames per second: 1 at 30 fps, 7 at 200 fps (MEGC's practice for SAMM-LV)."""
    return max(1, int(round(fps / 30.0)))


SHORTEST_S = 0.2  # the shortest expression spotted: a short micro-expression (MEGC annotates from about 0.2 s)
MIN_FRAMES = 3  # processed frames the shortest expression must span: a rise, a peak and a fall


def max_step(fps: float) -> int:
    """The largest frame step that keeps ``MIN_FRAMES`` processed frames in ``SHORTEST_S``: 2 at 30 fps,
    13 at 200 fps (at least 1)."""
    return max(1, int(math.floor(fps * SHORTEST_S / MIN_FRAMES + 1e-9)))


def check_step(step: int, fps: float, where: str) -> None:
    """ValueError naming ``where`` when every ``step``-th frame at ``fps`` is too sparse for the
    shortest expression (at 30 fps, ``--step 30`` made one-frame intervals a second long)."""
    if step > max_step(fps):
        raise ValueError(f"{where}: --step {step} at {fps:g} fps processes a frame every {step / fps:.3g} s; the "
                         f"shortest expression ({SHORTEST_S:g} s) needs {MIN_FRAMES} processed frames: use --step "
                         f"{max_step(fps)} or less")


def running_median(x: np.ndarray, width: int) -> np.ndarray:
    """Median of the valid (finite) values of x in a centred window of ``width``, per column; the
    median of each block of ``stride`` frames is computed once (a long median barely moves in a few
    frames), then held."""
    n = len(x)
    out = np.full(x.shape, np.nan)
    half = width // 2
    stride = max(1, width // 16)
    for start in range(0, n, stride):
        lo, hi = max(0, start + stride // 2 - half), min(n, start + stride // 2 + half + 1)
        block = x[lo:hi]
        with np.errstate(all="ignore"):
            if np.isfinite(block).any():
                out[start : start + stride] = np.nanmedian(block, axis=0)
    return out


def scores(positions: np.ndarray, rate: float, settings: SpotSettings = SpotSettings()) -> Scores:
    """Face and blink scores (N,) of region positions (N, R, 2) (steps 1-2)."""
    positions = np.asarray(positions, np.float64)
    n = len(positions)
    if n == 0:
        return Scores(np.zeros(0), np.zeros(0), np.zeros(0), np.zeros(0), np.zeros(0))
    neutral = neutral_reference(positions, window(settings.calm_s, rate), window(settings.baseline_s, rate),
                                settings.calm_tie)
    dev = np.linalg.norm(positions - neutral.reference, axis=2)  # (N, R), NaN where lost
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns: a face lost throughout
        jitter = np.nanmedian(np.linalg.norm(np.diff(positions, axis=0), axis=2), axis=0) if n > 1 else None
    noise = jitter if jitter is not None else np.full(positions.shape[1], np.nan)
    noise = np.where(np.isfinite(noise) & (noise > 1e-3), noise, 1e-3)
    z = dev / noise
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN rows: lost frames
        face, eyes = (np.nanmax(z[:, list(r)], axis=1) for r in (FACE_REGIONS, EYE_REGIONS))
        brow_px, lower_px, eyes_px = (np.nanmax(dev[:, list(r)], axis=1)
                                      for r in (BROW_REGIONS, LOWER_REGIONS, EYE_REGIONS))
    lost = ~np.isfinite(positions).all(axis=(1, 2))
    for a in (face, eyes, brow_px, lower_px, eyes_px):
        a[lost] = np.nan
    calm = face[neutral.mask]
    level = float(np.nanmedian(calm)) if np.isfinite(calm).any() else None
    return Scores(face, eyes, brow_px, lower_px, eyes_px, level, neutral.stretches)


def moilanen_threshold(score: np.ndarray, p: float) -> float:
    """T = mean + p x (max - mean) over the valid frames (Moilanen et al. 2014)."""
    valid = score[np.isfinite(score)]
    if not len(valid):
        return math.inf
    mean = float(valid.mean())
    return mean + p * (float(valid.max()) - mean)


def _run(score: np.ndarray, peak: int, level: float) -> tuple[int, int]:
    """The run of frames around ``peak`` whose score stays >= level (NaN stops it)."""
    lo = peak
    while lo > 0 and score[lo - 1] >= level:
        lo -= 1
    hi = peak
    while hi + 1 < len(score) and score[hi + 1] >= level:
        hi += 1
    return lo, hi


def ramp_pad(score: np.ndarray, edge: int, peak: int, top: float, direction: int) -> float:
    """Frames to widen a run's edge by, from the ramp between ``edge`` (the 20 % crossing) and the
    first frame toward ``peak`` at or above ``top`` (80 %): a raised cosine spends 0.295 of its rise
    below 20 % and 0.41 between 20 and 80 %, hence 0.72 times that ramp."""
    i = edge
    while i != peak and not score[i] >= top:
        i += direction
    return 0.72 * abs(i - edge) + 0.5  # half a frame: the crossing lies between frames


def _is_blink(sc: Scores, lo: int, hi: int, settings: SpotSettings) -> bool:
    """Over frames lo..hi the eyelids moved ``blink_ratio`` times more pixels than any region below
    the eyes, and ``blink_brow_ratio`` times more than the brows (which the lids drag along)."""
    if sc.eyes_px is None:
        return False
    eye, brow, lower = (a[lo : hi + 1] for a in (sc.eyes_px, sc.brow_px, sc.lower_px))
    if not np.isfinite(eye).any():
        return False
    eye = np.nanmax(eye)
    return bool(eye > settings.blink_ratio * np.nanmax(lower) and eye > settings.blink_brow_ratio * np.nanmax(brow))


def _pass(face: np.ndarray, sc: Scores, rate: float, p: float, settings: SpotSettings,
          taken: list[Spotted], floor: float) -> tuple[list[Spotted], list[int]]:
    """One threshold pass (steps 3-5): intervals and blink peaks, none inside ``taken``'s intervals;
    ``floor``: the score's neutral level."""
    n = len(face)
    threshold = moilanen_threshold(face, p)
    if not math.isfinite(threshold):
        return [], []
    threshold = max(threshold, settings.noise_floor * floor)
    valid = np.where(np.isfinite(face), face, -np.inf)
    left = np.concatenate([[-np.inf], valid[:-1]])
    right = np.concatenate([valid[1:], [-np.inf]])
    candidates = np.flatnonzero((valid >= threshold) & (valid >= left) & (valid >= right))
    k = window(settings.k_s, rate)
    peaks: list[int] = []
    out: list[Spotted] = []
    blinks: list[int] = []
    for peak in sorted(candidates, key=lambda i: (-valid[i], i)):
        if any(abs(peak - t) < k for t in peaks) or any(s.onset <= peak <= s.offset for s in out + taken):
            continue
        if sc.brow_px is not None and not max(sc.brow_px[peak], sc.lower_px[peak], sc.eyes_px[peak]) >= settings.min_px:
            continue  # a still face wandering by hundredths of a pixel: high scores, no motion
        peaks.append(int(peak))
        lo, hi = _run(valid, int(peak), floor + settings.extent * (valid[peak] - floor))
        if _is_blink(sc, lo, hi, settings):
            blinks.append(int(peak))
            continue
        length = hi - lo + 1
        if length < settings.min_s * rate:
            continue
        pad = settings.pad * length
        # the ramp's top: 80 % of the run's upper quartile, not of the peak (a held expression's
        # tremor puts its peak above the hold, and a ramp to it would take in half the hold)
        top = floor + 0.8 * (float(np.percentile(valid[lo : hi + 1], 75)) - floor)
        lo = max(0, lo - int(round(min(pad, ramp_pad(valid, lo, int(peak), top, +1)))))
        hi = min(n - 1, hi + int(round(min(pad, ramp_pad(valid, hi, int(peak), top, -1)))))
        while not np.isfinite(face[lo]):  # widening never reaches into a lost frame
            lo += 1
        while not np.isfinite(face[hi]):
            hi -= 1
        longest = window(settings.macro_max_s, rate)
        if hi - lo + 1 > longest:
            lo = max(lo, int(peak) - longest // 2)
            hi = min(hi, lo + longest - 1)
        if any(lo <= s.offset and s.onset <= hi for s in taken):
            continue  # a weaker echo of an interval of the first pass
        kind = "micro" if (hi - lo + 1) / rate <= settings.micro_max_s else "macro"
        # an onset at the first frame, or right after a lost stretch, was not seen unless the neutral
        # face itself starts there
        unseen = lo == 0 or not np.isfinite(face[lo - 1])
        before = unseen and bool(sc.neutral) and all(a != lo for a, _ in sc.neutral)
        out.append(Spotted(lo, int(peak), hi, kind, float(valid[peak]), before))
    return out, blinks


def spot(sc: Scores, rate: float, p: float, settings: SpotSettings = SpotSettings()) -> tuple[list[Spotted], list[int]]:
    """(intervals, blink peaks) of one video's scores at threshold fraction ``p`` (steps 3-7)."""
    floor = sc.floor()
    first, blinks = _pass(sc.face, sc, rate, p, settings, [], floor)
    # step 7: the second pass sees the score without the first pass's intervals and blinks
    rest = sc.face.copy()
    k = window(settings.k_s, rate)
    untaken = np.ones(len(rest), bool)
    for s in first:
        untaken[s.onset : s.offset + 1] = False
    for b in blinks:
        untaken[max(0, b - k) : b + k + 1] = False
    rest[~untaken] = np.where(np.isfinite(rest[~untaken]), floor, np.nan)
    # its floor: the level of what is left where the first pass took something (a real neutral face
    # wanders more than its calmest stretch: on the real smile clip, 2 x the calm level let the
    # wandering of the 0.5 s before the smile through as two "micro-expressions")
    if first and np.isfinite(sc.face[untaken]).any():
        floor = max(floor, float(np.nanmedian(sc.face[untaken])))
    second, more_blinks = _pass(rest, sc, rate, p, settings, first, floor)
    return sorted(first + second, key=lambda s: s.onset), sorted(blinks + more_blinks)


def choose_p(videos: list, score_of, grid=P_GRID) -> tuple[float, dict[float, float]]:
    """The p of ``grid`` with the best ``score_of(p, videos)`` (overall F1 over those videos; the
    caller passes only training subjects' videos). Where several p tie, the middle one (the lower of
    two): the centre of a plateau is the choice least likely to fall off it on a new subject.
    Returns (p, {p: F1})."""
    table = {p: float(score_of(p, videos)) for p in grid}
    best = max(table.values())
    tied = sorted(p for p, v in table.items() if v == best)
    return tied[(len(tied) - 1) // 2], table
