"""``mpt spot``: long inputs or a whole corpus -> stabilised face -> region positions -> scores -> intervals.

Per input (``spot_signal`` and ``spotting`` hold the steps and their reasons):
1. every ``step``-th frame is read (``spotting.default_step``: about 30 per second), twice: once to
   track the face (``tracking.track_frames``), once to warp each frame to the stabilised
   ``CROP`` x ``CROP`` grey crop (eyes at ``CANONICAL_EYES``);
2. ``spot_signal.RegionPositions`` gives the 18 regions' positions, ``spotting.scores`` the face
   and blink scores, ``spotting.spot`` the intervals at threshold fraction p;
3. processed frame i maps back to the input's frame ``numbers[i * step]``: an interval's onset and
   offset are the input frames of its first and last processed frames; ``lost`` lists every input
   frame in a lost processed frame's block of ``step``.
With ``--dataset``, p is chosen for each subject by leave-one-subject-out: the p of
``spotting.P_GRID`` with the best overall F1 on the other subjects' videos (each fold's p is
reported); the scores are computed once per video, so the choice costs no flow.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from mpt_core.spot_metric import Counts, Spot, as_json, evaluate
from mpt_core.spot_signal import RegionPositions
from mpt_core.spotting import (DEFAULT_P, P_GRID, Scores, SpotSettings, check_step, choose_p, default_step, scores,
                               spot, window)

from mpt.rawclip import warn
from mpt.verdicts import check_face_found, truncation

from .source import LongInput, open_input
from .tracking import track_frames

CROP = 128  # stabilised crop side, pixels
REFRESH_S = 2.0  # seconds between flow references
MIN_VIDEO_S = 1.0  # shorter inputs cannot hold an expression and the neutral face around it


class SpotInputError(ValueError):
    """An input the spotter cannot use; the message names it and says why."""


@dataclass
class VideoSignal:
    """What one input gives before a threshold is chosen."""

    input: LongInput
    step: int
    rate: float  # processed frames per second
    numbers: list[int]  # input frame number of each processed frame
    scores: Scores
    positions: np.ndarray  # (N, R, 2) region positions, crop pixels
    lost: list[int]  # processed-frame indices whose face is lost
    tracker: str
    truth: list[Spot]

    def spots(self, p: float, settings: SpotSettings) -> tuple[list[dict], list[int]]:
        found, blinks = spot(self.scores, self.rate, p, settings)
        out = [{"onset": self.numbers[s.onset], "apex": self.numbers[s.apex], "offset": self.numbers[s.offset],
                "type": s.type, "score": round(s.score, 3), "starts_before": s.starts_before} for s in found]
        return out, [self.numbers[b] for b in blinks]

    def as_spots(self, intervals: list[dict]) -> list[Spot]:
        return [Spot(self.input.subject, self.input.video, i["onset"], i["offset"], i["type"]) for i in intervals]


# helpers


def _crop(grey: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """The stabilised crop; a face much larger than the crop is shrunk first (area-averaged), so
    the warp does not alias it."""
    scale = math.hypot(matrix[0, 0], matrix[0, 1])  # crop px per input px
    if scale < 0.5:
        f = 2 ** int(math.log2(0.5 / scale) + 1)  # whole halvings, each an exact pyramid level
        for _ in range(int(math.log2(f))):
            grey = cv2.pyrDown(grey)
        matrix = matrix.copy()
        matrix[:, :2] *= f  # pyrDown keeps the even pixels: input x = f x' exactly
    return cv2.warpAffine(grey, matrix, (CROP, CROP), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def measure(source: LongInput, *, step: int | None = None, settings: SpotSettings = SpotSettings(),
            progress=None, truth: list[Spot] | None = None, tracker: str = "landmarks") -> VideoSignal:
    """Track, stabilise and score one input (no threshold yet)."""
    from preprocess.face import CANONICAL_EYES

    step = step or default_step(source.fps)
    rate = source.fps / step
    track, which = track_frames((g for _, g in source.frames(step)), fps=rate, progress=progress, tracker=tracker)
    n = len(track.status)
    examined = list(source.numbers[::step] if source.numbers is not None else range(0, n * step, step))[:n]
    check_face_found(source.source, track.status, examined, step)  # not an empty result: an error
    cut = truncation(source.source, n * step, source.count()) if source.files is None and step == 1 else None
    if n < window(MIN_VIDEO_S, rate):
        raise SpotInputError(f"{cut + '; ' if cut else source.source + ': '}{n * step} frames "
                             f"({n * step / source.fps:.2f} s at {source.fps:g} fps) "
                             f"is shorter than the spotter's window of {MIN_VIDEO_S:g} s")
    if cut:
        warn(cut)
    eyes = tuple((x * CROP - 0.5, y * CROP - 0.5) for x, y in CANONICAL_EYES)
    regions = RegionPositions(CROP, eyes, refresh=window(REFRESH_S, rate))
    anchors = set(getattr(track, "anchors", ()))  # the fallback's new transforms
    numbers, positions = [], []
    for i, (number, grey) in enumerate(source.frames(step)):
        if i >= n:
            break
        numbers.append(number)
        if track.status[i] == "lost":
            positions.append(regions.push(None))
        elif i in anchors and i > 0 and track.status[i - 1] != "lost":
            # measured with the old transform, then the reference under the new one: no jump
            positions.append(regions.push(_crop(grey, track.crop_matrix(i - 1, CROP))))
            regions.rebase(_crop(grey, track.crop_matrix(i, CROP)), positions[-1])
        else:
            positions.append(regions.push(_crop(grey, track.crop_matrix(i, CROP))))
        if progress is not None:
            progress(1)
    positions = np.stack(positions)
    with warnings.catch_warnings():  # windows where the face is lost throughout are NaN, and stay so
        warnings.filterwarnings("ignore", "All-NaN slice", RuntimeWarning)
        warnings.filterwarnings("ignore", "Mean of empty slice", RuntimeWarning)
        sc = scores(positions, rate, settings)
    lost = [i for i, s in enumerate(track.status[: len(numbers)]) if s == "lost"]
    return VideoSignal(source, step, rate, numbers, sc, positions, lost, which, truth or [])


def _lost_numbers(sig: VideoSignal) -> list[int]:
    """Every input frame in a lost processed frame's block."""
    out = []
    for i in sig.lost:
        start = sig.numbers[i]
        end = sig.numbers[i + 1] - 1 if i + 1 < len(sig.numbers) else start + sig.step - 1
        out.extend(range(start, end + 1))
    return out


def _notes(sig: VideoSignal, intervals: list[dict]) -> list[str]:
    """Sentences on what the score rests on: a video that starts (or a face that comes back) mid-expression."""
    notes = []
    stretches = ", ".join(f"{sig.numbers[a]}-{sig.numbers[b]}" for a, b in sig.scores.neutral[:3])
    for i in intervals:
        if not i["starts_before"]:
            continue
        if i["onset"] == sig.numbers[0]:
            notes.append(f"starts mid-expression: the face is away from its neutral (calmest) stretch, frames "
                         f"{stretches}, from the first frame; the interval {i['onset']}-{i['offset']} begins "
                         "before the video, its onset was not seen")
        else:
            notes.append(f"the interval {i['onset']}-{i['offset']} begins where the face is found again after "
                         "being lost: its onset may not have been seen")
    return notes


def video_result(sig: VideoSignal, p: float, settings: SpotSettings) -> dict:
    intervals, blinks = sig.spots(p, settings)
    out = {"input": sig.input.source, "fps": sig.input.fps, "intervals": intervals, "lost": _lost_numbers(sig),
           "blinks": blinks, "p": p, "step": sig.step, "k": window(settings.k_s, sig.rate) * sig.step,
           "tracker": sig.tracker, "first": sig.numbers[0], "last": sig.numbers[-1],
           "neutral": [[sig.numbers[a], sig.numbers[b]] for a, b in sig.scores.neutral],
           "notes": _notes(sig, intervals)}
    if sig.input.video:
        out = {"subject": sig.input.subject, "video": sig.input.video, **out}
    return out


def _progress_bar(total: int | None, label: str, enabled: bool):
    from rich.progress import Progress

    bar = Progress(disable=not enabled, transient=True)
    task = bar.add_task(label, total=total)
    return bar, (lambda k: bar.advance(task, k))


def spot_inputs(inputs, *, fps=None, p=None, step=None, csv_out=None, plot=None, progress=True,
                settings: SpotSettings = SpotSettings(), tracker: str = "landmarks") -> dict | list:
    """Spot each input with ``p`` (default ``DEFAULT_P``); one result object per input (one input:
    the object itself)."""
    p = DEFAULT_P if p is None else p
    results, signals = [], []
    sources = [open_input(path, fps) for path in inputs]  # every input checked before any work
    for source in sources:
        check_step(step or default_step(source.fps), source.fps, source.source)
    for source in sources:
        # the CSV's subject and video: the parent folder and the name, as a corpus lays them out
        # (rawpic/s15/15_0101...), so that `mpt spot evaluate` can read them back
        path = Path(source.source).resolve()
        source = LongInput(source.source, source.fps, source.files, source.numbers, path.parent.name or "-",
                           path.stem)
        count = source.count()
        s = step or default_step(source.fps)
        bar, advance = _progress_bar(2 * math.ceil(count / s) if count else None, f"spot {source.source}", progress)
        with bar:
            sig = measure(source, step=step, settings=settings, progress=advance, tracker=tracker)
        signals.append(sig)
        results.append(video_result(sig, p, settings))
    _outputs(results, signals, p, settings, csv_out, plot)
    for r in results:
        r.pop("subject", None), r.pop("video", None)
    return results[0] if len(results) == 1 else {"inputs": results}


def spot_dataset(name: str, root: Path, annotations: Path | None, *, with_eval: bool = False, p=None, step=None,
                 csv_out=None, plot=None, progress=True, settings: SpotSettings = SpotSettings(),
                 tracker: str = "landmarks", report=None) -> dict:
    """Spot every video of a corpus; p by leave-one-subject-out unless given. The corpus is read
    strictly: a row the reader cannot use (a missing frames folder) stops the run, since scoring
    without that video's expressions would look complete and be wrong."""
    from preprocess.readers import read_long_videos

    index = read_long_videos(name, root, annotations, strict=True)  # a missing video would bias the evaluation
    if not index.videos:
        raise SpotInputError(f"{name}: no videos to spot under {root} ({len(index.skipped)} rows skipped)")
    for v in index.videos:
        check_step(step or default_step(v.fps), v.fps, str(v.folder))
    signals = []
    total = sum(math.ceil(len(v.frames) / (step or default_step(v.fps))) for v in index.videos)
    bar, advance = _progress_bar(2 * total, f"spot {name}: {len(index.videos)} videos", progress)
    with bar:
        for v in index.videos:
            source = LongInput(str(v.folder), v.fps, v.frames, v.numbers, v.subject, v.video)
            missing = v.numbers[-1] - v.numbers[0] + 1 - len(v.numbers)
            if missing:
                raise SpotInputError(f"{v.folder}: {missing} frame(s) missing between {v.numbers[0]} and "
                                     f"{v.numbers[-1]}; a long video's frames must be consecutive")
            truth = [Spot(v.subject, v.video, i.onset, i.offset, i.type) for i in v.intervals]
            signals.append(measure(source, step=step, settings=settings, progress=advance, truth=truth,
                                   tracker=tracker))
    subjects = sorted({s.input.subject for s in signals})

    counts = {}  # (video index, p) -> overall Counts: each video is spotted once per p, not once per fold

    def f1(p_value, sigs):
        total = Counts()
        for s in sigs:
            key = (id(s), p_value)
            if key not in counts:
                counts[key] = evaluate(s.as_spots(s.spots(p_value, settings)[0]), s.truth)["overall"]
            total = total + counts[key]
        return total.f1

    folds = {}
    for subject in subjects:
        if p is not None:
            folds[subject] = {"p": p, "chosen_on": "given"}
            continue
        train = [s for s in signals if s.input.subject != subject]
        if not train:
            raise SpotInputError(f"{name}: one subject only ({subject}): p cannot be chosen on other subjects; "
                                 "pass --p")
        chosen, table = choose_p(train, f1, P_GRID)
        folds[subject] = {"p": chosen, "train_f1": round(table[chosen], 4)}
    results = [video_result(s, folds[s.input.subject]["p"], settings) for s in signals]
    out = {"dataset": name, "root": str(root), "videos": results, "folds": folds,
           "changed": [str(x) for x in index.changed]}
    if with_eval:
        pred = [x for s, r in zip(signals, results) for x in s.as_spots(r["intervals"])]
        out["evaluation"] = as_json(evaluate(pred, [t for s in signals for t in s.truth]))
    _outputs(results, signals, None, settings, csv_out, plot)
    if report is not None:
        out["report"] = str(_report_page(report, out["evaluation"], signals, results, settings))
    return out


def _report_page(path, evaluation: dict, signals, results, settings) -> Path:
    """The evaluation as one HTML page (``mpt/spot_report.py``) with each video's score plot embedded."""
    import tempfile

    from mpt.spot_report import spot_report_html

    from .plot import plot_signals

    plots = {}
    with tempfile.TemporaryDirectory() as tmp:
        for i, (sig, res) in enumerate(zip(signals, results)):
            png = plot_signals(Path(tmp) / f"{i}.png", [sig], [res], settings)
            plots[f"{sig.input.subject}/{sig.input.video}"] = Path(png).read_bytes()
    return spot_report_html(evaluation, plots, path)


def _outputs(results, signals, p, settings, csv_out, plot) -> None:
    if csv_out is not None:
        from .evaluate import write_predictions

        write_predictions(csv_out, [Spot(r.get("subject", ""), r.get("video", Path(r["input"]).stem), i["onset"],
                                         i["offset"], i["type"]) for r in results for i in r["intervals"]])
    if plot is not None:
        from .plot import plot_signals

        plot_signals(plot, signals, results, settings)
