"""Square Attack (Andriushchenko et al. 2020), ℓ∞, score-based: random square updates of ±ε,
accepted when the margin z_y − max_{j≠y} z_j drops; only on points not yet fooled.

Schedule of the square's area share p as AutoAttack's ``p_selection`` without rescaling
(``resc_schedule=False`` in AutoAttack standard): p_init halves after 10, 50, 200, 500, 1000,
2000, 4000, 6000, 8000 queries. Init: vertical stripes of ±ε. Unlike AutoAttack's batch code,
which draws one window and one sign vector per iteration for the whole batch, every image draws
its own window and signs, as in the paper's per-image algorithm.

Its 5,000 forward passes per robust image are most of the ``standard`` cascade's time, so they go
through the engine's model view (gradient_view.py: the same function, ~2.3× cheaper a forward on
the LazyCNN); the cascade decides success with the model itself.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from ..errors import UsageError
from .base import Attack, register_attack
from .engine import AttackResult
from .gradient_view import gradient_view
from .losses import margin

_HALVINGS = (10, 50, 200, 500, 1000, 2000, 4000, 6000, 8000)


def p_selection(p_init: float, it: int) -> float:
    return p_init / 2 ** sum(it > h for h in _HALVINGS)


@register_attack("square")
@dataclass(frozen=True)
class Square(Attack):
    n_queries: int = 5000
    p_init: float = 0.8

    name = "square"

    def run(self, model, x, y, targets, eps, x_init):
        if self.l2:
            raise UsageError("square is implemented for norm='linf' only")
        if targets is not None:
            raise UsageError("square is untargeted here")
        gen = self.generator()
        model = gradient_view(model)
        B, c, h, w = x.shape
        e = eps.view(B, 1, 1, 1)
        stripes = (torch.randint(0, 2, (B, c, 1, w), generator=gen) * 2 - 1).to(x.device, x.dtype)
        x_best = (x + e * stripes).clamp(0, 1)
        with torch.no_grad():
            m_best = margin(model(x_best), y)
        evals = B
        act = ((m_best > 0) & (eps > 0)).nonzero().squeeze(1)  # ε = 0: nothing to search
        for it in range(1, self.n_queries):
            if act.numel() == 0:
                break
            n = act.numel()
            s = max(int(round(math.sqrt(p_selection(self.p_init, it) * h * w))), 1)
            # every image its own window and signs (drawn for the whole batch: independent of the active set)
            vh = torch.randint(0, h - s + 1, (B,), generator=gen)[act.cpu()].to(x.device)
            vw = torch.randint(0, w - s + 1, (B,), generator=gen)[act.cpu()].to(x.device)
            sign = (torch.randint(0, 2, (B, c, 1, 1), generator=gen) * 2 - 1)[act.cpu()].to(x.device, x.dtype)
            rr = torch.arange(h, device=x.device)
            cc = torch.arange(w, device=x.device)
            win = (((rr[None] >= vh[:, None]) & (rr[None] < vh[:, None] + s))[:, :, None]
                   & ((cc[None] >= vw[:, None]) & (cc[None] < vw[:, None] + s))[:, None, :])[:, None]
            xa, xb, ea = x[act], x_best[act], e[act]
            x_new = torch.where(win, (xa + ea * sign).clamp(0, 1), xb)
            with torch.no_grad():
                m_new = margin(model(x_new), y[act])
            evals += n
            better = m_new < m_best[act]
            x_best[act[better]] = x_new[better]
            m_best[act[better]] = m_new[better]
            act = act[m_best[act] > 0]
        success = m_best <= 0
        x_adv = torch.where(success.view(B, 1, 1, 1), x_best, x)
        return AttackResult(x_adv, success, x_best, -m_best, evals)
