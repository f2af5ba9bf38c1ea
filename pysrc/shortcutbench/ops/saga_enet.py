"""saga_enet: one epoch of minibatch SAGA for an elastic-net GLM (seed 002, Appendix A, Algorithm 1).

The O(n·k) table stores one residual vector a_i per example (Defazio et al. 2014; seed App. A
"Table for storing gradients"): a_i = s_i (softmax(z_i) − e_{y_i}) for the multinomial family,
a_i = s_i (z_i − y_i) for the gaussian family, with z_i = W x_i + b. Per minibatch S (rows
``order[t:t+B]``, the last batch may be short), in glm-saga 0.1.2's order of operations:

1. a_S at the current (W, b); Δ = a_S − A_S; ΔW = Δᵀ X_S / |S|; Δb = mean(Δ).
2. W⁺ = prox(W − lr (ΔW + Ḡ_W)), b⁺ = b − lr (Δb + Ḡ_b), Ḡ as before this batch.
   prox = soft-threshold at lr·λ·α then divide by 1 + lr·λ·(1−α) (seed eq. 4); with
   ``group`` the soft-threshold acts on each column W[:, j] (block soft-threshold, 0 when the
   column norm is ≤ the threshold, so an all-zero column never divides by zero).
3. A_S ← a_S; Ḡ_W += (|S|/n) ΔW; Ḡ_b += (|S|/n) Δb  (n = ``n_total``, the true table size).
4. If ``step_tol ≥ 0`` and ‖(W⁺ − W, b⁺ − b)‖₂ ≤ step_tol: stop *without* applying (W⁺, b⁺)
   (glm-saga's gradient-change rule, seed App. A "Stopping criterion"); else (W, b) ← (W⁺, b⁺).

Returns float64 [4]: Σ_{i seen} s_i·loss_i at the pre-update iterates (multinomial: cross
entropy; gaussian: ½‖z_i − y_i‖²), number of steps applied, 1 if stopped by step_tol, and the
last step norm. ``weight`` [k, d], ``bias`` [k], ``table`` [n, k], ``w_avg`` [k, d] and
``b_avg`` [k] are updated in place. ``sample_weight`` may be empty (all ones).
"""
from __future__ import annotations

from typing import Optional

import torch

from .. import _ext

FAMILIES = ("multinomial", "gaussian")


def enet_prox(v: torch.Tensor, l1: float, l2: float, group: bool = False) -> torch.Tensor:
    """argmin_w ½‖w − v‖² + l1·R₁(w) + (l2/2)‖w‖²; R₁ = ‖·‖₁ or Σ_j ‖w[:, j]‖₂ (group)."""
    if group:
        norm = v.norm(dim=0, keepdim=True)
        scale = torch.where(norm > l1, 1.0 - l1 / torch.where(norm > 0, norm, torch.ones_like(norm)),
                            torch.zeros_like(norm))
        out = v * scale
    else:
        out = torch.sign(v) * torch.clamp(v.abs() - l1, min=0.0)
    return out / (1.0 + l2) if l2 != 0 else out


def residuals(z: torch.Tensor, target: torch.Tensor, family: str):
    """(a, loss per row) before sample weights: see the module docstring."""
    if family == "multinomial":
        lse = torch.logsumexp(z, dim=1)
        a = torch.softmax(z, dim=1)
        rows = torch.arange(z.shape[0], device=z.device)
        loss = lse - z[rows, target]
        a[rows, target] -= 1.0
        return a, loss
    r = z - target
    return r, 0.5 * (r * r).sum(1)


def saga_enet_reference(X: torch.Tensor, target: torch.Tensor, sample_weight: torch.Tensor, order: torch.Tensor,
                        weight: torch.Tensor, bias: torch.Tensor, table: torch.Tensor, w_avg: torch.Tensor,
                        b_avg: torch.Tensor, lr: float, lam: float, alpha: float, batch_size: int,
                        family: str = "multinomial", group: bool = False, n_total: Optional[int] = None,
                        step_tol: float = -1.0) -> torch.Tensor:
    n = int(n_total if n_total is not None else table.shape[0])
    l1, l2 = lr * lam * alpha, lr * lam * (1.0 - alpha)
    loss_sum, steps, stopped, last = 0.0, 0, 0.0, 0.0
    for start in range(0, order.numel(), batch_size):
        idx = order[start:start + batch_size]
        m = idx.numel()
        xs = X[idx]
        a, loss = residuals(xs @ weight.T + bias, target[idx], family)
        if sample_weight.numel():
            a = a * sample_weight[idx, None]
            loss = loss * sample_weight[idx]
        loss_sum += float(loss.double().sum())
        delta = a - table[idx]
        g_w = delta.T @ xs / m
        g_b = delta.mean(0)
        w_new = enet_prox(weight - lr * (g_w + w_avg), l1, l2, group)
        b_new = bias - lr * (g_b + b_avg)
        table[idx] = a
        w_avg += g_w * (m / n)
        b_avg += g_b * (m / n)
        last = float(torch.sqrt(((w_new - weight) ** 2).sum().double() + ((b_new - bias) ** 2).sum().double()))
        if step_tol >= 0 and last <= step_tol:
            stopped = 1.0
            break
        weight.copy_(w_new)
        bias.copy_(b_new)
        steps += 1
    return torch.tensor([loss_sum, float(steps), stopped, last], dtype=torch.float64)


@_ext.register_fake("saga_enet")
def _saga_enet_fake(X, target, sample_weight, order, weight, bias, table, w_avg, b_avg, lr, lam, alpha, batch_size,
                    family, group, n_total, step_tol):
    return torch.empty(4, dtype=torch.float64, device=X.device)


def saga_enet(X: torch.Tensor, target: torch.Tensor, sample_weight: torch.Tensor, order: torch.Tensor,
              weight: torch.Tensor, bias: torch.Tensor, table: torch.Tensor, w_avg: torch.Tensor,
              b_avg: torch.Tensor, lr: float, lam: float, alpha: float, batch_size: int,
              family: str = "multinomial", group: bool = False, n_total: Optional[int] = None,
              step_tol: float = -1.0) -> torch.Tensor:
    """One SAGA epoch in place; the compiled kernel when built, else :func:`saga_enet_reference`."""
    n = int(n_total if n_total is not None else table.shape[0])
    if family not in FAMILIES:
        raise ValueError(f"family must be one of {FAMILIES}, got {family!r}")
    if _ext.use_compiled("saga_enet", X.device):
        return torch.ops.shortcutbench.saga_enet(X, target, sample_weight, order, weight, bias, table, w_avg, b_avg,
                                                 float(lr), float(lam), float(alpha), int(batch_size), family,
                                                 bool(group), n, float(step_tol))
    return saga_enet_reference(X, target, sample_weight, order, weight, bias, table, w_avg, b_avg, lr, lam, alpha,
                               batch_size, family, group, n, step_tol)
