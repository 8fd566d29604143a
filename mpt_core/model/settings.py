"""ModelSettings: the one frozen dataclass that describes an MPT model.

It is saved inside every checkpoint, so a checkpoint alone rebuilds its model.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from mpt_core.settings import SettingsError, SettingsMixin

from mpt_core.names import VARIANTS  # noqa: F401 (re-exported)


@dataclass(frozen=True)
class ModelSettings(SettingsMixin):
    _kind = "model setting"

    variant: str = "mpt"
    model: str = "mpt"  # or a baseline: a zoo network (mpt_core/model/zoo) or a hand-crafted method (mpt_core/features)
    backbone: str = "vit_base_patch16_224"
    num_classes: int = 5
    prompts: int = 5          # K motion (or VPT) tokens
    reduction: int = 8        # adapter bottleneck D / r
    frames: int = 16          # T motion frames per clip
    embed_channels: int = 128  # C of the frame embedding in the tokenizer
    img_size: int = 224       # passed to timm; other input sizes are resized on the device
    depth: int | None = None  # overrides the backbone depth (tiny test/demo backbones)
    motion_size: int | None = None  # size of the motion frames at the tokenizer; None: img_size (METHOD)

    def __post_init__(self) -> None:
        self.check_types()
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, int) and value < 1 or value == "":
                raise SettingsError(f"ModelSettings.{f.name}: invalid value {value!r}")
        if self.variant not in VARIANTS:
            raise SettingsError(f"ModelSettings.variant: unknown variant {self.variant!r}; choose one of {', '.join(VARIANTS)}")
        if self.model != "mpt":
            from .baseline import check_model_name

            check_model_name(self.model)  # raises SettingsError for an unknown name
        if self.frames < 2:
            raise SettingsError(f"ModelSettings.frames: need at least 2 frames, got {self.frames}")
