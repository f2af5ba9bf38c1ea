"""Interval-bound (IBP) certificate, exhaustive grid check and PGD (the attack engine's) for the
2-filter conv + max-pool model — the three cheaper views that bracket the exact LP answer:
IBP-certified ≤ exact-robust ≤ PGD-robust accuracy at every ε."""
from __future__ import annotations

import numpy as np
import torch

from ..attacks import PGD, AttackResult
from ..attacks.engine import random_start
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


def pgd_run(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, eps: float, steps: int = 50,
            alpha: float | None = None, generator: torch.Generator | None = None) -> AttackResult:
    """ℓ∞ PGD (Madry et al.) on the attack engine: a uniform random start U(−ε, ε) drawn from
    ``generator`` (so restarts and ε sweeps share one stream), sign steps of α (default 0.1·ε, seed
    001 §6.2.3), projection onto the ε-box ∩ [0, 1] (torchattacks' PGD, which the thesis ran).
    ``success`` is True where some iterate (the start included) or x itself is misclassified."""
    gen = torch.Generator().manual_seed(0) if generator is None else generator
    atk = PGD(eps=eps, steps=steps, step_size=0.1 * eps if alpha is None else alpha, random_start=False)
    x = x.detach()
    # the start is drawn here, not by the attack: its own generator restarts from its seed every call
    start = random_start(x, atk.per_sample_eps(x, None), False, gen, uniform_box=True)
    with single_thread():  # 8 tiny images: threads cost more than they save (utils/threads.py)
        return atk(model, x, y, x_init=start)


def pgd_attack(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, eps: float, steps: int = 50,
               alpha: float | None = None, generator: torch.Generator | None = None) -> torch.Tensor:
    """Bool tensor: True where :func:`pgd_run` found a counterexample. ε ≤ 0 draws no noise (the
    clean prediction decides), so a sweep starting at ε = 0 leaves the generator's stream alone."""
    if eps <= 0:
        with torch.no_grad():
            return model(x).argmax(1) != y
    return pgd_run(model, x, y, eps, steps, alpha, generator).success
