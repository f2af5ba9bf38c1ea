"""Localisation and faithfulness metrics for heat maps [B, H, W] at input resolution.

- ``bg_stroke_ratio``: seed 000 §5.4, mean map value on background pixels / on stroke pixels, the
  stroke mask taken from the grayscale digit (the same mask whatever the colour).
- ``pointing_game``: Zhang et al. 2016 / TorchRay, with a tolerance in pixels; ties are scored as
  the share of tied maxima that hit (the expected hit under random tie-breaking), so a constant
  map scores the mask's area share rather than 0 (TorchRay: first argmax) or 1 (Quantus: any).
- ``mass_inside``: relevance mass accuracy (Arras et al. 2022; Quantus): Σ map·mask / Σ map.
- ``deletion_insertion_auc``: RISE (Petsiuk et al. 2018, eclique/RISE evaluation.py): pixels
  ranked by the map, s per step, n = ⌈HW/s⌉ steps; p_k = softmax probability of the explained
  class; AUC = (Σ_k p_k − (p_0 + p_n)/2)/n (the normalised trapezoid). Deletion writes zeros;
  insertion starts from a Gaussian blur (kernel 11, σ 5) and writes the original pixels back.
- ``spearman``: per-image rank correlation with average ranks for ties (for the
  model-randomisation check of Adebayo et al. 2018).
"""
from __future__ import annotations

import math
from typing import Callable, Dict, Tuple

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from scipy.stats import rankdata

from ..errors import UsageError

STROKE_THRESHOLD = 0.5  # gray/255 above which a pixel is stroke (the seed gives no number; documented choice)


def stroke_mask(gray: torch.Tensor, threshold: float = STROKE_THRESHOLD) -> torch.Tensor:
    """Bool [B, H, W] from uint8 (0..255) or float (0..1) grayscale digits."""
    g = gray.float() / 255.0 if gray.dtype == torch.uint8 else gray.float()
    return g > threshold


def _check(maps: torch.Tensor, mask: torch.Tensor) -> None:
    if maps.shape != mask.shape:
        raise UsageError(f"maps {tuple(maps.shape)} and masks {tuple(mask.shape)} must have the same shape")


def bg_stroke_ratio(maps: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """[B] mean(map on background) / mean(map on stroke); NaN when the stroke mean is 0."""
    _check(maps, mask)
    m = mask.float()
    stroke = (maps * m).flatten(1).sum(1) / m.flatten(1).sum(1)
    bg = (maps * (1 - m)).flatten(1).sum(1) / (1 - m).flatten(1).sum(1)
    return torch.where(stroke > 0, bg / stroke, torch.full_like(bg, math.nan))


def ratio_text(value) -> str:
    """A bg/stroke ratio for captions; None when the map is zero on the stroke (e.g. a collapsed
    model whose Grad-CAM is all zero), where the ratio is undefined."""
    return "undefined (map 0 on the stroke)" if value is None else f"{value:.2f}"


def _dilate(mask: torch.Tensor, tolerance: int) -> torch.Tensor:
    if tolerance <= 0:
        return mask
    r = int(tolerance)
    yy, xx = torch.meshgrid(torch.arange(-r, r + 1), torch.arange(-r, r + 1), indexing="ij")
    disc = ((yy ** 2 + xx ** 2) <= tolerance ** 2).float()[None, None]
    return F.conv2d(mask.float()[:, None], disc, padding=r)[:, 0] > 0


def pointing_game(maps: torch.Tensor, mask: torch.Tensor, tolerance: float = 0) -> torch.Tensor:
    """[B] hit score in [0, 1]: share of the map's maximal pixels lying within ``tolerance`` px
    (Euclidean) of the mask; NaN for an empty mask (Quantus stores True there, a bug)."""
    _check(maps, mask)
    flat = maps.flatten(1)
    is_max = flat >= flat.max(1, keepdim=True).values
    near = _dilate(mask, tolerance).flatten(1)
    score = (is_max & near).sum(1).float() / is_max.sum(1).float()
    return torch.where(mask.flatten(1).any(1), score, torch.full_like(score, math.nan))


def mass_inside(maps: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """[B] Σ map·mask / Σ map for non-negative maps; NaN where the map is all zero."""
    _check(maps, mask)
    if bool((maps < 0).any()):
        raise UsageError("mass_inside needs non-negative maps (take |·| or normalise first)")
    total = maps.flatten(1).sum(1)
    inside = (maps * mask.float()).flatten(1).sum(1)
    return torch.where(total > 0, inside / torch.where(total > 0, total, torch.ones_like(total)),
                       torch.full_like(total, math.nan))


def gaussian_blur(x: torch.Tensor, klen: int = 11, sigma: float = 5.0) -> torch.Tensor:
    """Separable Gaussian blur, zero padding, per channel (RISE's insertion start image)."""
    r = torch.arange(klen, dtype=x.dtype, device=x.device) - (klen - 1) / 2
    k = torch.exp(-r ** 2 / (2 * sigma ** 2))
    k = k / k.sum()
    c = x.shape[1]
    x = F.conv2d(x, k.view(1, 1, 1, -1).repeat(c, 1, 1, 1), padding=(0, klen // 2), groups=c)
    return F.conv2d(x, k.view(1, 1, -1, 1).repeat(c, 1, 1, 1), padding=(klen // 2, 0), groups=c)


def normalised_auc(curve: torch.Tensor) -> torch.Tensor:
    """[B, n+1] → [B]: (Σ p_k − (p_0 + p_n)/2) / n, the trapezoid on [0, 1]."""
    n = curve.shape[1] - 1
    return (curve.sum(1) - (curve[:, 0] + curve[:, -1]) / 2) / n


@torch.no_grad()
def perturbation_curves(model: nn.Module, x: torch.Tensor, maps: torch.Tensor, target: torch.Tensor,
                        step: int = 28, mode: str = "deletion") -> torch.Tensor:
    """[B, n+1] probability of ``target`` as the top-ranked pixels are deleted / inserted. Pixel
    order: descending map value, ties broken by pixel index (stable sort), one order for all
    channels."""
    if mode not in ("deletion", "insertion"):
        raise UsageError(f"mode must be deletion or insertion, got {mode!r}")
    b, c, h, w = x.shape
    if maps.shape != (b, h, w):
        raise UsageError(f"maps must be [B, H, W] = {(b, h, w)}, got {tuple(maps.shape)}")
    hw = h * w
    n = math.ceil(hw / step)
    order = torch.sort(maps.reshape(b, hw), dim=1, descending=True, stable=True).indices
    rank = torch.empty_like(order)
    rank.scatter_(1, order, torch.arange(hw).expand(b, hw).contiguous())
    start, finish = (x, torch.zeros_like(x)) if mode == "deletion" else (gaussian_blur(x), x)
    probs = []
    for k in range(n + 1):
        changed = (rank < k * step).view(b, 1, h, w)
        img = torch.where(changed, finish, start)
        probs.append(F.softmax(model(img), 1).gather(1, target[:, None])[:, 0])
    return torch.stack(probs, 1)


def deletion_insertion_auc(model: nn.Module, x: torch.Tensor, maps: torch.Tensor, target: torch.Tensor,
                           step: int = 28) -> Dict[str, torch.Tensor]:
    was = model.training
    model.eval()
    try:
        return {m: normalised_auc(perturbation_curves(model, x, maps, target, step, m))
                for m in ("deletion", "insertion")}
    finally:
        model.train(was)


def spearman(a: torch.Tensor, b: torch.Tensor) -> np.ndarray:
    """[B] Spearman ρ between a[i] and b[i] (flattened), average ranks for ties; NaN if either
    is constant."""
    ra = rankdata(a.flatten(1).double().cpu().numpy(), axis=1)
    rb = rankdata(b.flatten(1).double().cpu().numpy(), axis=1)
    ra -= ra.mean(1, keepdims=True)
    rb -= rb.mean(1, keepdims=True)
    den = np.sqrt((ra ** 2).sum(1) * (rb ** 2).sum(1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, (ra * rb).sum(1) / np.where(den > 0, den, 1.0), np.nan)
