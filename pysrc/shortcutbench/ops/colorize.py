"""colorize: paint grayscale digits with one RGB colour per image (seed 000 §2.2: the stroke
takes grayscale intensity × colour)."""
from __future__ import annotations

import torch

from .. import _ext


def colorize_reference(gray: torch.Tensor, color: torch.Tensor, background: bool = False) -> torch.Tensor:
    """gray [N, H, W] uint8 (0..255) or float32 (0..1); color [N, 3] float32 → [N, 3, H, W].

    stroke (default): g · colour, black background; background: g + (1 − g) · colour, a white
    stroke on a coloured background (ReBias-style).
    """
    g = gray.to(torch.float32) / 255.0 if gray.dtype == torch.uint8 else gray
    g = g.unsqueeze(1)
    col = color[:, :, None, None]
    return g + (1.0 - g) * col if background else g * col


@_ext.register_fake("colorize")
def _colorize_fake(gray, color, background):
    torch._check(gray.dim() == 3 and color.dim() == 2, lambda: "gray [N, H, W] and color [N, 3] expected")
    return color.new_empty(gray.shape[0], 3, gray.shape[1], gray.shape[2])


def colorize(gray: torch.Tensor, color: torch.Tensor, background: bool = False) -> torch.Tensor:
    if _ext.use_compiled("colorize", gray.device):
        return torch.ops.shortcutbench.colorize(gray, color, background)
    return colorize_reference(gray, color, background)
