"""What the commands that read a user's raw clip share (predict, describe, magnify): the face
alignment of a clip (one transform, or per-frame stabilisation with ``--track``), its warnings
and errors, and the seconds per stage they report."""

from __future__ import annotations

import sys
import time



class FaceAlignError(ValueError):
    """The face of a raw clip cannot be aligned; the message says where and what to do."""


def add_time(timings: dict | None, stage: str, t0: float) -> float:
    """Add the seconds since ``t0`` to ``timings[stage]`` (if timings are kept); returns now."""
    now = time.perf_counter()
    if timings is not None:
        timings[stage] = timings.get(stage, 0.0) + now - t0
    return now


def warn(message: str) -> None:
    print(f"warning: {message}", file=sys.stderr)


def face_options(face: str = "auto", landmarks: str = "68", track: bool = False):
    """``FaceOptions`` from the CLI's values; ValueError (one line) for a bad combination."""
    from preprocess.face.align import FaceOptions

    return FaceOptions(method=face, landmarks=landmarks, track=track)


def align_face(clip, *, size: int, options, on_loss: str = "trim"):
    """Align a ``ClipInput``'s face (see ``preprocess.face.align.align_clip``): by default the face is
    found on the onset frame, that one transform crops every frame (the MER convention: the crop
    does not jitter), and each later frame is checked to still show that face; with
    ``options.track`` every frame is stabilised by its own transform. A face lost part-way trims
    the clip with a warning (``on_loss="trim"``) or raises. Warnings go to stderr.

    Returns (crops (N', size, size, 3), the ``AlignedClip``, the JSON face entry, the frame numbers kept).
    No face on the onset frame: FaceAlignError suggesting ``--onset`` at the first frame that has one.
    """
    from preprocess.face import FaceError
    from preprocess.face.align import align_clip

    where = f"{clip.source}: onset frame {clip.onset}"
    try:
        aligned = align_clip(clip.frames, options, size=size, fps=clip.fps, where=where, on_loss=on_loss,
                             numbers=clip.numbers)
    except FaceError as err:
        raise FaceAlignError(str(err)) from None
    for warning in aligned.warnings:
        warn(warning)
    numbers = tuple(clip.numbers[: aligned.kept])
    return aligned.crops, aligned, aligned.summary(), numbers
