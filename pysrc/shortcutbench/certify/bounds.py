"""Interval-bound (IBP) certificate, exhaustive grid check and a small local PGD for the
2-filter conv + max-pool model — the three cheaper views that bracket the exact LP answer:
IBP-certified ≤ exact-robust ≤ PGD-robust accuracy at every ε."""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from ..utils.threads import single_thread
from .lp import LinearView, _bounds


def ibp_margin(view: LinearView, x: np.ndarray, y: int, eps: float, clip: bool = False) -> float:
    """Lower bound on l_y − l_o over the box: each window is a linear function, bounded exactly
    per window; the max over windows and the difference of logits are then bounded separately."""
    lo, hi = _bounds(x, eps, clip)
    if np.any(lo > hi + 1e-12):
        return np.inf

    def window_range(rows):
        pos, neg = np.clip(rows, 0, None), np.clip(rows, None, 0)
        return rows @ x + pos @ lo + neg @ hi, rows @ x + pos @ hi + neg @ lo

    ly_lo, _ = window_range(view.rows[y])
    _, lo_hi = window_range(view.rows[1 - y])
    return float(ly_lo.max() + view.bias[y] - lo_hi.max() - view.bias[1 - y])


def ibp_radius(view: LinearView, x: np.ndarray, y: int, clip: bool = False, eps_max: float = 10.0,
               tol: float = 1e-7) -> float:
    """Largest ε with a positive IBP margin (bisection; the margin falls monotonically in ε)."""
    if ibp_margin(view, x, y, 0.0, clip) <= 0:
        return 0.0
    lo, hi = 0.0, eps_max
    if ibp_margin(view, x, y, hi, clip) > 0:
        return eps_max
    while hi - lo > tol:
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if ibp_margin(view, x, y, mid, clip) > 0 else (lo, mid)
    return lo


def pgd_attack(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, eps: float, steps: int = 50,
               alpha: float | None = None, clip: bool = True, generator: torch.Generator | None = None) -> torch.Tensor:
    """ℓ∞ PGD (Madry et al.) with a uniform random start, sign steps of α (default 0.1·ε, seed 001
    §6.2.3), projection onto the ε-box (∩ [0, 1] when clip). Returns a bool tensor: True where some
    iterate (the start included) was misclassified — a found counterexample."""
    with single_thread():
        return _pgd(model, x, y, eps, steps, 0.1 * eps if alpha is None else alpha, clip, generator)


def _pgd(model, x, y, eps, steps, alpha, clip, generator):
    x = x.detach()
    broken = model(x).argmax(1) != y
    if eps <= 0:
        return broken
    delta = (torch.rand(x.shape, generator=generator, dtype=x.dtype) * 2 - 1) * eps
    for _ in range(steps + 1):
        adv = x + delta
        if clip:
            adv = adv.clamp(0, 1)
        adv.requires_grad_(True)
        logits = model(adv)
        broken |= logits.argmax(1) != y
        loss = F.cross_entropy(logits, y)
        (grad,) = torch.autograd.grad(loss, adv)
        delta = (delta + alpha * grad.sign()).clamp(-eps, eps).detach()
    return broken
