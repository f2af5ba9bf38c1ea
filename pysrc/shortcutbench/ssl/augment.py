"""Batched, seeded augmentations written with torch ops (every draw from one ``torch.Generator``,
so the same seed gives the same views on any thread count).

- SimCLR views (Chen et al. 2020, appendix A): random resized crop (area ∈ ``crop_scale``, aspect
  3/4…4/3, bilinear) with a horizontal flip where the data allow it, colour jitter of strength
  s with p = 0.8 (brightness, contrast, saturation 0.8·s, hue 0.2·s; applied in this fixed order,
  where torchvision draws an order) and grayscale with p = 0.2. SimSiam and Barlow Twins use the
  same family (their papers' CIFAR recipes differ only in blur, which 28–32 px images skip).
- Supervised (and the adversarial readout, seed §4.1: "random crop and horizontal flip"):
  pad-and-crop by whole pixels (zeros) and the flip.
Crop, flip and translation are one affine grid sample per batch.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Tuple

import torch
import torch.nn.functional as F

_LUMA = torch.tensor([0.299, 0.587, 0.114])
# RGB ↔ YIQ: hue is a rotation of the (I, Q) chroma plane
_RGB2YIQ = torch.tensor([[0.299, 0.587, 0.114], [0.596, -0.274, -0.322], [0.211, -0.523, 0.312]])
_YIQ2RGB = torch.linalg.inv(_RGB2YIQ)


@dataclass(frozen=True)
class Augment:
    crop: str = "none"  # "none" | "resized" (SimCLR) | "pad" (pad-and-crop)
    crop_scale: Tuple[float, float] = (0.08, 1.0)
    pad: int = 4
    flip: bool = False
    color_strength: float = 0.0  # SimCLR's s; 0 = no colour distortion
    p_jitter: float = 0.8
    p_gray: float = 0.2

    def __call__(self, x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        x = geometric(x, self, gen)
        if self.color_strength > 0:
            x = color_distort(x, self.color_strength, self.p_jitter, self.p_gray, gen)
        return x


NO_AUGMENT = Augment()


def _u(gen: torch.Generator, n: int, lo: float, hi: float) -> torch.Tensor:
    return lo + (hi - lo) * torch.rand(n, generator=gen, dtype=torch.float32)


def geometric(x: torch.Tensor, aug: Augment, gen: torch.Generator) -> torch.Tensor:
    b, _, h, w = x.shape
    flip = torch.where(torch.rand(b, generator=gen) < 0.5, -1.0, 1.0) if aug.flip else torch.ones(b)
    if aug.crop == "none" and not aug.flip:
        return x
    sx, sy, tx, ty = torch.ones(b), torch.ones(b), torch.zeros(b), torch.zeros(b)
    if aug.crop == "resized":
        area = _u(gen, b, *aug.crop_scale)
        ratio = torch.exp(_u(gen, b, math.log(3 / 4), math.log(4 / 3)))
        sx, sy = torch.sqrt(area * ratio).clamp(max=1.0), torch.sqrt(area / ratio).clamp(max=1.0)
        tx, ty = (2 * torch.rand(b, generator=gen) - 1) * (1 - sx), (2 * torch.rand(b, generator=gen) - 1) * (1 - sy)
    elif aug.crop == "pad":  # whole-pixel shifts in −pad…pad, the uncovered border zero
        dx = torch.randint(-aug.pad, aug.pad + 1, (b,), generator=gen).float()
        dy = torch.randint(-aug.pad, aug.pad + 1, (b,), generator=gen).float()
        tx, ty = 2 * dx / w, 2 * dy / h
    theta = torch.zeros(b, 2, 3)
    theta[:, 0, 0], theta[:, 0, 2], theta[:, 1, 1], theta[:, 1, 2] = sx * flip, tx, sy, ty
    grid = F.affine_grid(theta.to(x), list(x.shape), align_corners=False)
    mode = "bilinear" if aug.crop == "resized" else "nearest"
    return F.grid_sample(x, grid, mode=mode, padding_mode="zeros", align_corners=False)


def _gray(x: torch.Tensor) -> torch.Tensor:
    return x if x.shape[1] == 1 else torch.einsum("bchw,c->bhw", x, _LUMA.to(x)).unsqueeze(1)


def color_distort(x: torch.Tensor, s: float, p_jitter: float, p_gray: float, gen: torch.Generator) -> torch.Tensor:
    b = x.shape[0]
    col = lambda v: v.to(x).view(b, 1, 1, 1)  # noqa: E731
    jitter = torch.rand(b, generator=gen) < p_jitter
    bright, contrast = _u(gen, b, 1 - 0.8 * s, 1 + 0.8 * s), _u(gen, b, 1 - 0.8 * s, 1 + 0.8 * s)
    sat, hue = _u(gen, b, 1 - 0.8 * s, 1 + 0.8 * s), _u(gen, b, -0.2 * s, 0.2 * s)
    gray_out = torch.rand(b, generator=gen) < p_gray
    y = (x * col(bright)).clamp(0, 1)
    mean = _gray(y).mean(dim=(1, 2, 3), keepdim=True)
    y = ((y - mean) * col(contrast) + mean).clamp(0, 1)
    if x.shape[1] == 3:
        g = _gray(y)
        y = ((y - g) * col(sat) + g).clamp(0, 1)
        yiq = torch.einsum("ij,bjhw->bihw", _RGB2YIQ.to(x), y)
        c, s_ = torch.cos(2 * math.pi * hue).to(x), torch.sin(2 * math.pi * hue).to(x)
        i, q = yiq[:, 1], yiq[:, 2]
        yiq = torch.stack([yiq[:, 0], c.view(b, 1, 1) * i - s_.view(b, 1, 1) * q,
                           s_.view(b, 1, 1) * i + c.view(b, 1, 1) * q], 1)
        y = torch.einsum("ij,bjhw->bihw", _YIQ2RGB.to(x), yiq).clamp(0, 1)
    x = torch.where(col(jitter.float()) > 0, y, x)
    if x.shape[1] == 3:
        x = torch.where(col(gray_out.float()) > 0, _gray(x).expand_as(x), x)
    return x
