"""``mpt track``: the face's landmarks, box, roll and stabilising transform in every frame of a video
or a frame folder (``preprocess.face.track``), streamed (a long video never sits in memory whole).

Outputs: a .npz of the whole track (``Track.save``), one JSON object (``track_json``), and a video
with the original frame (box and landmarks drawn) beside the stabilised face, for a person to
check the track by eye. Every expected failure raises a ValueError subclass with one line.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .rawclip import warn
from .verdicts import check_face_found

VIDEO_SUFFIXES = (".mp4", ".mov", ".avi")
PANEL = 360  # height of each half of the --video output, pixels


class TrackError(ValueError):
    """An input or output ``mpt track`` cannot use; the message says which and why."""


# helpers


def _progress(enabled: bool, total: int | None, label: str):
    """A rich progress bar on stderr (or nothing): (context manager, advance callable)."""
    from contextlib import nullcontext

    if not enabled:
        return nullcontext(), None
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                   console=Console(stderr=True))
    task = bar.add_task(label, total=total)
    return bar, lambda n: bar.advance(task, n)


def track_json(track, numbers, source: str) -> dict:
    """``{"input", "fps", "frames": [{"index", "status", "box", "roll_deg", "landmarks"}], "lost"}``:
    input pixels, ``index`` the frame's number (file name or 0-based video index); lost frames
    have null geometry."""
    frames = []
    for i, status in enumerate(track.status):
        lost = status == "lost"
        frames.append({
            "index": int(numbers[i]), "status": status,
            "box": None if lost else [round(float(v), 2) for v in track.boxes[i]],
            "roll_deg": None if lost else round(float(track.roll_deg[i]), 3),
            "landmarks": None if lost else [[round(float(x), 2), round(float(y), 2)] for x, y in track.landmarks[i]],
        })
    return {"input": source, "fps": track.fps, "frames": frames, "lost": [int(numbers[i]) for i in track.lost]}


def _draw(frame: np.ndarray, track, i: int) -> np.ndarray:
    """The original frame scaled to PANEL high, with the box and landmarks drawn (or "lost")."""
    import cv2

    h, w = frame.shape[:2]
    s = PANEL / h
    out = cv2.resize(frame, (max(2, 2 * round(w * s / 2)), PANEL), interpolation=cv2.INTER_AREA)
    if track.status[i] == "lost":
        cv2.putText(out, "lost", (10, 30), cv2.FONT_HERSHEY_SIMPLEX, 0.9, (255, 64, 64), 2, cv2.LINE_AA)
        return out
    x, y, bw, bh = track.boxes[i] * s
    colour = (64, 255, 64) if track.status[i] == "detected" else (255, 220, 64)
    cv2.rectangle(out, (round(x), round(y)), (round(x + bw), round(y + bh)), colour, 1, cv2.LINE_AA)
    for px, py in track.landmarks[i] * s:
        cv2.circle(out, (round(px), round(py)), 1, (255, 255, 255), -1, cv2.LINE_AA)
    cv2.putText(out, f"{track.status[i]} roll {track.roll_deg[i]:+.1f}", (10, 30), cv2.FONT_HERSHEY_SIMPLEX, 0.7,
                colour, 2, cv2.LINE_AA)
    return out


def write_video(path: Path, stream, track, numbers, progress: bool) -> None:
    """A second pass over the input: original with the track drawn | stabilised face, at the input's rate."""
    import cv2

    writer = None
    bar, advance = _progress(progress, len(track), "video")
    try:
        with bar:
            for i, (_, frame, _) in enumerate(stream):
                if i >= len(track):
                    break
                if frame is None:  # unreadable: black halves of the usual size
                    w, h = track.frame_size
                    left = np.zeros((PANEL, max(2, 2 * round(w * PANEL / h / 2)), 3), np.uint8)
                    face = np.zeros((PANEL, PANEL, 3), np.uint8)
                else:
                    left = _draw(frame, track, i)
                    face = (track.stabilise(frame, i, PANEL) if track.status[i] != "lost"
                            else np.full((PANEL, PANEL, 3), 40, np.uint8))
                pair = np.concatenate([left, face], axis=1)
                if writer is None:
                    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), track.fps,
                                             (pair.shape[1], pair.shape[0]))
                    if not writer.isOpened():
                        raise TrackError(f"{path}: OpenCV cannot write an mp4v video here (is the folder writable?)")
                writer.write(cv2.cvtColor(pair, cv2.COLOR_RGB2BGR))
                if advance:
                    advance(1)
    finally:
        if writer is not None:
            writer.release()


# the workflow


def track(input, *, onset: int | None = None, offset: int | None = None, fps: float | None = None, out=None,
          video=None, landmarks: str = "68", progress: bool = False) -> dict:
    """Track the face through ``input`` (a video file or a frame folder, frames ``onset``..``offset``).

    ``out``: write the track as .npz; ``video``: write original | stabilised face (mp4v).
    Warnings (the face appears only later, frames lost or unreadable, a truncated video) go to stderr.
    Returns ``track_json``'s object plus ``"notes"`` (what happened), ``"out"`` and ``"video"``, and
    ``"track"`` (the ``Track``; not JSON).
    """
    from preprocess.face.track import TrackSettings, track_frames
    from preprocess.stream import stream_input

    if video is not None and Path(video).suffix.lower() not in VIDEO_SUFFIXES:
        raise TrackError(f"{video}: the video must end in {', '.join(VIDEO_SUFFIXES)}")
    if out is not None and Path(out).suffix.lower() != ".npz":
        raise TrackError(f"{out}: the track is written as .npz; name it so")
    stream = stream_input(input, onset=onset, offset=offset, fps=fps)
    numbers, problems, unreadable = [], [], set()

    def frames():
        for number, frame, problem in stream:
            numbers.append(number)
            if problem is not None:
                problems.append(f"{stream.source}: frame {number}: {problem}; it is lost")
                unreadable.add(number)
            yield frame

    bar, advance = _progress(progress, stream.expected, "track")
    with bar:
        result = track_frames(frames(), fps=stream.fps, settings=TrackSettings(landmarks=landmarks), progress=advance)
    if not numbers:
        raise TrackError(f"{stream.source}: no frame could be decoded")
    for message in stream.warnings + problems:
        warn(message)
    check_face_found(stream.source, result.status, numbers)
    notes = _notes(result, numbers, unreadable)
    for note in notes:
        warn(f"{stream.source}: {note}")
    if out is not None:
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        result.save(out)
    if video is not None:
        Path(video).parent.mkdir(parents=True, exist_ok=True)
        write_video(Path(video), stream_input(input, onset=onset, offset=offset, fps=fps), result, numbers, progress)
    return {**track_json(result, numbers, str(input)), "notes": notes,
            "out": None if out is None else str(out), "video": None if video is None else str(video),
            "track": result}


def _spans(values) -> str:
    runs = []
    for v in values:
        if runs and runs[-1][1] + 1 == v:
            runs[-1][1] = v
        else:
            runs.append([v, v])
    text = [f"{a}" if a == b else f"{a}-{b}" for a, b in runs]
    return ", ".join(text[:12]) + (", ..." if len(text) > 12 else "")


def _notes(result, numbers, unreadable: set) -> list[str]:
    """What the track found, with the frames' own numbers: where the face first appears, what was lost."""
    good = [i for i, s in enumerate(result.status) if s != "lost"]
    notes = []
    if good and good[0] > 0:
        notes.append(f"first face at frame {numbers[good[0]]} ({good[0] / result.fps:.2f} s in); tracking starts "
                     f"there")
    lost = [numbers[i] for i in result.lost if good and i > good[0] and numbers[i] not in unreadable]
    if lost:
        notes.append(f"face lost in {len(lost)} frame(s): {_spans(lost)}")
    return notes


def summary(result: dict) -> str:
    """The human-readable result: frames per status, roll range, where the outputs went."""
    frames = result["frames"]
    counts = {s: sum(f["status"] == s for f in frames) for s in ("detected", "tracked", "lost")}
    rolls = [f["roll_deg"] for f in frames if f["roll_deg"] is not None]
    lines = [f"{result['input']}: {len(frames)} frames at {result['fps']:g} fps: "
             + ", ".join(f"{n} {s}" for s, n in counts.items())]
    if rolls:
        lines.append(f"  roll {min(rolls):+.1f} .. {max(rolls):+.1f} deg")
    if result["lost"]:
        lost = result["lost"]
        lines.append(f"  lost: {', '.join(map(str, lost[:20]))}{', ...' if len(lost) > 20 else ''}")
    for key, what in (("out", "track"), ("video", "video (original | stabilised face)")):
        if result[key] is not None:
            lines.append(f"  {what}: {result[key]}")
    return "\n".join(lines)

