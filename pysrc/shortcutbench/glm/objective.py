"""The elastic-net GLM objective, λ_max and the duality-gap certificate.

Objective (glm-saga 0.1.2 and glmnet's scaling, seed 002 eq. 1–2; research note §1.2):

    P_λ(W, b) = (1/n) Σ_i s_i ℓ(W x_i + b, y_i) + λα R₁(W) + (λ(1−α)/2) ‖W‖_F²

ℓ = cross entropy (multinomial) or ½‖z − y‖² (gaussian; glm-saga *reports* this divided by k,
we do not), R₁ = ‖W‖₁ or Σ_j ‖W[:, j]‖₂ (group), the bias is unpenalised, n is the number of
rows (not Σ s_i, as glm-saga).

Duality gap (research note §5, Fenchel duality with the intercept eliminated): with b̂ the
optimal bias for the given W (Newton on the k-dim bias), θ_i = s_i (p_i − y_i) at (W, b̂) and
G = Xᵀθ / n,

    D = (1/n) Σ s_i H(p_i) − Σ_{jc} (|G_jc| − λα)₊² / (2λ(1−α))             (multinomial, α < 1)
    D = −(1/n) Σ s_i (r_i·y_i + ½‖r_i‖²) − (same penalty conjugate)          (gaussian, r = z − y)

and P_λ(W, b) − D ≥ P_λ(W, b) − P*_λ ≥ 0 (group: the conjugate acts on the column norms of G).
For α = 1 the conjugate is an indicator; the dual point is rescaled, θ ← t θ with
t = min(1, λ / ‖G‖_∞), which stays feasible (p ← y + t (p − y) stays in the simplex).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import torch

from ..ops.saga_enet import residuals

MIN_ALPHA = 1e-3  # glm-saga divides λ_max by max(α, 1e-3)


def penalty(W: torch.Tensor, lam: float, alpha: float, group: bool = False) -> float:
    W = W.double()
    r1 = W.norm(dim=0).sum() if group else W.abs().sum()
    return float(lam * alpha * r1 + 0.5 * lam * (1 - alpha) * (W * W).sum())


def _weighted_mean(v: torch.Tensor, sw: Optional[torch.Tensor], n: int) -> torch.Tensor:
    return (v if sw is None else v * sw).sum() / n


def data_loss(X: torch.Tensor, target: torch.Tensor, W: torch.Tensor, b: torch.Tensor, family: str,
              sample_weight: Optional[torch.Tensor] = None) -> float:
    """(1/n) Σ s_i ℓ_i in float64."""
    z = X.double() @ W.double().T + b.double()
    t = target if family == "multinomial" else target.double()
    _, loss = residuals(z, t, family)
    return float(_weighted_mean(loss, None if sample_weight is None else sample_weight.double(), X.shape[0]))


def objective(X, target, W, b, lam: float, alpha: float, family: str, group: bool = False,
              sample_weight: Optional[torch.Tensor] = None) -> float:
    return data_loss(X, target, W, b, family, sample_weight) + penalty(W, lam, alpha, group)


def one_hot(target: torch.Tensor, k: int, dtype=torch.float64) -> torch.Tensor:
    return torch.nn.functional.one_hot(target, k).to(dtype)


def lambda_max(X: torch.Tensor, target: torch.Tensor, k: int, alpha: float, family: str, group: bool = False,
               sample_weight: Optional[torch.Tensor] = None) -> float:
    """Smallest λ with W* = 0: the KKT threshold at the intercept-only optimum (seed eq. 5 for the
    multinomial case; exact with an unpenalised bias, no centring of X needed), / max(α, 1e-3)."""
    n = X.shape[0]
    Y = one_hot(target, k) if family == "multinomial" else target.double()
    s = torch.ones(n, dtype=torch.float64) if sample_weight is None else sample_weight.double()
    ybar = (s[:, None] * Y).sum(0) / s.sum()  # intercept-only optimum: p = weighted mean of y
    G = X.double().T @ (s[:, None] * (ybar - Y)) / n
    g = G.norm(dim=1) if group else G.abs()
    return float(g.max()) / max(alpha, MIN_ALPHA)


def _optimal_bias(z0: torch.Tensor, target: torch.Tensor, b: torch.Tensor, family: str, s: torch.Tensor,
                  n: int, iters: int = 50) -> torch.Tensor:
    """argmin_b (1/n) Σ s_i ℓ(z0_i + b, y_i) by Newton (k-dim, float64), warm-started at b."""
    if family == "gaussian":
        return (s[:, None] * (target - z0)).sum(0) / s.sum()
    b = b.clone()
    k = b.numel()
    ones = torch.full((k, k), 1.0 / k, dtype=b.dtype)
    for _ in range(iters):
        a, _ = residuals(z0 + b, target, family)
        g = (s[:, None] * a).sum(0) / n
        if float(g.abs().max()) < 1e-14:
            break
        p = a.clone()
        p[torch.arange(p.shape[0]), target] += 1.0
        sp = s[:, None] * p
        H = (torch.diag(sp.sum(0)) - p.T @ sp) / n
        # the softmax is invariant to b + c·1 and g ⟂ 1: adding 11ᵀ/k makes H invertible
        b = b - torch.linalg.solve(H + ones, g)
    return b


@dataclass
class Certificate:
    primal: float
    dual: float
    gap: float
    grad: torch.Tensor  # G = Xᵀθ/n at (W, b̂), [d, k]; for screening and KKT checks
    bias_hat: torch.Tensor


def duality_gap(X: torch.Tensor, target: torch.Tensor, W: torch.Tensor, b: torch.Tensor, lam: float,
                alpha: float, family: str, group: bool = False, sample_weight: Optional[torch.Tensor] = None,
                active: Optional[torch.Tensor] = None) -> Certificate:
    """Certificate of P_λ(W, b) − P*_λ (module docstring). ``active`` lists the columns where W
    may be non-zero (others are zero), which saves the forward GEMM on them. Float64 throughout."""
    n = X.shape[0]
    Wd = W.double()
    s = torch.ones(n, dtype=torch.float64) if sample_weight is None else sample_weight.double()
    tgt = target if family == "multinomial" else target.double()
    # GEMMs in X's dtype (no float64 copy of a large X), everything after them in float64
    if active is not None:
        z0 = (X[:, active] @ W[:, active].to(X.dtype).T).double()
    else:
        z0 = (X @ W.to(X.dtype).T).double()
    a, loss = residuals(z0 + b.double(), tgt, family)
    primal = float((s * loss).sum() / n) + penalty(Wd, lam, alpha, group)
    bh = _optimal_bias(z0, tgt, b.double(), family, s, n)
    a, _ = residuals(z0 + bh, tgt, family)
    theta = s[:, None] * a
    G = (X.T @ theta.to(X.dtype)).double() / n
    gn = G.norm(dim=1) if group else G.abs()
    if alpha < 1:
        conj = float((torch.clamp(gn - lam * alpha, min=0) ** 2).sum() / (2 * lam * (1 - alpha)))
        t = 1.0
    else:
        gmax = float(gn.max()) if gn.numel() else 0.0
        t = min(1.0, lam / gmax) if gmax > 0 else 1.0
        conj = 0.0
    if family == "multinomial":
        Y = one_hot(target, W.shape[0])
        p = Y + t * (torch.softmax(z0 + bh, dim=1) - Y)
        ent = -(torch.where(p > 0, p * torch.log(torch.where(p > 0, p, torch.ones_like(p))), torch.zeros_like(p))).sum(1)
        dual = float((s * ent).sum() / n) - conj
    else:
        r = t * a  # a = z − y at b̂ (before weights)
        dual = float(-(s * ((r * tgt).sum(1) + 0.5 * (r * r).sum(1))).sum() / n) - conj
    return Certificate(primal, dual, primal - dual, G.to(X.dtype), bh.to(b.dtype))
