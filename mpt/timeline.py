"""``mpt predict`` on long inputs: spot first, then classify each spotted interval.

An input longer than ``LONG_S`` seconds given without ``--onset``/``--offset`` (``--spot auto``, the
default), or any input with ``--spot on``, is spotted by ``mpt spot``'s spotter at its default
threshold (``spotting.DEFAULT_P``), and each spotted micro-expression interval is classified through
``inference.predict_clip``, the path a cut clip takes: its onset..offset frames, the run's cache
settings, the face aligned as ``--face``/``--landmarks``/``--track`` say. Macro-expression intervals
are listed but classified only with ``macro`` (the model was trained on micro-expressions: the
output says so). Why 2 s: the longest micro-expression is 0.5 s, and a clip cut around one with its
neutral onset and offset rarely passes 1-2 s; anything longer holds more than one expression, or
none, and classifying it whole gives one label to all of it.
"""

from __future__ import annotations

from pathlib import Path

from mpt_core.names import SPOT_MODES

from .rawclip import FaceAlignError, warn

LONG_S = 2.0  # inputs longer than this are spotted first under --spot auto
MACRO_NOTE = "the model was trained on micro-expressions: its classes are a guess for a macro-expression"


# helpers


def input_seconds(path, fps: float | None) -> float | None:
    """The input's length in seconds (None when not known: a frame folder without a rate, an
    unreadable file; the usual path then reports it)."""
    import cv2

    from preprocess.inputs import IMAGE_SUFFIXES

    path = Path(path)
    if path.is_dir():
        if fps is None or not fps > 0:
            return None
        n = sum(1 for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith("."))
        return n / fps
    if not path.is_file() or path.suffix.lower() in IMAGE_SUFFIXES:
        return None
    cap = cv2.VideoCapture(str(path))
    try:
        n, rate = cap.get(cv2.CAP_PROP_FRAME_COUNT), fps or cap.get(cv2.CAP_PROP_FPS)
    finally:
        cap.release()
    return n / rate if n > 0 and rate and rate > 0 else None


def wants_spotting(path, spot: str, onset, offset, fps) -> bool:
    if spot not in SPOT_MODES:
        raise ValueError(f"--spot {spot!r} is not one of {', '.join(SPOT_MODES)}")
    if onset is not None or offset is not None:
        if spot == "on":
            raise ValueError("--spot on spots whole inputs, --onset/--offset cut one clip: give one or the other")
        return False
    if spot == "off":
        return False
    if spot == "on":
        return True
    seconds = input_seconds(path, fps)
    return seconds is not None and seconds > LONG_S


def spot_then_classify(classify, path, *, fps=None, macro: bool = False, progress: bool = False, timings=None,
                       crop_name: str | None = None) -> tuple[list[dict], dict]:
    """(predict's clip entries, one per classified interval, each with "spot"; the input's spotting
    summary: {"input", "fps", "p", "step", "intervals": [every spotted interval], "lost", "blinks",
    "classified", "macro"}). ``classify(onset=, offset=, fps=, crop_name=)`` is ``predict_clip`` for
    this input with the run's models and the face options."""
    import time

    from mpt.spot.run import _progress_bar, measure, video_result
    from mpt.spot.source import LongInput, open_input
    from mpt_core.spotting import DEFAULT_P, SpotSettings, default_step
    from preprocess.inputs import InputError

    from .rawclip import add_time

    t0 = time.perf_counter()
    source = open_input(path, fps)
    source = LongInput(source.source, source.fps, source.files, source.numbers, "", Path(source.source).stem)
    count = source.count()
    bar, advance = _progress_bar(2 * -(-count // default_step(source.fps)) if count else None, f"spot {path}",
                                 progress)
    with bar:
        signal = measure(source, progress=advance)
    spotted = video_result(signal, DEFAULT_P, SpotSettings())
    t0 = add_time(timings, "spot", t0)
    entries = []
    for interval in spotted["intervals"]:
        if interval["type"] == "macro" and not macro:
            continue
        try:
            entry = classify(onset=interval["onset"], offset=interval["offset"], fps=source.fps,
                             crop_name=f"{crop_name or Path(path).stem}-{interval['onset']}")
        except (FaceAlignError, InputError) as err:
            warn(f"{path}: interval {interval['onset']}..{interval['offset']} not classified: {err}")
            interval["error"] = str(err)
            continue
        entry["spot"] = {k: interval[k] for k in ("onset", "apex", "offset", "type", "score")}
        entries.append(entry)
    summary = {"input": str(path), "fps": source.fps, "p": spotted["p"], "step": spotted["step"],
               "first": spotted["first"], "last": spotted["last"], "intervals": spotted["intervals"],
               "lost": spotted["lost"], "blinks": spotted["blinks"], "classified": len(entries), "macro": macro}
    if macro and any(i["type"] == "macro" for i in spotted["intervals"]):
        summary["note"] = MACRO_NOTE
    return entries, summary


def format_timeline(summary: dict, clips: list[dict], classes: list[str]) -> list[str]:
    """Lines for one spotted input: what was spotted, then one row per interval in time order."""
    fps, first, spots = summary["fps"], summary["first"], summary["intervals"]
    kinds = {t: sum(i["type"] == t for i in spots) for t in ("micro", "macro")}
    head = (f"{summary['input']}: frames {first}..{summary['last']} at {fps:g} fps, spotted first (p = "
            f"{summary['p']:g}): {kinds['micro']} micro- and {kinds['macro']} macro-expression interval(s)")
    if not spots:
        return ["", head + ": nothing spotted, nothing to classify"]
    lines = ["", head]
    if kinds["macro"]:
        lines.append("  " + (f"macro-expressions classified too; {MACRO_NOTE}" if summary["macro"] else
                             "macro-expressions listed, not classified (--macro to classify them)"))
    by_onset = {c["spot"]["onset"]: c for c in clips}
    width = max(8, *(len(c) for c in classes))
    lines.append(f"  {'onset':>6} {'apex':>6} {'offset':>6} {'onset s':>8} {'offset s':>8}  {'type':<5} {'score':>6}  "
                 + " ".join(f"{c:>{width}}" for c in classes) + "  decision")
    for i in spots:
        clip = by_onset.get(i["onset"])
        row = (f"  {i['onset']:>6} {i['apex']:>6} {i['offset']:>6} {(i['onset'] - first) / fps:>8.2f} "
               f"{(i['offset'] - first) / fps:>8.2f}  {i['type']:<5} {i['score']:>6.1f}  ")
        if clip is not None:
            decision = clip["prediction"]  # a class, or the AUs present (a list) for an AU run
            decision = "+".join(decision) or "no AU" if isinstance(decision, list) else decision
            row += " ".join(f"{clip['probabilities'][c]:>{width}.4f}" for c in classes) + f"  {decision}"
        else:
            row += " ".join(f"{'-':>{width}}" for _ in classes) + ("  (not classified: see the warning)"
                                                                   if "error" in i else "  (macro: not classified)")
        lines.append(row)
    if summary["lost"]:
        lines.append(f"  face lost in {len(summary['lost'])} frame(s): no interval there")
    return lines
