"""Preprocessing settings (METHOD.md section 1): one frozen dataclass, serialised into every cache."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from mpt_core.settings import SettingsMixin

MOTION_OUTPUTS = ("magnified", "band")


@dataclass(frozen=True)
class PreprocessSettings(SettingsMixin):
    _kind = "preprocessing setting"

    alpha: float = 20.0  # magnification factor on every band level
    levels: int = 4  # Laplacian band levels (plus a low-pass residual)
    f_lo: float = 0.4  # band-pass cut-offs in Hz, at the clip's native rate
    f_hi: float = 4.0
    order: int = 1  # Butterworth order
    frames: int = 16  # T, frames after temporal normalisation
    motion_output: str = "magnified"  # "magnified" (uint8 M_t) or "band" (float16 collapse(alpha * B))
    size: int = 224  # frames are resized to size x size

    def __post_init__(self):
        self.check_types()
        if self.motion_output not in MOTION_OUTPUTS:
            raise ValueError(f"motion_output must be one of {MOTION_OUTPUTS}, got {self.motion_output!r}")
        if not 0 < self.f_lo < self.f_hi:
            raise ValueError(f"need 0 < f_lo < f_hi, got f_lo={self.f_lo}, f_hi={self.f_hi}")
        if self.alpha < 0:
            raise ValueError(f"alpha must be >= 0, got {self.alpha}")
        for name, low in (("levels", 1), ("order", 1), ("frames", 2)):
            if getattr(self, name) < low:
                raise ValueError(f"{name} must be >= {low}, got {getattr(self, name)}")
        if self.size < 2**self.levels:
            raise ValueError(f"size {self.size} is too small for {self.levels} pyramid levels")

    def to_json(self) -> str:
        """Canonical JSON: sorted keys, no spaces (what the hash is taken over)."""
        return json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))

    def settings_hash(self) -> str:
        """12 hex digits of the SHA-256 of ``to_json()``."""
        return hashlib.sha256(self.to_json().encode()).hexdigest()[:12]
