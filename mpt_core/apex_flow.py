"""Onset-to-apex optical flow, optical strain and the apex frame: the input of the baselines.

Pure functions of arrays (the pipeline in ``preprocess/flow_clip.py`` loads and aligns the frames;
the format is ``mpt_core/flow_cache.py``). A clip gives, at every stored side S:

    (5, S, S) float32 in the order of ``CHANNELS``: u, v (pixels of the S grid), strain (the optical
    strain magnitude, unitless), gray_onset, gray_apex (grey levels in [0, 1])

and T grey frames onset..offset (linear time interpolation, for LBP-TOP).

The apex is the annotated one where the annotation has it, else the frame of largest mean flow
magnitude from the onset (as the SMIC baselines do; the choice is recorded per clip).

Flow methods: ``dis`` (OpenCV core's DIS, MEDIUM preset at its finest scale 0) and ``tvl1`` (dual
TV-L1, the literature's usual choice; it needs ``cv2.optflow`` from opencv-contrib).
"""

from __future__ import annotations

import cv2
import numpy as np

from mpt_core.names import FLOW_METHODS  # noqa: F401 (re-exported)
from mpt_core.temporal import normalise_length

CHANNELS = ("u", "v", "strain", "gray_onset", "gray_apex")
APEX_ANNOTATED, APEX_LARGEST_MOTION = "annotated", "largest motion"


class FlowMethodError(ValueError):
    """A flow method this OpenCV build cannot compute."""


# helpers

def tvl1_available() -> bool:
    return hasattr(cv2, "optflow") and hasattr(cv2.optflow, "DualTVL1OpticalFlow_create")


def flow_function(method: str):
    """``f(prev, next)`` -> (H, W, 2) float32 flow of two (H, W) uint8 grey frames."""
    if method == "dis":
        from mpt_core.flow import dis_flow

        dis = dis_flow(full_resolution=True)
        return lambda a, b: dis.calc(a, b, None)
    if method == "tvl1":
        if not tvl1_available():
            raise FlowMethodError("flow method tvl1 needs cv2.optflow (the opencv-contrib-python-headless package, "
                                  "installed instead of opencv-python-headless); use dis")
        tvl1 = cv2.optflow.DualTVL1OpticalFlow_create()
        return lambda a, b: tvl1.calc(a, b, None)
    raise FlowMethodError(f"flow method {method!r}: choose one of {', '.join(FLOW_METHODS)}")


def optical_strain(flow: np.ndarray) -> np.ndarray:
    """(H, W) strain magnitude of a (H, W, 2) flow: sqrt(e_xx^2 + e_yy^2 + 2 e_xy^2), with
    e_xx = du/dx, e_yy = dv/dy and e_xy = (du/dy + dv/dx) / 2 (central differences)."""
    u, v = flow[..., 0].astype(np.float64), flow[..., 1].astype(np.float64)
    du_dy, du_dx = np.gradient(u)
    dv_dy, dv_dx = np.gradient(v)
    exy = 0.5 * (du_dy + dv_dx)
    return np.sqrt(du_dx**2 + dv_dy**2 + 2 * exy**2).astype(np.float32)


def largest_motion_frame(greys: np.ndarray, flow) -> int:
    """The index (>= 1) of the frame whose flow from the onset has the largest mean magnitude."""
    magnitudes = [float(np.hypot(*np.moveaxis(flow(greys[0], g), -1, 0)).mean()) for g in greys[1:]]
    return 1 + int(np.argmax(magnitudes))


def _area(x: np.ndarray, side: int) -> np.ndarray:
    if x.shape[:2] == (side, side):
        return x.astype(np.float32, copy=True)
    interpolation = cv2.INTER_AREA if x.shape[0] >= side else cv2.INTER_LINEAR
    return cv2.resize(x.astype(np.float32), (side, side), interpolation=interpolation)


def flow_maps(onset: np.ndarray, apex: np.ndarray, flow, sizes) -> dict[int, np.ndarray]:
    """side -> (5, side, side) float32 maps (``CHANNELS``) of two (S, S) uint8 grey frames."""
    field = flow(onset, apex)  # (S, S, 2), pixels of the S grid
    strain = optical_strain(field)  # unitless: unchanged by resizing
    S = onset.shape[0]
    out = {}
    for side in sizes:
        uv = _area(field, side) * (side / S)  # pixels of the side grid
        out[side] = np.stack([uv[..., 0], uv[..., 1], _area(strain, side),
                              _area(onset, side) / 255.0, _area(apex, side) / 255.0]).astype(np.float32)
    return out


# the clip

def greys(frames: np.ndarray, size: int) -> np.ndarray:
    """(N, size, size) uint8 grey of (N, H, W, 3) uint8 RGB frames."""
    from mpt_core.flow import grey_at_size

    return np.stack([grey_at_size(f, size) for f in frames])


def apex_index(n_frames: int, onset: int, apex: int) -> int | None:
    """The annotated apex as an index into onset..offset, or None where it is unknown or outside."""
    i = apex - onset
    return i if apex >= 0 and 0 < i < n_frames else None


def clip_flow_arrays(frames: np.ndarray, *, onset: int, apex: int, settings) -> dict:
    """frames (N, H, W, 3) uint8 RGB onset..offset -> ``flow_<S>`` (5, S, S) float32 per side of
    ``settings.sizes``, ``frames`` (T, F, F) uint8 grey, ``apex_index`` (into the N frames),
    ``apex_source`` and ``n_frames``. ``settings``: a ``FlowSettings``."""
    if len(frames) < 2:
        raise ValueError(f"{len(frames)} frame(s); onset-to-apex flow needs at least 2")
    g = greys(frames, settings.size)  # (N, S, S)
    flow = flow_function(settings.method)
    index = apex_index(len(frames), onset, apex)
    source = APEX_ANNOTATED
    if index is None:
        index, source = largest_motion_frame(g, flow), APEX_LARGEST_MOTION
    maps = flow_maps(g[0], g[index], flow, settings.sizes)
    small = greys(frames, settings.frames_size) if settings.frames_size != settings.size else g
    seq = normalise_length(small, settings.frames)  # (T, F, F)
    seq = np.clip(np.floor(np.asarray(seq, np.float32) + 0.5), 0, 255).astype(np.uint8)
    return {**{f"flow_{s}": m for s, m in maps.items()}, "frames": seq, "apex_index": index,
            "apex_source": source, "n_frames": len(frames)}
