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

import math
from dataclasses import dataclass
from typing import Optional

import torch

from .saga_enet import residuals

MIN_ALPHA = 1e-3  # glm-saga divides λ_max by max(α, 1e-3)


def penalty(W: torch.Tensor, lam: float, alpha: float, group: bool = False) -> float:
    W = W.double()
    r1 = W.norm(dim=0).sum() if group else W.abs().sum()
    return float(lam * alpha * r1 + 0.5 * lam * (1 - alpha) * (W * W).sum())


def _weighted_mean(v: torch.Tensor, sw: Optional[torch.Tensor], n: int) -> torch.Tensor:
    return (v if sw is None else v * sw).sum() / n


def logits(X: torch.Tensor, W: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """z = X Wᵀ + b in float64; the GEMM runs in X's dtype (no float64 copy of a large X)."""
    return (X @ W.to(X.dtype).T).double() + b.double()


def data_loss(X: torch.Tensor, target: torch.Tensor, W: torch.Tensor, b: torch.Tensor, family: str,
              sample_weight: Optional[torch.Tensor] = None) -> float:
    """(1/n) Σ s_i ℓ_i, accumulated in float64 (exact for float64 X)."""
    t = target if family == "multinomial" else target.double()
    _, loss = residuals(logits(X, W, b), t, family)
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


# Everything per example below works on [k, n] ("class-major") arrays: softmax and the class
# reductions then run along n, which is ~10x faster in torch than along a short last dim of
# length k (measured at n = 5k, k = 10).


def _optimal_bias(zt: torch.Tensor, target: torch.Tensor, b: torch.Tensor, family: str, s: torch.Tensor,
                  n: int, iters: int = 50):
    """argmin_b (1/n) Σ s_i ℓ(z_i + b, y_i) for class-major logits ``zt`` [k, n] (no bias) by
    Newton (k-dim, float64), warm-started at b; also the probabilities [k, n] at the returned bias
    (multinomial; None for gaussian, whose optimum is closed-form)."""
    if family == "gaussian":
        return (s * (target.T - zt)).sum(1) / s.sum(), None
    b = b.clone()
    k = b.numel()
    sy = torch.zeros(k, dtype=torch.float64).index_add_(0, target, s)  # Σ_i s_i y_i
    # a class without (weighted) examples has its optimal bias at −∞ (p = 0 there); Newton runs
    # on the present classes only, whose Hessian is then non-singular up to the 1-direction
    present = sy > 0
    if not bool(present.all()):
        b[~present] = -math.inf
        bp, pp = _optimal_bias(zt[present], target_index(target, present), b[present], family, s, n, iters)
        b[present] = bp
        p = torch.zeros(k, zt.shape[1], dtype=torch.float64)
        p[present] = pp
        return b, p
    ones = torch.full((k, k), 1.0 / k, dtype=torch.float64)
    prev = math.inf
    for _ in range(iters):
        p = torch.softmax(zt + b[:, None], dim=0)
        sp = p * s
        col = sp.sum(1)
        g = (col - sy) / n
        gmax = float(g.abs().max())
        # converged, at the rounding floor (no more decrease once below 1e-9: Newton converges
        # quadratically, so a stall there is rounding), or a diverged iterate (the caller rejects it)
        if gmax < 1e-14 or (gmax < 1e-9 and gmax >= prev) or not math.isfinite(gmax):
            break
        prev = gmax
        H = (torch.diag(col) - sp @ p.T) / n
        # the softmax is invariant to b + c·1 and g ⟂ 1: adding 11ᵀ/k makes H invertible
        step, info = torch.linalg.solve_ex(H + ones, g)
        if int(info) != 0:  # p underflowed on a present class: no certificate here (the caller rejects NaN)
            b, p = torch.full_like(b, math.nan), torch.full_like(p, math.nan)
            break
        # far from the optimum a full Newton step on the log-partition overshoots; steps of at most
        # 1 in every coordinate (a damped phase, Boyd & Vandenberghe §9.5.3) converge from anywhere
        b = b - step / max(1.0, float(step.abs().max()))
    else:
        p = torch.softmax(zt + b[:, None], dim=0)
    return b, p


def target_index(target: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
    """Labels renumbered onto the classes where ``keep`` is True (rows of other classes: −1)."""
    new = torch.full((keep.numel(),), -1, dtype=torch.long)
    new[keep] = torch.arange(int(keep.sum()))
    return new[target]


@dataclass
class Certificate:
    primal: float
    dual: float
    gap: float
    grad: torch.Tensor  # G = Xᵀθ/n at (W, b̂), [d, k]; for screening and KKT checks
    bias_hat: torch.Tensor
    data_loss: float  # (1/n) Σ s_i ℓ_i at (W, b)
    logits: torch.Tensor  # z = X Wᵀ + b at (W, b), float64 [n, k] (a view of a class-major array)


def class_major_logits(X: torch.Tensor, W: torch.Tensor) -> torch.Tensor:
    """W Xᵀ as float64 [k, n] (no bias); the GEMM runs in X's dtype."""
    return (W.to(X.dtype) @ X.T).double()


def duality_gap(X: torch.Tensor, target: torch.Tensor, W: torch.Tensor, b: torch.Tensor, lam: float,
                alpha: float, family: str, group: bool = False, sample_weight: Optional[torch.Tensor] = None,
                active: Optional[torch.Tensor] = None, zt: Optional[torch.Tensor] = None) -> Certificate:
    """Certificate of P_λ(W, b) − P*_λ (module docstring). ``active`` lists the columns where W
    may be non-zero (others are zero), which saves the forward GEMM on them; ``zt`` is
    :func:`class_major_logits` when the caller has it. GEMMs in X's dtype, the rest in float64."""
    n, k = X.shape[0], W.shape[0]
    s = torch.ones(n, dtype=torch.float64) if sample_weight is None else sample_weight.double()
    if zt is None:
        zt = class_major_logits(X, W) if active is None else class_major_logits(X[:, active], W[:, active])
    z = zt + b.double()[:, None]
    rows = torch.arange(n)
    if family == "multinomial":
        Yt = torch.zeros(k, n, dtype=torch.float64)
        Yt[target, rows] = 1.0
        loss = -torch.log_softmax(z, dim=0)[target, rows]
    else:
        Yt = target.double().T
        loss = 0.5 * ((z - Yt) ** 2).sum(0)
    loss_mean = float((s * loss).sum() / n)
    primal = loss_mean + penalty(W, lam, alpha, group)
    bh, p = _optimal_bias(zt, target, b.double(), family, s, n)
    if family == "gaussian":
        p = zt + bh[:, None]  # the residual θ/s = z − y plays the role of p − y below
    theta = (p - Yt) * s
    G = (theta.to(X.dtype) @ X).T.double() / n  # [k, n]·[n, d], the fast GEMM shape
    gn = G.norm(dim=1) if group else G.abs()
    if alpha < 1:
        conj = float((torch.clamp(gn - lam * alpha, min=0) ** 2).sum() / (2 * lam * (1 - alpha)))
        t = 1.0
    else:
        gmax = float(gn.max()) if gn.numel() else 0.0
        t = min(1.0, lam / gmax) if gmax > 0 else 1.0
        conj = 0.0
    if family == "multinomial":
        q = Yt + t * (p - Yt)
        dual = float((s * -torch.xlogy(q, q).sum(0)).sum() / n) - conj
    else:
        r = t * (p - Yt)  # z − y at b̂, scaled onto the feasible set when α = 1
        dual = float(-(s * ((r * Yt).sum(0) + 0.5 * (r * r).sum(0))).sum() / n) - conj
    return Certificate(primal, dual, primal - dual, G.to(X.dtype), bh.to(b.dtype), loss_mean, z.T)
