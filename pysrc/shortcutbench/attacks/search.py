"""Minimal-ε search (seed 000 §7.3, research/adversarial.md §4 recommendation): per-sample
bisection on ε, run as one batch with per-sample ε.

1. Attack every sample at ε_max (APGD, restarts). Samples that fail have ε_min = ∞.
2. ``steps`` bisection levels on [lo, hi] = [0, ε_max] for the successes: attack at
   mid = (lo + hi)/2, warm-started from the adversarial found at the larger ε (hi) projected onto
   the mid-ball; success → hi = mid (and its adversarial), else lo = mid.
3. ε_min = hi. Monotone by construction: a success at ε counts for every larger ε.

Goal: untargeted (argmax ≠ y) or targeted (argmax = t and p_t ≥ κ; seed 000: 7→3, κ = 0.9).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import torch
import torch.nn as nn

from ..errors import UsageError
from .gradient import APGD


@dataclass(frozen=True)
class MinEpsSearch:
    norm: str = "linf"
    eps_max: float = 0.05
    kappa: float = 0.0  # targeted confidence threshold
    steps: int = 10  # bisection levels: resolution ε_max / 2**steps
    iters: int = 100  # APGD iterations at ε_max
    restarts: int = 3  # at ε_max (the first from a random start too)
    level_iters: int = 50  # APGD iterations per bisection level (warm start)
    seed: int = 0

    def __post_init__(self) -> None:
        if self.eps_max <= 0 or self.steps < 1:
            raise UsageError(f"min-eps search needs eps_max > 0 and steps >= 1, got {self.eps_max}, {self.steps}")

    def run(self, model: nn.Module, x: torch.Tensor, y: torch.Tensor, targets: Optional[torch.Tensor] = None
            ) -> "MinEpsResult":
        y = y.to(x.device)
        B = x.shape[0]
        top = APGD(eps=self.eps_max, norm=self.norm, seed=self.seed, steps=self.iters, restarts=self.restarts,
                   loss="ce", kappa=self.kappa)
        first = top(model, x, y, targets)
        with torch.no_grad():
            p_best = _target_prob(model(first.x_best), y, targets)
            p_adv = _target_prob(model(first.x_adv), y, targets)
        p_best = torch.where(first.success, torch.maximum(p_best, p_adv), p_best)
        hi = torch.where(first.success, torch.full((B,), self.eps_max, dtype=x.dtype, device=x.device),
                         torch.full((B,), float("inf"), dtype=x.dtype, device=x.device))
        lo = torch.zeros(B, dtype=x.dtype, device=x.device)
        x_hi = first.x_adv.clone()
        rows = first.success.nonzero().squeeze(1)
        evals = first.grad_evals
        level = APGD(eps=self.eps_max, norm=self.norm, seed=self.seed + 1, steps=self.level_iters, restarts=1,
                     loss="ce", kappa=self.kappa)
        for _ in range(self.steps):
            if rows.numel() == 0:
                break
            mid = (lo[rows] + hi[rows]) / 2
            start = _project(x_hi[rows], x[rows], mid, self.norm)
            res = level(model, x[rows], y[rows], None if targets is None else targets[rows], eps=mid, x_init=start)
            evals += res.grad_evals
            ok = res.success
            hi[rows[ok]] = mid[ok]
            x_hi[rows[ok]] = res.x_adv[ok]
            lo[rows[~ok]] = mid[~ok]
        return MinEpsResult(hi, first.success, p_best, x_hi, evals)


@dataclass
class MinEpsResult:
    eps_min: torch.Tensor  # [B]; inf where no success at ε_max
    success: torch.Tensor  # [B] bool at ε_max
    best_p_target: torch.Tensor  # [B] best P(target) seen at ε_max (untargeted: best P(any wrong class))
    x_adv: torch.Tensor  # adversarial at ε_min (x where no success)
    grad_evals: int


def _target_prob(z: torch.Tensor, y: torch.Tensor, targets: Optional[torch.Tensor]) -> torch.Tensor:
    p = z.softmax(1)
    if targets is not None:
        return p.gather(1, targets[:, None]).squeeze(1)
    return p.scatter(1, y[:, None], 0.0).amax(1)


def _project(v: torch.Tensor, x: torch.Tensor, eps: torch.Tensor, norm: str) -> torch.Tensor:
    d = (v - x).reshape(x.shape[0], -1)
    if norm == "l2":
        n = d.norm(dim=1, keepdim=True)
        d = d * torch.clamp(eps[:, None] / (n + 1e-12), max=1.0)
    else:
        d = torch.maximum(torch.minimum(d, eps[:, None]), -eps[:, None])
    return (x + d.view_as(x)).clamp(0, 1)


def success_curve(eps_min: torch.Tensor, grid) -> list:
    """Share of samples with ε_min ≤ ε for each ε of the grid (seed 000 Figure 7.2)."""
    e = torch.as_tensor(eps_min, dtype=torch.float64)
    return [float((e <= g).double().mean()) if e.numel() else float("nan") for g in grid]
