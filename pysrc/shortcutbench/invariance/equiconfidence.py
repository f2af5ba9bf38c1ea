"""Equi-confidence path widths (seed 004 §6.1): around an NSPGD iterate x_i, sample points on the ℓ2
sphere of radius r restricted to the hyperplane ⟨x − x_i, ∇p_j(x_i)⟩ = 0 and report the 5th and 95th
percentiles of p_j over the samples."""
from __future__ import annotations

from typing import Sequence

import torch
import torch.nn as nn

from ..ops.nullspace_project import nullspace_project


def path_percentiles(model: nn.Module, xs: torch.Tensor, label: torch.Tensor, radii: Sequence[float],
                     samples: int = 32, generator: torch.Generator = None) -> torch.Tensor:
    """xs [P, ...] iterates with classes ``label`` [P] → [P, len(radii), 2] (5th, 95th percentile)."""
    model.eval()
    x = xs.detach().clone().requires_grad_(True)
    with torch.enable_grad():
        p = torch.softmax(model(x), 1)
        g, = torch.autograd.grad(p.gather(1, label[:, None]).sum(), x)
    P, n = x.shape[0], x[0].numel()
    d = torch.randn(P, samples, n, generator=generator)
    rows = g.flatten(1).unsqueeze(1).expand(P, samples, n).reshape(P * samples, 1, n).contiguous()
    d = nullspace_project(d.reshape(P * samples, n).contiguous(), rows, False).reshape(P, samples, n)
    d = d / d.norm(dim=2, keepdim=True).clamp_min(1e-12)
    out = torch.empty(P, len(radii), 2)
    with torch.no_grad():
        for ri, r in enumerate(radii):
            pts = (x.detach().flatten(1)[:, None] + r * d).reshape(P * samples, *x.shape[1:])
            pj = torch.softmax(model(pts), 1).reshape(P, samples, -1).gather(
                2, label[:, None, None].expand(P, samples, 1))[..., 0]
            out[:, ri, 0] = torch.quantile(pj, 0.05, dim=1)
            out[:, ri, 1] = torch.quantile(pj, 0.95, dim=1)
    return out
