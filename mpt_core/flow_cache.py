"""The flow cache: onset-to-apex optical flow, optical strain and grey frames of every clip, the input of
the baselines (``mpt_core/model/zoo/``, the hand-crafted features in ``mpt_core/features/``).

One HDF5 file per dataset, flow settings and input, ``<dataset>-flow-<key>.h5`` beside the clip caches,
written by ``preprocess/flow_clip.py`` with the clip cache's machinery (shards, lock, resume,
``preprocess/pipeline.py``) and read by ``mpt_core.cache.open_cache(path, kind="flow")``.

Datasets, one row per clip: the clip table of the clip cache (``label``, ``subject``, ``clip``,
``source``, ``au``, ``emotion``, ``face``, ``onset``, ``apex``, ``offset``, ``n_frames``: see
``mpt_core/cache.py``) plus

    flow_<S>     (N, 5, S, S) float32 per side S of ``FlowSettings.sizes``: ``apex_flow.CHANNELS``
                 u, v (pixels of the S grid), strain, gray_onset, gray_apex (in [0, 1])
    frames       (N, T, F, F) uint8 grey frames onset..offset, T = ``frames``, F = ``frames_size`` (LBP-TOP)
    apex_index   int64, the apex used, as an index into onset..offset
    apex_source  str, "annotated" or "largest motion" (no usable apex annotation: SMIC)

Attributes: those of the clip cache, ``kind`` = "flow" and ``format`` = ``FLOW_FORMAT``; ``settings``
holds the ``FlowSettings``. The faces are aligned exactly as in the clip cache (the same face options).
"""

from __future__ import annotations

from dataclasses import dataclass

from mpt_core.cache import FLOW_FORMAT  # noqa: F401 (re-exported)
from mpt_core.names import FLOW_METHODS
from mpt_core.settings import SettingsError, SettingsMixin

# the sides the zoo networks read (STSTNet, OffApexNet, Dual-Inception: 28; RCN-A 60; SSSNet 64)
# and one larger side for the hand-crafted flow features
DEFAULT_SIZES = (28, 60, 64, 112)


@dataclass(frozen=True)
class FlowSettings(SettingsMixin):
    _kind = "flow setting"

    method: str = "dis"  # "dis" (OpenCV core) or "tvl1" (opencv-contrib)
    size: int = 112  # the face is resized to size x size grey before the flow is computed
    sizes: tuple[int, ...] = DEFAULT_SIZES  # sides the flow maps are stored at (area-resized from size)
    frames: int = 10  # T grey frames onset..offset for LBP-TOP (linear time interpolation)
    frames_size: int = 64  # F, their side

    def __post_init__(self):
        if isinstance(self.sizes, list):  # from JSON
            object.__setattr__(self, "sizes", tuple(self.sizes))
        self.check_types()
        if self.method not in FLOW_METHODS:
            raise SettingsError(f"FlowSettings.method must be one of {', '.join(FLOW_METHODS)}, got {self.method!r}")
        if not self.sizes or any(not isinstance(s, int) or isinstance(s, bool) or s < 4 for s in self.sizes):
            raise SettingsError(f"FlowSettings.sizes must be whole numbers >= 4, got {self.sizes!r}")
        if len(set(self.sizes)) != len(self.sizes):
            raise SettingsError(f"FlowSettings.sizes lists a side twice: {self.sizes!r}")
        object.__setattr__(self, "sizes", tuple(sorted(self.sizes)))
        for name, low in (("size", 8), ("frames", 3), ("frames_size", 8)):
            if getattr(self, name) < low:
                raise SettingsError(f"FlowSettings.{name} must be >= {low}, got {getattr(self, name)}")

    def to_dict(self) -> dict:
        d = super().to_dict()
        d["sizes"] = list(self.sizes)
        return d


def parse_sizes(text: str) -> tuple[int, ...]:
    """``"28,48,112"`` -> (28, 48, 112); raises ValueError naming the bad part."""
    parts = [p.strip() for p in text.split(",") if p.strip()]
    if not parts or not all(p.isdigit() for p in parts):
        raise ValueError(f"{text!r}: give sides as whole numbers separated by commas, e.g. 28,48,112")
    return tuple(int(p) for p in parts)
