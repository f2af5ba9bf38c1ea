"""ResNets for the ssl track (seed 001 §4.1): the CIFAR variant of He et al.'s ResNet (3×3 stem,
no max-pool, as the lightning-bolts ResNet-18 the seed trains on CIFAR-10 with first_conv and
maxpool1 off), global average pool → ``features`` → ``fc``. ``resnet18`` is the seed's backbone
(BasicBlock × [2, 2, 2, 2], widths 64…512, 512-d features); ``resnet_small`` is the same family
at widths 16/32/64 and one block a stage, which pre-trains on a CPU core in minutes.

An encoder is ``model.features``; a linear readout is ``model.fc``, so an SSL encoder with its
readout is an ordinary [B, C, H, W] → [B, 10] classifier that every attack and track accepts.
"""
from __future__ import annotations

from typing import Sequence

import torch
import torch.nn as nn

from .registry import MODELS


class BasicBlock(nn.Module):
    def __init__(self, c_in: int, c_out: int, stride: int):
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.relu = nn.ReLU()
        self.shortcut = nn.Sequential()
        if stride != 1 or c_in != c_out:  # projection shortcut (option B of He et al.)
            self.shortcut = nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride, bias=False), nn.BatchNorm2d(c_out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        return self.relu(self.bn2(self.conv2(out)) + self.shortcut(x))


class ResNet(nn.Module):
    def __init__(self, widths: Sequence[int] = (64, 128, 256, 512), blocks: Sequence[int] = (2, 2, 2, 2),
                 in_channels: int = 3, num_classes: int = 10):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(in_channels, widths[0], 3, 1, 1, bias=False), nn.BatchNorm2d(widths[0]),
                                  nn.ReLU())
        stages, c = [], widths[0]
        for i, (w, n) in enumerate(zip(widths, blocks)):
            for j in range(n):
                stages.append(BasicBlock(c, w, 2 if (i > 0 and j == 0) else 1))
                c = w
        self.stages = nn.Sequential(*stages)
        self.gap = nn.AdaptiveAvgPool2d(1)
        self.feature_dim = c
        self.fc = nn.Linear(c, num_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The encoder f(x): the pooled vector the readout reads (512-d for ResNet-18)."""
        return torch.flatten(self.gap(self.stages(self.stem(x))), 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.features(x))


@MODELS.register("resnet18")
def resnet18(in_channels: int = 3, num_classes: int = 10) -> ResNet:
    return ResNet((64, 128, 256, 512), (2, 2, 2, 2), in_channels, num_classes)


@MODELS.register("resnet_small")
def resnet_small(in_channels: int = 3, num_classes: int = 10) -> ResNet:
    return ResNet((16, 32, 64), (1, 1, 1), in_channels, num_classes)
