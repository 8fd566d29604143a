"""ModelSettings: the one frozen dataclass that describes an MPT model.

It is saved inside every checkpoint, so a checkpoint alone rebuilds its model.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

# name -> what it trains (see mpt.VARIANT_SPECS for the architecture of each)
VARIANTS = (
    "mpt",                # motion prompts + group adapters + head (the method)
    "prompt-only",        # motion prompts + head
    "adapter-only",       # group adapter with two branches (class, visual) + head
    "head-only",          # partial fine-tuning: only the head
    "full-ft",            # mpt with the backbone trainable too
    "no-pretrain",        # mpt on a random backbone, everything trainable
    "vpt-shallow",        # mpt with the motion prompts replaced by K learnable input tokens
    "vpt-deep",           # ... by fresh learnable tokens in every block
    "primitive-adapter",  # motion prompts + one bottleneck shared by all tokens + head
)


class SettingsError(ValueError):
    """A model settings value or dictionary is invalid."""


@dataclass(frozen=True)
class ModelSettings:
    variant: str = "mpt"
    backbone: str = "vit_base_patch16_224"
    num_classes: int = 5
    prompts: int = 5          # K motion (or VPT) tokens
    reduction: int = 8        # adapter bottleneck D / r
    frames: int = 16          # T motion frames per clip
    embed_channels: int = 128  # C of the frame embedding in the tokenizer
    img_size: int = 224       # passed to timm; other input sizes are resized on the device
    depth: int | None = None  # overrides the backbone depth (tiny test/demo backbones)

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name in ("variant", "backbone"):
                ok = isinstance(value, str) and value != ""
            elif f.name == "depth":
                ok = value is None or (_is_int(value) and value >= 1)
            else:
                ok = _is_int(value) and value >= 1
            if not ok:
                raise SettingsError(f"ModelSettings.{f.name}: invalid value {value!r}")
        if self.variant not in VARIANTS:
            raise SettingsError(f"ModelSettings.variant: unknown variant {self.variant!r}; choose one of {', '.join(VARIANTS)}")
        if self.frames < 2:
            raise SettingsError(f"ModelSettings.frames: need at least 2 frames, got {self.frames}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "ModelSettings":
        if not isinstance(d, dict):
            raise SettingsError(f"ModelSettings: expected a dict, got {type(d).__name__}")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise SettingsError(f"ModelSettings: unknown keys {unknown}")
        return cls(**d)  # __post_init__ checks the types


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)
