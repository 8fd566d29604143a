"""``mpt magnify``: a video of a clip's face next to its Eulerian magnification, slowed down to watch.

raw frames (onset..offset) -> face crop (one transform from the onset frame's landmarks; per-frame
stabilisation with --track) ->
``mpt_core.magnify.magnify`` on every frame at the input's real frame rate (METHOD 1.2: the same
band-pass in Hz and the same alpha as the cache's motion frames) -> original | magnified, side by
side and labelled -> an mp4 (OpenCV, mp4v) and optionally a GIF (Pillow).

Why slowed down: a micro-expression lasts about 0.3 s; played at ``fps / slow`` frames per second
(200 fps and the default ``slow = 10``: 20 fps) it lasts 3 s, long enough to see.

Memory: the kernel holds about three float32 copies of the clip, 3 x N x S x S x 3 x 4 bytes: 0.7 GB
for 2 s at 200 fps and S = 224. Choose a shorter span with ``onset``/``offset`` for long inputs.

Every expected failure raises a ValueError subclass with one line: what, where, why.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np


from .rawclip import add_time, align_face, choose_framing, face_options, say_framing, warn

VIDEO_SUFFIXES = (".mp4", ".mov", ".avi")  # containers OpenCV writes mp4v into
LABEL_TOP = "original"


class MagnifyError(ValueError):
    """An option, input or output that ``mpt magnify`` cannot use; the message says which and why."""


# helpers


def _label(image: np.ndarray, text: str) -> None:
    """White text with a dark outline in the top-left corner, scaled to the image, drawn in place."""
    import cv2

    scale = max(0.35, image.shape[0] / 448)
    thick = max(1, round(2 * scale))
    org = (max(4, round(8 * scale)), max(12, round(24 * scale)))
    cv2.putText(image, text, org, cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), thick + 2, cv2.LINE_AA)
    cv2.putText(image, text, org, cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), thick, cv2.LINE_AA)


def _face_frames(clip, options, size: int):
    """(N, S, S', 3) uint8: the aligned crop at ``size`` (face auto or haar; fewer frames where the
    face was lost part-way), or the frames scaled to height ``size`` keeping their aspect (face none;
    width even, as video encoders want); the face entry; the frame numbers kept."""
    import cv2

    if options.method != "none":
        crops, _, box, numbers = align_face(clip, size=size, options=options)
        return crops, box, numbers
    frames = clip.frames
    h, w = frames.shape[1:3]
    width = max(2, 2 * round(w * size / h / 2))
    if (h, w) == (size, width):
        return frames, None, clip.numbers
    interp = cv2.INTER_AREA if h > size else cv2.INTER_LINEAR
    return np.stack([cv2.resize(f, (width, size), interpolation=interp) for f in frames]), None, clip.numbers


def side_by_side(original: np.ndarray, magnified: np.ndarray, *, alpha: float, numbers=None) -> np.ndarray:
    """(N, H, 2W, 3) uint8: each original frame, labelled (and numbered), left of its magnification."""
    out = np.concatenate([original, magnified], axis=2)  # (N, H, 2W, 3)
    w = original.shape[2]
    for i, frame in enumerate(out):
        left, right = frame[:, :w], frame[:, w:]  # views: labels are drawn into ``out``
        _label(left, LABEL_TOP if numbers is None else f"{LABEL_TOP} {numbers[i]}")
        _label(right, f"magnified x{alpha:g}")
    return out


def write_mp4(path: Path, frames: np.ndarray, fps: float) -> None:
    """(N, H, W, 3) uint8 RGB -> ``path`` with OpenCV's mp4v encoder at ``fps``."""
    import cv2

    h, w = frames.shape[1:3]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (w, h))
    if not writer.isOpened():
        raise MagnifyError(f"{path}: OpenCV cannot write an mp4v video here (is the folder writable?)")
    try:
        for frame in frames:
            writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    finally:
        writer.release()


def write_gif(path: Path, frames: np.ndarray, fps: float) -> None:
    """(N, H, W, 3) uint8 RGB -> an endlessly looping GIF (Pillow; GIF delays are whole centiseconds).

    Each frame gets its own 256-colour palette by fast octree quantisation: Pillow's default
    (median cut, inside ``save``) takes ~100x longer, 0.2 s per 448 x 224 frame.
    """
    from PIL import Image

    images = [Image.fromarray(f).quantize(256, method=Image.Quantize.FASTOCTREE) for f in frames]
    images[0].save(path, save_all=True, append_images=images[1:], duration=max(20, round(1000 / fps)), loop=0)


def _check(path, *, alpha, levels, f_lo, f_hi, slow, size, gif):
    if not alpha > 0:
        raise MagnifyError(f"alpha {alpha}: must be > 0")
    if not (isinstance(levels, int) and levels >= 1 and 2 ** levels <= size):
        raise MagnifyError(f"levels {levels}: need 1 <= levels and 2^levels <= the size {size}")
    if not 0 < f_lo < f_hi:
        raise MagnifyError(f"band-pass {f_lo}..{f_hi} Hz: need 0 < f_lo < f_hi")
    if not slow > 0:
        raise MagnifyError(f"slow {slow}: must be > 0 (1 plays at the real rate)")
    if Path(path).suffix.lower() not in VIDEO_SUFFIXES:
        raise MagnifyError(f"{path}: the output must end in {', '.join(VIDEO_SUFFIXES)}")
    if gif:
        try:
            import PIL  # noqa: F401
        except ImportError:
            raise MagnifyError("a GIF needs Pillow, which is not installed (pip install pillow); "
                               "leave out --gif for the video alone") from None


# the workflow


def magnify_video(input, out, *, alpha: float = 20.0, face: str = "auto", landmarks: str = "68",
                  track: bool = False, onset: int | None = None,
                  offset: int | None = None, fps: float | None = None, levels: int = 4, f_lo: float = 0.4,
                  f_hi: float = 4.0, slow: float = 10.0, gif: bool = False, size: int = 224,
                  timings: dict | None = None, framing: str | None = None) -> dict:
    """Write ``out`` (mp4v): the face of ``input`` (a video file or a frame folder, frames
    ``onset``..``offset``) and its magnification (``alpha``, ``levels``, band ``f_lo``..``f_hi`` Hz,
    filter order 1) side by side, played at ``max(1, fps / slow)`` frames per second; with ``gif``
    also ``out`` with the suffix ``.gif``. ``face``: "auto" (align from dlib's ``landmarks`` and crop
    at ``size``; ``track``: every frame by its own landmarks), "haar" (align from Haar's eyes) or
    "none" (frames already a face crop; scaled to height ``size``). ``framing``: how the face is cut
    (``rawclip.choose_framing``: a corpus, a cache or a run folder; default mpt's canonical crop: no
    model is applied here). ``timings`` (if given) accumulates seconds per stage: decode, face, magnify, write.

    Returns ``{"input", "video", "gif" (path or None), "frames", "fps", "playback_fps",
    "duration_s", "width", "height", "alpha", "face"}``.
    """
    from mpt_core.magnify import magnify
    from preprocess.inputs import load_input

    chosen, line, assumed = choose_framing(framing)
    options = face_options(face, landmarks, track, framing=chosen)
    if face != "none" and framing is not None:  # the default (mpt's own crop) goes without saying
        say_framing(line, assumed)
    _check(out, alpha=alpha, levels=levels, f_lo=f_lo, f_hi=f_hi, slow=slow, size=size, gif=gif)
    out = Path(out)
    t0 = time.perf_counter()
    clip = load_input(input, onset=onset, offset=offset, fps=fps)  # frames (N, H, W, 3) uint8 RGB
    if not f_hi < clip.fps / 2:
        raise MagnifyError(f"{clip.source}: f_hi {f_hi} Hz must be below half the frame rate ({clip.fps / 2:g} Hz)")
    for warning in clip.warnings:
        warn(warning)
    t0 = add_time(timings, "decode", t0)
    original, box, numbers = _face_frames(clip, options, size)
    t0 = add_time(timings, "face", t0)
    magnified = magnify(original, clip.fps, alpha=alpha, levels=levels, f_lo=f_lo, f_hi=f_hi, order=1,
                        output="magnified")  # (N, S, S', 3) float32 in [0, 1]
    magnified = np.rint(magnified * 255).astype(np.uint8)
    t0 = add_time(timings, "magnify", t0)
    pairs = side_by_side(original, magnified, alpha=alpha, numbers=numbers)  # (N, S, 2S', 3)
    playback = max(1.0, clip.fps / slow)
    out.parent.mkdir(parents=True, exist_ok=True)
    write_mp4(out, pairs, playback)
    gif_path = None
    if gif:
        gif_path = out.with_suffix(".gif")
        write_gif(gif_path, pairs, playback)
    add_time(timings, "write", t0)
    return {"input": str(input), "video": str(out), "gif": None if gif_path is None else str(gif_path),
            "frames": len(pairs), "fps": clip.fps, "playback_fps": playback, "duration_s": len(pairs) / playback,
            "width": int(pairs.shape[2]), "height": int(pairs.shape[1]), "alpha": alpha, "face": box}
