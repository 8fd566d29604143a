"""Training settings: one frozen dataclass, serialised into every run's config.json."""

from __future__ import annotations

from dataclasses import dataclass

from mpt_core.names import OPTIMIZERS, PRECISIONS
from mpt_core.settings import SettingsMixin



@dataclass(frozen=True)
class TrainSettings(SettingsMixin):
    _kind = "training setting"

    epochs: int = 20  # fixed; the LAST epoch is evaluated (METHOD.md section 3)
    batch_size: int = 16
    lr: float = 3e-4
    seed: int = 0  # fold i uses seed + i
    device: str = "auto"  # "auto" (cuda if available), "cpu", "cuda", "cuda:1"
    flip: bool = True  # random horizontal flip of rank image + every motion frame together (train only)
    memory_budget_gb: float = 4.0  # the cache is loaded onto the device once if its arrays fit in this
    chunk_clips: int = 64  # clips per read when streaming from disk
    prefetch: int = 2  # chunks read ahead by the background thread
    eval_batch_size: int = 32
    deterministic: bool = True  # torch.use_deterministic_algorithms(warn_only=True)
    precision: str = "auto"  # "auto" (bf16 where the device has native bf16, else fp32), "fp32", "bf16"
    fold_batch: int = 1  # folds trained together over one backbone pass; 0 = auto (from a memory budget)
    optimizer: str = "adam"  # "adam" (METHOD.md) or "sgd" (momentum 0.9: some baselines' published recipe)
    weight_decay: float = 0.0

    def __post_init__(self):
        self.check_types()
        for name in ("epochs", "batch_size", "chunk_clips", "prefetch", "eval_batch_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"TrainSettings.{name} must be >= 1, got {getattr(self, name)}")
        if not self.lr > 0:
            raise ValueError(f"TrainSettings.lr must be > 0, got {self.lr}")
        if self.memory_budget_gb < 0:
            raise ValueError(f"TrainSettings.memory_budget_gb must be >= 0, got {self.memory_budget_gb}")
        if self.precision not in PRECISIONS:
            raise ValueError(f"TrainSettings.precision must be one of {', '.join(PRECISIONS)}, got {self.precision!r}")
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"TrainSettings.optimizer must be one of {', '.join(OPTIMIZERS)}, got {self.optimizer!r}")
        if self.weight_decay < 0:
            raise ValueError(f"TrainSettings.weight_decay must be >= 0, got {self.weight_decay}")
        if self.fold_batch < 0:
            raise ValueError(f"TrainSettings.fold_batch must be >= 0 (0 = auto), got {self.fold_batch}")
        if not (self.device in ("auto", "cpu", "cuda") or self.device.startswith("cuda:")):
            raise ValueError(f"TrainSettings.device must be auto, cpu or cuda[:N], got {self.device!r}")
