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


def face_options(face: str = "auto", landmarks: str = "68", track: bool = False, framing=None):
    """``FaceOptions`` from the CLI's values (``framing``: an ``mpt_core.framing.Framing`` to cut the
    face in; None: mpt's canonical crop); ValueError (one line) for a bad combination."""
    from preprocess.face.align import FaceOptions

    return FaceOptions(method=face, landmarks=landmarks, track=track, framing=framing)


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


# the framing a raw face is cut in (mpt_core.framing): the run's, a named corpus's, or mpt's canonical one

FRAMING_CHOICES = "run (the default where a run is given), canonical, casme2, a cache file (.h5) or a run folder"


def run_framing(config: dict, where) -> tuple:
    """(Framing, one line saying which, and whether it was assumed) of a run's ``config.json``.

    A run made before mpt recorded framings (no ``face`` in its config, or a cache without a
    ``framing``) gets mpt's canonical framing, and the line says so: that is how such runs were
    applied before, and it is right for a whole-frame corpus that mpt aligned."""
    from mpt_core.framing import CANONICAL, Framing, FramingError

    record = config.get("face")
    if not isinstance(record, dict) or not record.get("framing"):
        why = ("made before mpt recorded face framings" if not isinstance(record, dict)
               else "its cache was made before mpt recorded face framings")
        return CANONICAL, (f"{where}: the run records no face framing ({why}); assuming mpt's canonical framing "
                           f"(width 2.80 x the inter-ocular distance, eyes at 36 % of the height, square): right for "
                           f"a whole-frame corpus mpt aligned, wrong for a corpus's own crops (rebuild the cache with "
                           f"`mpt preprocess --force` and retrain to record it)"), True
    try:
        framing = Framing.from_dict(record["framing"])
    except FramingError as err:
        raise FaceAlignError(f"{where}: config.json: {err}") from None
    return framing, f"framing: {framing.describe()} (as the run's cache)", False


def choose_framing(value: str | None, *, config: dict | None = None, run=None) -> tuple:
    """(Framing, one line saying which, assumed) for ``--framing``: None or "run" (the run's, when
    ``config`` is given; else canonical), "canonical", a preset corpus ("casme2"), a cache file or a
    run folder. FaceAlignError (one line) for anything else."""
    from pathlib import Path

    from mpt_core.framing import CANONICAL, PRESETS, Framing, FramingError

    if value in (None, "run"):
        if config is not None:
            return run_framing(config, run)
        if value == "run":
            raise FaceAlignError("--framing run: this command has no run; name a corpus (canonical, casme2), a cache "
                                 "file or a run folder")
        return CANONICAL, f"framing: {CANONICAL.describe()} (mpt's own; --framing names another)", False
    if value in PRESETS:
        return PRESETS[value], f"framing: {PRESETS[value].describe()} (--framing {value})", False
    path = Path(value)
    if path.is_dir():
        import json

        cfg = path / "config.json"
        if not cfg.is_file():
            raise FaceAlignError(f"--framing {value}: a folder without config.json is not a run folder")
        try:
            return run_framing(json.loads(cfg.read_text()), path)
        except ValueError as err:
            raise FaceAlignError(f"--framing {value}: {err}") from None
    if path.is_file():
        from mpt_core.cache import CacheError, read_cache_meta

        try:
            meta = read_cache_meta(path)
        except CacheError as err:
            raise FaceAlignError(f"--framing {value}: {err}") from None
        if not meta.framing or not meta.framing.get("typical"):
            raise FaceAlignError(f"--framing {value}: the cache records no face framing (made before mpt recorded "
                                 "them); rebuild it with `mpt preprocess --force`")
        try:
            framing = Framing.from_dict(meta.framing["typical"])
        except FramingError as err:
            raise FaceAlignError(f"--framing {value}: {err}") from None
        return framing, f"framing: {framing.describe()} (as the cache {path.name})", False
    raise FaceAlignError(f"--framing {value!r}: not {FRAMING_CHOICES}")


def say_framing(line: str, assumed: bool) -> None:
    """The framing's one line on stderr (a warning when it was assumed)."""
    if assumed:
        warn(line)
    else:
        print(line, file=sys.stderr)
