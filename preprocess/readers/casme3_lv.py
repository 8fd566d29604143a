"""CAS(ME)^3 Part A as a long-video (spotting) corpus, ``casme3-lv``: each recording
``spNO.N/REC/color/{n}.jpg`` is a video (30 fps), and the label table's rows are its annotated
micro-expressions, onset..offset in those frame numbers (the table's ``JpgIndex``).

What the table allows: it annotates micro-expressions only (Part A's ME label table), so a
spotted macro-expression has no ground truth here: mpt's macro and overall counts make every
spotted macro-expression a false positive, and only the micro-expression figures mean something
(the MEGC leaderboard's rule, which scores only videos with ground truth of a type, leaves the
macro type unscored). Its rows are checked as ``casme3`` checks them (``casme3.annotation_problem``:
frame 0, onset after apex or offset, spans over ``MAX_SECONDS``), a problem row skipped (or, with
``strict``, an error). A video is named ``SUBJECT_REC`` (``spNO.1_e``), unique in the corpus.
"""

from __future__ import annotations

from pathlib import Path

from ..records import DatasetError
from .casme3 import FPS, FRAMES, LABEL_GLOB, MAX_SECONDS, annotation_problem, find_one, frames_root, read_casme3_label
from .longvideo import Interval, LongVideoBuilder, LongVideoIndex


def read_casme3_videos(root: Path | None, annotations: Path | None = None, *, strict: bool = False) -> LongVideoIndex:
    """The recordings and their micro-expressions; ``root`` None reads the table alone."""
    if root is None and annotations is None:
        raise DatasetError("casme3-lv: without a root, pass the label table")
    folder = frames_root(Path(root)) if root is not None else None
    if annotations is None:
        annotations = find_one("casme3-lv", [Path(root), Path(root).parent, folder], LABEL_GLOB, "CAS(ME)^3 label")
    out = LongVideoBuilder("casme3-lv", Path(annotations), strict)
    for e, recording in read_casme3_label(Path(annotations), lambda clip, why, row: out.skip(clip, why, row)):
        why = annotation_problem(e, MAX_SECONDS)
        if why is not None:
            out.skip(e.clip, why, e.row)
            continue
        interval = Interval(name=e.clip, onset=e.onset, apex=e.apex, offset=e.offset, type="micro", au=e.au,
                            emotion=e.emotion.lower(), row=e.row)
        video = f"{e.subject}_{recording}"
        out.add(e.subject, video, None if folder is None else folder / e.subject / recording / "color", interval)
    return out.build(lambda video: FRAMES, FPS, lambda subject, video: f"frames folder not found for {video}",
                     frames=folder is not None)
