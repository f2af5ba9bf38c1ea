"""Exhaustive grid check through lt_extended: every pixel of an image moved by {−ε, 0, +ε}
(or the corners {−ε, +ε}). This is the thesis's "proof" by Assumption 1 (seed 001 §6.2.1) and it
is NOT a proof: for a fixed pair of pooling windows the flipping set is a polyhedron that can lie
strictly between grid points. :func:`grid_counterexample_model` builds such a model."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import torch

from ..data.lt import ExtendedSpec
from ..ops.lt_extended import lt_extended


@dataclass(frozen=True)
class GridResult:
    points: int  # grid points per image
    wrong: torch.Tensor  # [B] misclassified grid points per image
    min_margin: torch.Tensor  # [B]


def grid_spec(images: torch.Tensor, labels: torch.Tensor, eps: float, corners: bool = False) -> ExtendedSpec:
    b, n, _ = images.shape
    vals = [-eps, eps] if corners else [-eps, 0.0, eps]
    offsets = torch.tensor(vals, dtype=images.dtype).expand(b, n * n, len(vals)).clone()
    pixels = torch.arange(n * n).expand(b, n * n).clone()
    return ExtendedSpec(images, labels.to(torch.int64), pixels, offsets, "corners" if corners else "full", eps)


def grid_check(filters: torch.Tensor, bias: Optional[torch.Tensor], images: torch.Tensor, labels: torch.Tensor,
               eps: float, clip: bool = False, corners: bool = False) -> GridResult:
    """Per image: how many grid points are misclassified and the smallest margin seen (not a proof)."""
    spec = grid_spec(images, labels, eps, corners)
    per = spec.per_base
    wrong, margins = [], []
    for b in range(images.shape[0]):
        out = lt_extended(spec.bases, spec.labels, spec.pixels, spec.offsets, filters.detach(),
                          None if bias is None else bias.detach(), b * per, (b + 1) * per, clip, False, False, 0)
        wrong.append(per - int(out.correct))
        margins.append(float(out.min_margin))
    return GridResult(per, torch.tensor(wrong), torch.tensor(margins, dtype=torch.float64))


def grid_counterexample_model():
    """A 3×3 canvas, 2×2 filters, class 0 filter [[−10, 0], [0, 10]], class 1 filter 0 with bias
    −1.1; image 0 except pixel (2, 2) = 0.4; ε = 0.41. Windows (0,0) and (1,1) both read the centre
    pixel with opposite signs, a V in δ_centre whose bottom (δ = 0.2, logit 0 ≈ −2.1) lies between
    the grid values {−0.41, 0, 0.41} (best grid logit 0: −0.1). Every grid point is classified
    correctly (−0.1 > −1.1); the LP finds δ_centre = 0.2, where class 1 wins.
    Returns (filters [2,2,2], bias [2], image [3,3], label, eps)."""
    filters = torch.zeros(2, 2, 2, dtype=torch.float64)
    filters[0] = torch.tensor([[-10.0, 0.0], [0.0, 10.0]])
    bias = torch.tensor([0.0, -1.1], dtype=torch.float64)
    image = torch.zeros(3, 3, dtype=torch.float64)
    image[2, 2] = 0.4
    return filters, bias, image, 0, 0.41
