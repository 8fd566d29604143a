"""What the commands that read a long input (``mpt track``, ``mpt spot``, ``mpt predict`` spotting
first) say about it, in the same words: a face found in no frame at all is an error, never an empty
result; a video that decodes fewer frames than its container states is named as truncated."""

from __future__ import annotations

from typing import Sequence


class NoFaceError(ValueError):
    """A long input in which no frame shows a face: nothing to track, spot or classify."""


def no_face(source: str, numbers: Sequence[int], step: int = 1) -> NoFaceError:
    """The error for an input whose every examined frame (``numbers``: their frame numbers, every
    ``step``-th of the input) is without a face."""
    n = len(numbers)
    span = f"{numbers[0]}..{numbers[-1]}" if n else "none"
    which = f"of its {n} frames" if step == 1 else f"of the {n} frames examined (every {step}th)"
    return NoFaceError(f"{source}: no face found in any {which} ({span}); nothing to track, spot or classify "
                       f"(is this a video of a face?)")


def check_face_found(source: str, status: Sequence[str], numbers: Sequence[int], step: int = 1) -> None:
    """NoFaceError when every status (a track's per frame: "detected", "tracked", "lost") is "lost"."""
    if len(status) and all(s == "lost" for s in status):
        raise no_face(source, list(numbers)[: len(status)], step)


def truncation(source: str, decoded: int, declared: int | None) -> str | None:
    """The note for a video whose container states more frames than could be decoded, or None."""
    if declared is None or decoded >= declared:
        return None
    return (f"{source}: truncated or corrupt: only {decoded} of the {declared} frames its container states could "
            f"be decoded")
