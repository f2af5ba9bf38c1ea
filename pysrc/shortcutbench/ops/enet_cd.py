"""enet_cd: sweeps of block coordinate descent for the multinomial elastic net.

Objective (as :mod:`shortcutbench.glm.objective`): F(W, b) = (1/n) Σ_i s_i [lse(η_i) − η_{i,y_i}]
+ Σ_c Σ_{j ∈ cols} (l1 |W_cj| + (l2/2) W_cj²), η = W X + b, l1 = λα, l2 = λ(1−α).

One sweep visits the classes c = 0..k−1 in turn (block coordinate gradient descent, Tseng & Yun
2009, Math. Program. 117); for class c, at the current η:

1. p_i = softmax(η_i)_c, w_i = s_i·max(p_i(1−p_i), 1e-5), r_i = s_i([y_i = c] − p_i): the
   per-class Newton model of glmnet's multinomial "partial Newton" (Friedman, Hastie &
   Tibshirani 2010, J. Stat. Softw. 33(1), §3), q(δ, δ_b) = −(1/n) Σ r_i e_i + (1/2n) Σ w_i e_i²
   + Σ_j pen(W_cj + δ_j) with e_i = x_iᵀδ + δ_b.
2. Coordinate descent on q (ibid. eq. 5): for j in ``cols`` (in order) with v_j = (1/n) Σ w_i
   x_ij² > 0, g_j = −(1/n) Σ x_ij u_i (u = r − w ⊙ e), t = W_cj + δ_j,
   t' = S(v_j t − g_j, l1)/(v_j + l2); then the bias, δ_b += Σ u_i / Σ w_i. A pass's change is
   max v_j (t' − t)² (the bias: (Σw/n)·Δ²). Passes alternate: a full pass; while a pass changes
   more than ``tol``, passes over the coordinates with t ≠ 0 only; when such a pass settles, a
   full pass again; stop when a full pass changes less than ``tol`` (at most 1000 passes).
3. Armijo along (δ, δ_b) with σ = 0.01 (Tseng & Yun, γ = 0): the step 2^{−h}, h = 0..40, is
   the first with F(new) − F ≤ σ·step·Δ, Δ = −(1/n) Σ r_i e_i + pen(W_c + δ) − pen(W_c); the data
   loss change is (1/n) Σ s_i [log1p(p_i·expm1(step·e_i)) − step·e_i·[y_i = c]]. No step if
   Δ ≥ −1e-13·(|−(1/n) Σ r_i e_i| + |pen(W_c + δ) − pen(W_c)|) (rounding) or no step passes.
4. η_c += step·e, W_c += step·δ, b_c += step·δ_b; the sweep's change is the largest
   step²·max(v_j δ_j², (Σw/n) δ_b²) over its classes.

Sweeps stop after ``max_sweeps`` or a sweep whose change is < ``tol``. ``weight`` [k, d], ``bias``
[k] and ``eta`` [k, n] are updated in place. ``first_class`` = 1 (only with k = 2) pins class 0
(W_0 = 0, b_0 = 0, η_0 = 0, unpenalised): the binomial form of the two-class problem. When
``grad`` [d, k] is non-empty it receives G of the duality-gap certificate
(:func:`shortcutbench.glm.objective.duality_gap`, computed after the sweeps; in the binomial form
that of the equivalent symmetric two-class problem, whose optimum is W = (−v/2, v/2) with λ_m =
λ(2 − α), α_m = α/(2 − α): research note §3 inverted). Returns float64 [8]: sweeps, the last
sweep's change, line-search halvings, then the certificate's primal, dual, gap, data loss and
training accuracy (argmax of η; NaN without ``grad``). Everything in float64; ``Xt`` is Xᵀ [d, n].
"""
from __future__ import annotations

import math

import torch

from .. import _ext

MIN_CURVATURE = 1e-5  # glmnet clamps p to [1e-5, 1 − 1e-5]
ARMIJO = 1e-2
MAX_HALVINGS = 40
MAX_INNER_PASSES = 1000
ROUNDOFF = 1e-13  # a model decrease below this share of its terms is rounding: no step


def _dpen(w: torch.Tensor, D: torch.Tensor, l1: float, l2: float) -> float:
    """Σ pen(w + D) − pen(w), pen = l1|·| + (l2/2)(·)², with rounding that scales with D
    (|a| − |b| = (a − b)(a + b)/(|a| + |b|))."""
    den = (w + D).abs() + w.abs()
    l1_part = torch.where(den > 0, D * (2 * w + D) / torch.where(den > 0, den, torch.ones_like(den)), torch.zeros_like(D))
    return float((l1 * l1_part + 0.5 * l2 * D * (2 * w + D)).sum())


def binomial_to_symmetric(weight: torch.Tensor, bias: torch.Tensor, lam: float, alpha: float):
    """The two-class problem's (W, b, λ, α) for the binomial form's (weight, bias, λ, α): with
    v = W_1 − W_0, W = (−v/2, v/2); λ' = λ(1+α)/2, α' = 2α/(1+α) (research note §3), inverted."""
    v, c = weight[1] - weight[0], bias[1] - bias[0]
    return torch.stack([-v / 2, v / 2]), torch.stack([-c / 2, c / 2]), lam * (2 - alpha), alpha / (2 - alpha)


def enet_cd_reference(Xt: torch.Tensor, target: torch.Tensor, sample_weight: torch.Tensor, cols: torch.Tensor,
                      weight: torch.Tensor, bias: torch.Tensor, eta: torch.Tensor, grad: torch.Tensor, lam: float,
                      alpha: float, max_sweeps: int, tol: float, first_class: int = 0) -> torch.Tensor:
    d, n = Xt.shape
    k = weight.shape[0]
    s = sample_weight if sample_weight.numel() else torch.ones(n, dtype=torch.float64)
    l1, l2 = lam * alpha, lam * (1 - alpha)
    cols = cols.tolist()
    sweeps, halvings, last = 0, 0, 0.0
    while sweeps < max_sweeps:
        change = 0.0
        for c in range(first_class, k):
            yc = (target == c).double()
            p = torch.softmax(eta, dim=0)[c]
            w = s * torch.clamp(p * (1 - p), min=MIN_CURVATURE)
            r = s * (yc - p)
            u, e = r.clone(), torch.zeros(n, dtype=torch.float64)
            v = {j: float((w * Xt[j] ** 2).sum()) / n for j in cols}
            delta = {j: 0.0 for j in cols}
            db, wsum, full = 0.0, float(w.sum()), True
            for _ in range(MAX_INNER_PASSES):
                dmax = 0.0
                for j in cols:
                    t = float(weight[c, j]) + delta[j]
                    if (not full and t == 0) or v[j] <= 0:
                        continue
                    g = -float(Xt[j] @ u) / n
                    z = v[j] * t - g
                    tn = (max(abs(z) - l1, 0.0) * (1.0 if z > 0 else -1.0)) / (v[j] + l2)
                    if tn == t:
                        continue
                    D = tn - t
                    delta[j] += D
                    u -= w * Xt[j] * D
                    e += Xt[j] * D
                    dmax = max(dmax, v[j] * D * D)
                D = float(u.sum()) / wsum
                db += D
                u -= w * D
                e += D
                dmax = max(dmax, wsum / n * D * D)
                if dmax < tol:
                    if full:
                        break
                    full = True
                else:
                    full = False
            dvec = torch.tensor([delta[j] for j in cols], dtype=torch.float64)
            w0 = weight[c, cols]
            lin, dpen = -float((r * e).sum()) / n, _dpen(w0, dvec, l1, l2)
            model = lin + dpen
            vmax = max([wsum / n * db * db] + [v[j] * delta[j] ** 2 for j in cols])
            if not model < -ROUNDOFF * (abs(lin) + abs(dpen)):
                continue
            step = 1.0
            for h in range(MAX_HALVINGS + 1):
                te = step * e
                dl = float((s * (torch.log1p(p * torch.expm1(te)) - te * yc)).sum()) / n
                if dl + _dpen(w0, step * dvec, l1, l2) <= ARMIJO * step * model:
                    break
                if h == MAX_HALVINGS:
                    step = 0.0
                else:
                    step *= 0.5
                    halvings += 1
            if step == 0:
                continue
            eta[c] += step * e
            weight[c, cols] += step * dvec
            bias[c] += step * db
            change = max(change, step * step * vmax)
        sweeps += 1
        last = change
        if change < tol:
            break
    cert = [math.nan] * 5
    if grad.numel():
        from ._objective import duality_gap  # the certificate's definition

        W, b, lam_c, alpha_c = ((weight, bias, lam, alpha) if first_class == 0
                                else binomial_to_symmetric(weight, bias, lam, alpha))
        cr = duality_gap(Xt.T, target, W, b, lam_c, alpha_c, "multinomial",
                         sample_weight=sample_weight if sample_weight.numel() else None)
        grad.copy_(cr.grad)
        acc = float((eta.argmax(0) == target).double().mean())
        cert = [cr.primal, cr.dual, cr.gap, cr.data_loss, acc]
    return torch.tensor([float(sweeps), last, float(halvings)] + cert, dtype=torch.float64)


@_ext.register_fake("enet_cd")
def _enet_cd_fake(Xt, target, sample_weight, cols, weight, bias, eta, grad, lam, alpha, max_sweeps, tol, first_class):
    return torch.empty(8, dtype=torch.float64, device=Xt.device)


def enet_cd(Xt: torch.Tensor, target: torch.Tensor, sample_weight: torch.Tensor, cols: torch.Tensor,
            weight: torch.Tensor, bias: torch.Tensor, eta: torch.Tensor, grad: torch.Tensor, lam: float, alpha: float,
            max_sweeps: int, tol: float, first_class: int = 0) -> torch.Tensor:
    """Sweeps in place; the compiled kernel when built, else :func:`enet_cd_reference`."""
    if _ext.use_compiled("enet_cd", Xt.device):
        return torch.ops.shortcutbench.enet_cd(Xt, target, sample_weight, cols, weight, bias, eta, grad, float(lam),
                                               float(alpha), int(max_sweeps), float(tol), int(first_class))
    return enet_cd_reference(Xt, target, sample_weight, cols, weight, bias, eta, grad, lam, alpha, max_sweeps, tol,
                             first_class)
