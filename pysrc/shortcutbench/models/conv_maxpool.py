"""The toy architecture of seed 001 §6 (Figure 16): one Conv2d(1, 2, k) whose two output maps are
max-pooled over every position into two logits, [class 0, class 1]. No padding, stride 1.

The thesis uses bias=False (lt_experiments.py); a bias is optional here."""
from __future__ import annotations

import torch
import torch.nn as nn

from .registry import MODELS


class ConvMaxPool(nn.Module):
    def __init__(self, kernel: int = 3, bias: bool = False, num_classes: int = 2):
        super().__init__()
        self.conv = nn.Conv2d(1, num_classes, kernel, bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() == 3:  # [B, n, n] canvases
            x = x.unsqueeze(1)
        return self.conv(x).flatten(2).amax(2)

    @property
    def filters(self) -> torch.Tensor:
        """[2, k, k] view of the weights (what lt_extended and the certificates read)."""
        return self.conv.weight[:, 0]

    @property
    def bias(self):
        return self.conv.bias

    @torch.no_grad()
    def set_filters(self, filters: torch.Tensor, bias: torch.Tensor | None = None) -> "ConvMaxPool":
        self.conv.weight.copy_(filters.reshape(self.conv.weight.shape))
        if bias is not None:
            self.conv.bias.copy_(bias)
        return self


@MODELS.register("conv_maxpool")
def conv_maxpool(kernel: int = 3, bias: bool = False, num_classes: int = 2) -> ConvMaxPool:
    return ConvMaxPool(kernel, bias, num_classes)
