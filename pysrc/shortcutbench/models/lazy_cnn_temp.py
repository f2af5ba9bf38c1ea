"""Sample-wise learned softmax temperature (seed 004 §5.5): p = softmax(z / T(x)) with
T(x) = softplus(w·features(x) + b) + 0.05 > 0, initialised at T ≈ 1. The model returns z / T(x), so
every consumer of logits sees the tempered ones; the last T is kept for the training penalty."""
from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from .lazy_cnn import LazyCNN
from .registry import MODELS

_T_MIN = 0.05


class TemperatureCNN(LazyCNN):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.temp = nn.Linear(self.feature_dim, 1)
        nn.init.zeros_(self.temp.weight)
        nn.init.constant_(self.temp.bias, math.log(math.expm1(1.0 - _T_MIN)))  # softplus⁻¹ so T(x) = 1
        self.last_temperature = None

    def __getstate__(self):
        # the last T is a non-leaf tensor of the last forward pass: deepcopy (the diagnostics'
        # randomised copies) and pickling take the module without it
        return {**super().__getstate__(), "last_temperature": None}

    def temperature(self, feats: torch.Tensor) -> torch.Tensor:
        return F.softplus(self.temp(feats)) + _T_MIN

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        f = self.features(x)
        t = self.temperature(f)
        self.last_temperature = t
        return self.fc(f) / t


@MODELS.register("lazy_cnn_temp")
def lazy_cnn_temp(**kwargs) -> TemperatureCNN:
    return TemperatureCNN(**kwargs)
