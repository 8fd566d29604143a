"""STSTNet: Shallow Triple Stream Three-dimensional CNN (Liong et al., FG 2019).

Three parallel 3x3 convolutions (3, 5 and 8 kernels) read the same 28x28x3 stack of
(u, v, optical strain); each stream is conv -> ReLU -> BN -> 3x3/3 max-pool -> dropout,
the streams are concatenated (16 channels), 2x2 average-pooled to 5x5x16 and classified
by one fully connected layer (the paper's Table I; the layer order and the batch norm
are those of the authors' released MATLAB network, STSTNet.mat).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from .spec import ZooSpec, check_input

# helpers


class _Stream(nn.Module):
    """conv 3x3 'same' -> ReLU -> BN -> max-pool 3x3 stride 3 'same' -> dropout."""

    def __init__(self, in_channels: int, out_channels: int, *, drop: float):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1)
        self.act = nn.ReLU()
        self.norm = nn.BatchNorm2d(out_channels)
        # MATLAB's 'same' pooling pads 28 -> 30 so that ceil(28 / 3) = 10 windows fit.
        self.pool = nn.MaxPool2d(kernel_size=3, stride=3, padding=1)
        self.drop = nn.Dropout(drop)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.drop(self.pool(self.norm(self.act(self.conv(x)))))


# classes


class STSTNet(nn.Module):
    def __init__(self, *, num_classes: int, in_channels: int = 3, img_size: int = 28, drop: float = 0.5):
        super().__init__()
        self.in_channels, self.img_size = in_channels, img_size
        widths = (3, 5, 8)
        self.streams = nn.ModuleList([_Stream(in_channels, w, drop=drop) for w in widths])
        self.avgpool = nn.AvgPool2d(kernel_size=2, stride=2)
        side = math.ceil(img_size / 3) // 2  # 28 -> 10 -> 5
        self.num_features = sum(widths) * side * side  # 400
        self.fc = nn.Linear(self.num_features, num_classes)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        check_input(x, channels=self.in_channels, size=self.img_size, name="STSTNet")
        x = torch.cat([s(x) for s in self.streams], dim=1)  # (B, 16, 10, 10)
        return self.avgpool(x).flatten(1)  # (B, 400)

    def forward_head(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(x)  # (B, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_head(self.forward_features(x))


SPEC = ZooSpec(
    name="ststnet",
    cls=STSTNet,
    citation=(
        "S.-T. Liong, Y. S. Gan, J. See, H.-Q. Khor, Y.-C. Huang. Shallow Triple Stream Three-dimensional CNN "
        "(STSTNet) for Micro-expression Recognition. IEEE FG 2019. doi:10.1109/FG.2019.8756567"
    ),
    inputs=("u", "v", "strain"),
    size=28,
    epochs=500,
    optimizer="adam",
    lr=5e-5,
    batch_size=256,
    weight_decay=1e-4,
    published_params=1670,
    notes=(
        "Paper: lr 0.00005, 500 epochs, 28x28x3 input, Table I layers. Batch size 256 from the authors' main.m; "
        "weight decay 1e-4 is MATLAB trainingOptions' default L2Regularization, which main.m leaves unset. "
        "The paper states 1,670 learnable parameters; its Table I with the batch norm of the authors' "
        "STSTNet.mat counts 1,683 (conv 448 + BN 32 + FC 1,203), and so does this module. The MATLAB input "
        "layer zero-centres with the training set's mean image ('zerocenter'): fit it per fold. Dropout 0.5 "
        "(the authors' PyTorch port; the .mat value is MATLAB's default 0.5)."
    ),
)
