"""SSSNet: Shallow Single Stream network (Varanka, Peng, Zhao, Electronic Imaging 2021).

One stream on a 64x64 (u, v, strain) stack: conv 5x5 (32) -> ReLU -> max-pool 3 -> BN ->
channel dropout, conv 3x3 (64) -> ReLU -> max-pool 2 -> BN -> channel dropout, then a
hidden fully connected layer of 256 units and the class layer.
"""

from __future__ import annotations

import torch
from torch import nn

from .spec import ZooSpec, check_input

# helpers


def _block(in_channels: int, out_channels: int, kernel: int, pool: int, drop: float) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel),  # 'valid'
        nn.ReLU(),
        nn.MaxPool2d(pool, stride=pool),
        nn.BatchNorm2d(out_channels),
        nn.Dropout2d(drop),
    )


# classes


class SSSNet(nn.Module):
    def __init__(self, *, num_classes: int, in_channels: int = 3, img_size: int = 64,
                 widths: tuple[int, int, int] = (32, 64, 256), drop: float = 0.5):
        super().__init__()
        self.in_channels, self.img_size = in_channels, img_size
        c1, c2, hidden = widths
        self.block1 = _block(in_channels, c1, 5, 3, drop)
        self.block2 = _block(c1, c2, 3, 2, drop)
        side = ((img_size - 4) // 3 - 2) // 2  # 64 -> 60 -> 20 -> 18 -> 9
        self.num_features = c2 * side * side
        self.fc1 = nn.Linear(self.num_features, hidden)
        self.act = nn.ReLU()
        self.drop = nn.Dropout(drop)
        self.head = nn.Linear(hidden, num_classes)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        check_input(x, channels=self.in_channels, size=self.img_size, name="SSSNet")
        x = self.block2(self.block1(x))  # (B, 64, 9, 9)
        return self.drop(self.act(self.fc1(x.flatten(1))))  # (B, 256)

    def forward_head(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(x)  # (B, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_head(self.forward_features(x))


SPEC = ZooSpec(
    name="sssnet",
    cls=SSSNet,
    citation=(
        "T. Varanka, W. Peng, G. Zhao. Micro-expression recognition with noisy labels. IS&T Electronic Imaging: "
        "Human Vision and Electronic Imaging 2021, 157-1-157-8. doi:10.2352/ISSN.2470-1173.2021.11.HVEI-157"
    ),
    inputs=("u", "v", "strain"),
    size=64,
    epochs=200,
    optimizer="adam",
    lr=1e-4,
    batch_size=32,
    weight_decay=1e-3,
    published_params=None,
    notes=(
        "Layers, widths (32, 64, 256), dropout 0.5 and the recipe (64x64 u, v, strain; Adam lr 1e-4, weight "
        "decay 1e-3, 200 epochs, batch size 32) from the first author's toolkit meb (tvaranka/meb: me_networks.py "
        "and its optical-flow benchmark notebook); the paper's own text was not checked. No parameter count "
        "asserted."
    ),
)
