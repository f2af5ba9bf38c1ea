"""Sparse decision layers (seed 002 §2–3, App. A.3, D.1.1).

- :func:`select_sparse`: the sparsest layer on the path whose validation accuracy is at most
  ``tolerance`` (absolute, default 0.05 = 5 points) below the best on the path (seed §3.1, D.1.1).
- :func:`topk_accuracy`: accuracy when each class may use only its top-k features by |weight|
  (seed §3.2, Fig. 3b).
- :func:`entry_order`: the path index at which each (class, feature) weight first becomes
  non-zero (seed App. A.3).
- :func:`selectivity`: per-feature η² of colour and of digit (between-group / total variance),
  used to call a feature colour- or digit-selective.
"""
from __future__ import annotations

from typing import List, Sequence

import torch

from .path import PathPoint


def select_sparse(points: Sequence[PathPoint], tolerance: float = 0.05, key: str = "acc_val") -> int:
    """Index of the sparsest point (fewest non-zero weights; ties: higher ``key``) with
    ``key`` ≥ best − tolerance."""
    if not points:
        raise ValueError("empty path")
    best = max(p.metrics[key] for p in points)
    ok = [i for i, p in enumerate(points) if p.metrics[key] >= best - tolerance]
    return min(ok, key=lambda i: (points[i].nnz, -points[i].metrics[key]))


def features_per_class(weight: torch.Tensor) -> List[int]:
    return [int(v) for v in (weight != 0).sum(1)]


def topk_mask(weight: torch.Tensor, k: int) -> torch.Tensor:
    """Per class, True at the k features of largest |weight| (only non-zero ones)."""
    mask = torch.zeros_like(weight, dtype=torch.bool)
    kk = min(k, weight.shape[1])
    idx = weight.abs().topk(kk, dim=1).indices
    mask.scatter_(1, idx, True)
    return mask & (weight != 0)


def accuracy(weight: torch.Tensor, bias: torch.Tensor, X: torch.Tensor, y: torch.Tensor) -> float:
    return float(((X.to(weight.dtype) @ weight.T + bias).argmax(1) == y).double().mean())


def topk_accuracy(weight: torch.Tensor, bias: torch.Tensor, X: torch.Tensor, y: torch.Tensor, k: int) -> float:
    return accuracy(weight * topk_mask(weight, k), bias, X, y)


def entry_order(points: Sequence[PathPoint]) -> torch.Tensor:
    """[k, d] int: first path index where the weight is non-zero; len(points) if never."""
    nz = torch.stack([p.weight != 0 for p in points])  # [T, k, d]
    first = torch.where(nz.any(0), nz.float().argmax(0), torch.full(nz.shape[1:], len(points)))
    return first.long()


def eta_squared(values: torch.Tensor, groups: torch.Tensor) -> torch.Tensor:
    """Per column of values [n, d]: Σ_g n_g (mean_g − mean)² / Σ (x − mean)² (0 for constant columns)."""
    v = values.double()
    mean = v.mean(0)
    total = ((v - mean) ** 2).sum(0)
    between = torch.zeros_like(mean)
    for g in groups.unique():
        sel = v[groups == g]
        between += sel.shape[0] * (sel.mean(0) - mean) ** 2
    return torch.where(total > 0, between / torch.where(total > 0, total, torch.ones_like(total)), torch.zeros_like(total))


def selectivity(features: torch.Tensor, digit: torch.Tensor, color: torch.Tensor):
    """(η²_colour, η²_digit) per feature; on a colour-balanced split the two factors are independent."""
    return eta_squared(features, color), eta_squared(features, digit)
