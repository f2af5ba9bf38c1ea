"""The causal track's scene CNN (seed 001 §7 at CPU scale): three stride-2 4×4 convolutions
(32 → 16 → 8 → 4 px), then a 64-wide dense layer: ~58k weights. ``features`` is a plain Sequential
of Conv2d / ReLU / Flatten / Linear, so the interval certifier bounds it; ``fc`` is a head over the
64 features (a class head for pre-training methods that want one; the causal track's regressors
put their own readout on ``features``)."""
from __future__ import annotations

import torch
import torch.nn as nn

from .registry import MODELS

FEATURES = 64


def scene_body(in_channels: int = 3, resolution: int = 32) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(in_channels, 16, 4, stride=2, padding=1), nn.ReLU(),
        nn.Conv2d(16, 32, 4, stride=2, padding=1), nn.ReLU(),
        nn.Conv2d(32, 32, 4, stride=2, padding=1), nn.ReLU(),
        nn.Flatten(), nn.Linear(32 * (resolution // 8) ** 2, FEATURES), nn.ReLU())


class SceneCNN(nn.Module):
    def __init__(self, in_channels: int = 3, resolution: int = 32, num_classes: int = 5):
        super().__init__()
        self.features = scene_body(in_channels, resolution)
        self.fc = nn.Linear(FEATURES, num_classes)
        self.feature_dim = FEATURES

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.features(x))


@MODELS.register("scene_cnn")
def scene_cnn(**kwargs) -> SceneCNN:
    return SceneCNN(**kwargs)
