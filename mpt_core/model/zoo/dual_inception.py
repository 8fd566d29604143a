"""Dual-Inception (Zhou, Mao, Xue, FG 2019, MEGC 2019 cross-database challenge).

The horizontal and the vertical TV-L1 flow (28x28) each go through their own stack of
two inception modules (6 then 16 filters per branch), each module followed by a 2x2
max-pool; the two flattened 7x7x64 maps are concatenated and classified by one hidden
fully connected layer of 1,024 units.
"""

from __future__ import annotations

import torch
from torch import nn

from .spec import ZooSpec, check_input

# helpers


def _conv_relu(in_channels: int, out_channels: int, kernel: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(in_channels, out_channels, kernel, padding=kernel // 2), nn.ReLU())


class Inception(nn.Module):
    """GoogLeNet-style module, all four branches of equal width ``width``; output 4 * width channels.

    Branches: 1x1 | 1x1 -> 3x3 | 1x1 -> 5x5 | max-pool 3x3 stride 1 -> 1x1, each conv followed by ReLU.
    """

    def __init__(self, in_channels: int, width: int):
        super().__init__()
        self.b1 = _conv_relu(in_channels, width, 1)
        self.b3 = nn.Sequential(_conv_relu(in_channels, width, 1), _conv_relu(width, width, 3))
        self.b5 = nn.Sequential(_conv_relu(in_channels, width, 1), _conv_relu(width, width, 5))
        self.bp = nn.Sequential(nn.MaxPool2d(3, stride=1, padding=1), _conv_relu(in_channels, width, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.b1(x), self.b3(x), self.b5(x), self.bp(x)], dim=1)  # (B, 4w, H, W)


class _Stream(nn.Module):
    """(B, 1, S, S) -> inception(6) -> pool -> inception(16) -> pool -> (B, 64, S/4, S/4)."""

    def __init__(self) -> None:
        super().__init__()
        self.block1 = Inception(1, 6)
        self.block2 = Inception(24, 16)
        self.pool = nn.MaxPool2d(2, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool(self.block1(x))  # (B, 24, 14, 14)
        return self.pool(self.block2(x))  # (B, 64, 7, 7)


# classes


class DualInception(nn.Module):
    """One inception stream per input channel (the paper: 2, horizontal and vertical flow)."""

    def __init__(self, *, num_classes: int, in_channels: int = 2, img_size: int = 28, hidden: int = 1024):
        super().__init__()
        self.in_channels, self.img_size = in_channels, img_size
        self.streams = nn.ModuleList([_Stream() for _ in range(in_channels)])
        self.num_features = in_channels * 64 * (img_size // 4) ** 2  # 2 * 3136
        self.fc = nn.Linear(self.num_features, hidden)
        self.act = nn.ReLU()
        self.head = nn.Linear(hidden, num_classes)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        check_input(x, channels=self.in_channels, size=self.img_size, name="DualInception")
        parts = [s(x[:, i : i + 1]).flatten(1) for i, s in enumerate(self.streams)]  # C x (B, 3136)
        return self.act(self.fc(torch.cat(parts, dim=1)))  # (B, 1024)

    def forward_head(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(x)  # (B, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_head(self.forward_features(x))


SPEC = ZooSpec(
    name="dual-inception",
    cls=DualInception,
    citation=(
        "L. Zhou, Q. Mao, L. Xue. Dual-Inception Network for Cross-Database Micro-Expression Recognition. "
        "IEEE FG 2019 (MEGC 2019), pp. 642-646."
    ),
    inputs=("u", "v"),
    size=28,
    epochs=40,
    optimizer="adam",
    lr=1e-4,
    batch_size=3,
    weight_decay=0.0,
    published_params=None,
    notes=(
        "Layers, widths (6 and 16 per branch), FC 1024, Adam lr 1e-4, batch size 3 and 40 epochs are those of "
        "the authors' released Keras code (github.com/xly135846/MEGC2019, dual_inception.py); no parameter "
        "count from the paper was checked, so none is asserted. Each stream reads one flow component (1 "
        "channel); the released code loads each component as a 3-channel image, which changes only the first "
        "convolutions' input width. The code keeps the checkpoint of best validation loss on held-out training "
        "subjects; under this protocol the last epoch is used instead. No dropout or weight decay, as in the code."
    ),
)
