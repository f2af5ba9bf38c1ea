"""The batched iterative engine shared by FGSM, PGD and APGD.

One loop over iterates: forward/backward on the *active* rows only, then the fused
:func:`~shortcutbench.ops.pgd_step.pgd_step` (bookkeeping + optional APGD restore + step +
projection). Rows whose goal is reached leave the batch (the active set shrinks), because
their result is final and samples never interact (the loss is summed, the model is in eval mode).
APGD's step-size schedule follows research/adversarial.md §3 (AutoAttack's autopgd_base.py).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, List, Optional, Union

import torch
import torch.nn as nn

from ..ops.pgd_step import pgd_step
from .gradient_view import gradient_view
from .losses import attack_loss


@dataclass
class AttackResult:
    x_adv: torch.Tensor  # successful iterate where success, else the clean x (AutoAttack's convention)
    success: torch.Tensor  # [B] bool: the goal was reached at some iterate
    x_best: torch.Tensor  # loss-maximising iterate seen (warm starts; P(target) reporting)
    best_loss: torch.Tensor  # [B] the loss at x_best
    grad_evals: int = 0  # forward/backward row-passes spent (cost accounting)


def reached(z: torch.Tensor, y: torch.Tensor, target: Optional[torch.Tensor], kappa: float = 0.0) -> torch.Tensor:
    """Untargeted: argmax ≠ y. Targeted: argmax = t and p_t ≥ κ (seed 000 §7.1, κ = 0.9)."""
    pred = z.argmax(1)
    if target is None:
        return pred != y
    ok = pred == target
    if kappa > 0:
        ok &= z.softmax(1).gather(1, target[:, None]).squeeze(1) >= kappa
    return ok


def apgd_checkpoints(n_iter: int) -> List[int]:
    """1-based iterations after which APGD checks its step size: first period ⌊0.22N⌋, then
    k ← max(k − ⌊0.03N⌋, ⌊0.06N⌋), each floored at 1 (the code's counters, §3)."""
    k, decr, kmin = max(int(0.22 * n_iter), 1), max(int(0.03 * n_iter), 1), max(int(0.06 * n_iter), 1)
    out, t = [], k
    while t <= n_iter:
        out.append(t)
        k = max(k - decr, kmin)
        t += k
    return out


def random_start(x: torch.Tensor, eps: torch.Tensor, l2: bool, gen: torch.Generator, uniform_box: bool) -> torch.Tensor:
    """ℓ∞: U(−ε, ε) per pixel (Madry PGD) or ε·t/‖t‖∞, t ~ U[−1, 1] (APGD); ℓ2: ε·n/‖n‖₂, n ~ N(0, I)
    (APGD). Noise is drawn for the whole batch on CPU, so it never depends on the active set."""
    e = eps.view(-1, *[1] * (x.dim() - 1))
    if l2:
        n = torch.randn(x.shape, generator=gen, dtype=x.dtype).to(x.device)
        d = n / (n.flatten(1).norm(dim=1).view_as(e) + 1e-12) * e  # flatten: also for an empty batch
    else:
        t = (2 * torch.rand(x.shape, generator=gen, dtype=x.dtype) - 1).to(x.device)
        if not uniform_box:
            t = t / t.flatten(1).abs().amax(dim=1).view_as(e).clamp_min(1e-12)
        d = e * t
    return (x + d).clamp(0.0, 1.0)


# What an attack maximises: a registered loss name, or a callable (logits, x) → per-sample values
Objective = Union[str, Callable[[torch.Tensor, torch.Tensor], torch.Tensor]]


def _objective(loss: Objective, z: torch.Tensor, x: torch.Tensor, y: torch.Tensor, t: Optional[torch.Tensor]):
    return loss(z, x) if callable(loss) else attack_loss(loss, z, y, t)


def _loss_grad(model: nn.Module, x: torch.Tensor, y: torch.Tensor, t: Optional[torch.Tensor], loss: Objective,
               need_grad: bool):
    if not need_grad:
        with torch.no_grad():
            z = model(x)
            return z, _objective(loss, z, x, y, t), None
    xr = x.detach().requires_grad_(True)
    with torch.enable_grad():
        z = model(xr)
        lv = _objective(loss, z, xr, y, t)
        (g,) = torch.autograd.grad(lv.sum(), xr)
    return z.detach(), lv.detach(), g.contiguous(memory_format=torch.contiguous_format)


def iterate(model: nn.Module, x0: torch.Tensor, y: torch.Tensor, start: torch.Tensor, eps: torch.Tensor,
            step: torch.Tensor, n_iter: int, l2: bool, loss: Objective, loss_target: Optional[torch.Tensor] = None,
            goal_target: Optional[torch.Tensor] = None, kappa: float = 0.0, momentum: float = 0.0,
            apgd: bool = False, rho: float = 0.75, early_stop: bool = True, compact_frac: float = 0.05,
            sign_momentum: float = 0.0) -> AttackResult:
    """n_iter steps from ``start``; success is checked at every iterate (x_0 … x_N).

    apgd=True: APGD's checkpoints (C1 oscillation with ρ, C2 no improvement since a check that did
    not halve), halving η and restarting from the best point; momentum is APGD's α = 1 − momentum.
    sign_momentum=μ > 0 (ℓ∞; CCAT's training attack, Stutz et al. 2020 code): the step follows
    sign(v) with v ← μ·v + sign(∇) instead of sign(∇).
    A callable ``loss`` (logits, x) → [B] may close over per-sample data, so it runs without early
    stop (the batch is never compacted under it).
    """
    if callable(loss) and early_stop:
        raise ValueError("a callable loss runs with early_stop=False (it may close over per-sample data)")
    if sign_momentum and (l2 or apgd):
        raise ValueError("sign_momentum is a plain ℓ∞ PGD rule: not for ℓ2 or APGD (which has its own momentum)")
    B = x0.shape[0]
    model = gradient_view(model)  # the same function in fewer operations (gradient_view.py)
    out = AttackResult(x0.clone(), torch.zeros(B, dtype=torch.bool, device=x0.device), start.clone(),
                       torch.full((B,), float("-inf"), dtype=x0.dtype, device=x0.device))
    idx = torch.arange(B, device=x0.device)
    x, xo, yy, e, st = start.clone(), x0, y, eps.to(x0.dtype), step.to(x0.dtype).clone()
    lt, gt = loss_target, goal_target
    x_prev, best_x, best_g, adv = x.clone(), x.clone(), torch.zeros_like(x), x0.clone()
    vel = torch.zeros_like(x) if sign_momentum else None
    best_loss = torch.full((B,), float("-inf"), dtype=x0.dtype, device=x0.device)
    ok = torch.zeros(B, dtype=torch.bool, device=x0.device)
    if apgd:
        hist = torch.zeros(n_iter, B, dtype=x0.dtype, device=x0.device)
        reduced = torch.ones(B, dtype=torch.bool, device=x0.device)  # C2 is false at the first check
        best_last = best_loss
        # checkpoint (1-based iteration) → length of the period it closes (C1's window)
        marks = apgd_checkpoints(n_iter)
        period = dict(zip(marks, [b - a for a, b in zip([0] + marks, marks)]))

    def flush(rows: torch.Tensor) -> None:
        sel = idx[rows]
        out.success[sel] = ok[rows]
        out.x_adv[sel] = torch.where(ok[rows].view(-1, *[1] * (x0.dim() - 1)), adv[rows], x0[sel])
        out.x_best[sel] = best_x[rows]
        out.best_loss[sel] = best_loss[rows]

    for t in range(n_iter + 1):
        last = t == n_iter
        z, lv, g = _loss_grad(model, x, yy, lt, loss, need_grad=not last)
        out.grad_evals += x.shape[0]
        s = reached(z, yy, gt, kappa)
        ok |= s
        if last:  # bookkeeping of the final iterate, no step
            imp = lv > best_loss
            best_loss = torch.where(imp, lv, best_loss)
            best_x[imp] = x[imp]
            adv[s] = x[s]
            break
        restore = torch.zeros_like(ok)
        if apgd:
            new_best = torch.maximum(best_loss, lv)
            if t == 0:
                best_last = new_best.clone()
            else:
                i = t - 1  # AutoAttack's iteration index: x_t is its x_{i+1}
                hist[i] = lv
                if t in period:
                    k = period[t]
                    ups = sum((hist[(i - c) % n_iter] > hist[(i - c - 1) % n_iter]).to(x0.dtype) for c in range(k))
                    osc = ups <= k * rho  # C1 (the window reaches the zero row at the first check: §3 quirk)
                    no_impr = ~reduced & (best_last >= new_best)  # C2
                    restore = osc | no_impr
                    reduced, best_last = restore.clone(), new_best.clone()
                    st = torch.where(restore, st / 2, st)
        if vel is not None:
            vel = sign_momentum * vel + g.sign()
            g = vel  # pgd_step steps along sign(g) = sign(v)
        alpha = 1.0 if t == 0 else 1.0 - momentum
        x = pgd_step(x, x_prev, g, xo, e, st, lv, s, restore, best_loss, best_x, best_g, adv, alpha, l2)
        n_ok = int(ok.sum())
        if early_stop and n_ok and (n_ok >= compact_frac * ok.numel() or n_ok == ok.numel()):
            flush(ok)
            keep = ~ok
            x, x_prev, best_x, best_g, adv = x[keep], x_prev[keep], best_x[keep], best_g[keep], adv[keep]
            xo, yy, e, st, best_loss, idx = xo[keep], yy[keep], e[keep], st[keep], best_loss[keep], idx[keep]
            lt = lt[keep] if lt is not None else None
            vel = vel[keep] if vel is not None else None
            gt = gt[keep] if gt is not None else None
            if apgd:
                hist, reduced, best_last = hist[:, keep], reduced[keep], best_last[keep]
            ok = ok[keep]
            if not keep.any():
                return out
    flush(torch.ones_like(ok))
    return out
