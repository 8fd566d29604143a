"""Preprocessing settings live with the clip kernel in ``mpt_core.clip`` (both halves read them)."""

from mpt_core.clip import MOTION_OUTPUTS, PreprocessSettings

__all__ = ["MOTION_OUTPUTS", "PreprocessSettings"]
