"""OFF-ApexNet: optical flow features from the apex frame (Gan et al., Signal Processing: Image Communication 2019).

Two streams, one on the horizontal and one on the vertical onset-to-apex flow (28x28
each), each a LeNet-style pair conv 5x5 (6) -> max-pool 2 -> conv 5x5 (16) -> max-pool 2
(7x7x16 = 784 features); the two feature vectors are concatenated (1,568) and passed
through two fully connected layers of 1,024 units and the class layer.
"""

from __future__ import annotations

import torch
from torch import nn

from .spec import ZooSpec, check_input

# helpers


class _Stream(nn.Module):
    """One flow component: (B, 1, S, S) -> (B, 16, S/4, S/4)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, kernel_size=5, padding=2)
        self.conv2 = nn.Conv2d(6, 16, kernel_size=5, padding=2)
        self.act = nn.ReLU()
        self.pool = nn.MaxPool2d(kernel_size=2, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool(self.act(self.conv1(x)))  # (B, 6, 14, 14)
        return self.pool(self.act(self.conv2(x)))  # (B, 16, 7, 7)


# classes


class OffApexNet(nn.Module):
    """One stream per input channel (the paper: 2, horizontal and vertical flow)."""

    def __init__(self, *, num_classes: int, in_channels: int = 2, img_size: int = 28,
                 hidden: int = 1024, drop: float = 0.5):
        super().__init__()
        self.in_channels, self.img_size = in_channels, img_size
        self.streams = nn.ModuleList([_Stream() for _ in range(in_channels)])
        self.num_features = in_channels * 16 * (img_size // 4) ** 2  # 2 * 784
        self.fc1 = nn.Linear(self.num_features, hidden)
        self.fc2 = nn.Linear(hidden, hidden)
        self.act = nn.ReLU()
        self.drop = nn.Dropout(drop)
        self.head = nn.Linear(hidden, num_classes)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        check_input(x, channels=self.in_channels, size=self.img_size, name="OffApexNet")
        parts = [s(x[:, i : i + 1]).flatten(1) for i, s in enumerate(self.streams)]  # C x (B, 784)
        x = torch.cat(parts, dim=1)  # (B, 1568)
        x = self.drop(self.act(self.fc1(x)))  # (B, 1024)
        return self.drop(self.act(self.fc2(x)))  # (B, 1024)

    def forward_head(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(x)  # (B, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_head(self.forward_features(x))


SPEC = ZooSpec(
    name="offapexnet",
    cls=OffApexNet,
    citation=(
        "Y. S. Gan, S.-T. Liong, W.-C. Yau, Y.-C. Huang, L.-K. Tan. OFF-ApexNet on micro-expression recognition "
        "system. Signal Processing: Image Communication 74:129-139, 2019. doi:10.1016/j.image.2019.02.005"
    ),
    inputs=("u", "v"),
    size=28,
    epochs=3000,
    optimizer="adam",
    lr=1e-4,
    batch_size=32,
    weight_decay=0.0,
    published_params=None,
    notes=(
        "Two streams on u and v at 28x28, conv 5x5 x6 / x16 with 2x2 pooling, FC 1024-1024, lr 1e-4 and "
        "3,000 epochs as in the paper and in meb's reproduction (Adam). Chosen: batch size 32 (meb's default; "
        "the paper's was not available to us), no weight decay, ReLU after every conv and FC, dropout 0.5 after "
        "each hidden FC. No count from the OFF-ApexNet paper itself was checked; STSTNet's paper (same authors) "
        "lists OFF-ApexNet at 2.77 M, which this reading (2,664,475 at 3 classes) does not reproduce, so no "
        "count is asserted."
    ),
)
