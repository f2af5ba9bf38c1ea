"""The seed's "lazy" baseline (seed 000 §3.2): 3 × (conv → ReLU → max-pool), then a head.

The seed gives the shape of the network, not its widths; we use 16/32/64 channels, 3×3 convs
with padding 1, and a global-average-pool → linear head (its §8 names the pooled vector "gap",
pre-classifier). Layer names (conv1, relu1, pool1, …, gap, fc) follow the seed's figures so
diagnostics can address them by name. ReLUs are not in-place, so hooks see clean tensors.
"""
from __future__ import annotations

from typing import Sequence

import torch
import torch.nn as nn

from .registry import MODELS


class LazyCNN(nn.Module):
    def __init__(self, in_channels: int = 3, widths: Sequence[int] = (16, 32, 64), num_classes: int = 10):
        super().__init__()
        c1, c2, c3 = widths
        self.conv1 = nn.Conv2d(in_channels, c1, 3, padding=1)
        self.relu1 = nn.ReLU()
        self.pool1 = nn.MaxPool2d(2)
        self.conv2 = nn.Conv2d(c1, c2, 3, padding=1)
        self.relu2 = nn.ReLU()
        self.pool2 = nn.MaxPool2d(2)
        self.conv3 = nn.Conv2d(c2, c3, 3, padding=1)
        self.relu3 = nn.ReLU()
        self.pool3 = nn.MaxPool2d(2)
        self.gap = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(c3, num_classes)
        self.feature_dim = c3

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Penultimate features (the pooled vector the head reads)."""
        x = self.pool1(self.relu1(self.conv1(x)))
        x = self.pool2(self.relu2(self.conv2(x)))
        x = self.pool3(self.relu3(self.conv3(x)))
        return torch.flatten(self.gap(x), 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.features(x))


@MODELS.register("lazy_cnn")
def lazy_cnn(**kwargs) -> LazyCNN:
    return LazyCNN(**kwargs)
