"""RCN-A: recurrent convolutional network with the parameter-free attention unit (Xia et al., IEEE TIP 2020).

A shallow network for low-resolution flow: a 5x5 stem, one recurrent convolutional
layer (a 1x1 feed-forward conv, then one 3x3 conv applied twice with shared weights, each
time to the input plus the previous state), adaptive average pooling to p x p and a
linear classifier. The attention unit adds no parameters: it weights the pooled map by a
class-activation map built from the classifier's own weights on the (pooled) stem output.
"""

from __future__ import annotations

import torch
from torch import nn

from .spec import ZooSpec, check_input

# helpers


def _conv_bn_relu(in_channels: int, out_channels: int, kernel: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel, padding=kernel // 2), nn.BatchNorm2d(out_channels), nn.ReLU()
    )


class RecurrentConvLayer(nn.Module):
    """y0 = ff(x); y_t = rr(x + y_{t-1}) for t = 1..steps (rr shared); then 2x2 max-pool and dropout."""

    def __init__(self, channels: int, *, steps: int = 2, drop: float = 0.5):
        super().__init__()
        self.steps = steps
        self.ff = _conv_bn_relu(channels, channels, 1)
        self.rr = _conv_bn_relu(channels, channels, 3)
        self.down = nn.Sequential(nn.MaxPool2d(2, stride=2), nn.Dropout(drop))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.ff(x)
        for _ in range(self.steps):
            y = self.rr(x + y)  # (B, F, H, W)
        return self.down(y)  # (B, F, H/2, W/2)


def class_attention(features: torch.Tensor, weight: torch.Tensor, eps: float = 1e-12) -> torch.Tensor:
    """Parameter-free spatial attention from classifier weights.

    features (B, F, p, p), weight (K, F*p*p) -> (B, 1, p, p): per class, the channel mean of
    weight_k * features, shifted and scaled to [0, 1] over space, then averaged over classes.
    """
    B, C, H, W = features.shape
    cams = torch.einsum("bchw,kchw->bkhw", features, weight.view(-1, C, H, W)) / C  # (B, K, p, p)
    cams = cams - cams.amin(dim=(2, 3), keepdim=True)
    cams = cams / cams.amax(dim=(2, 3), keepdim=True).clamp_min(eps)  # eps: a flat map would divide 0 by 0
    return cams.mean(dim=1, keepdim=True)  # (B, 1, p, p)


# classes


class RCN_A(nn.Module):
    def __init__(self, *, num_classes: int, in_channels: int = 3, img_size: int = 60,
                 featuremaps: int = 64, pool_size: int = 5, drop: float = 0.5):
        super().__init__()
        self.in_channels, self.img_size, self.pool_size = in_channels, img_size, pool_size
        self.stem = nn.Sequential(
            nn.Conv2d(in_channels, featuremaps, kernel_size=5),  # 'valid': 60 -> 56
            nn.BatchNorm2d(featuremaps),
            nn.ReLU(),
            nn.MaxPool2d(2, stride=2),
            nn.Dropout(drop),
        )
        self.rcl = RecurrentConvLayer(featuremaps, drop=drop)
        self.pool = nn.AdaptiveAvgPool2d(pool_size)
        self.num_features = featuremaps * pool_size * pool_size
        self.fc = nn.Linear(self.num_features, num_classes)
        self._init_weights()

    def _init_weights(self) -> None:
        # The reference initialisation: He (fan-out) convs, unit BN, small-normal classifier.
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, 0.0, 0.01)
                nn.init.zeros_(m.bias)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        check_input(x, channels=self.in_channels, size=self.img_size, name="RCN_A")
        x = self.stem(x)  # (B, F, 28, 28)
        attention = class_attention(self.pool(x), self.fc.weight)  # (B, 1, p, p)
        x = self.pool(self.rcl(x))  # (B, F, p, p)
        return (x * attention).flatten(1)  # (B, F * p * p)

    def forward_head(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(x)  # (B, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_head(self.forward_features(x))


SPEC = ZooSpec(
    name="rcn-a",
    cls=RCN_A,
    citation=(
        "Z. Xia, W. Peng, H.-Q. Khor, X. Feng, G. Zhao. Revealing the Invisible With Model and Data Shrinking for "
        "Composite-Database Micro-Expression Recognition. IEEE TIP 29:8590-8605, 2020. doi:10.1109/TIP.2020.3018222"
    ),
    inputs=("u", "v", "strain"),
    size=60,
    epochs=100,
    optimizer="sgd",
    lr=5e-4,
    batch_size=64,
    weight_decay=0.0,
    published_params=None,
    notes=(
        "Layers and recipe from the authors' released code (xiazhaoqiang/ParameterFreeRCNs-MicroExpressionRec: "
        "RCN_A model_version 3, one recurrent layer, 64 feature maps, SGD with momentum 0.9, lr 5e-4, batch 64, "
        "100 epochs, no weight decay; pool size 5 as in its README and in meb). Not expressible here: the code "
        "halves the lr every 10 epochs (StepLR 10, 0.5). Input: 60x60 (u, v, strain) as in meb's reproduction "
        "(meb shares two of the paper's authors); the released code reads 3-channel flow images. Parameter count "
        "not asserted (not checked against the paper). Chosen: eps 1e-12 in the attention's [0, 1] scaling."
    ),
)
