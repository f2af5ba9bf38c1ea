"""enet_cd_path: the multinomial elastic-net path by the sweeps of :mod:`.enet_cd` (glm/cd.py).

For each λ_t of ``lams`` (the multinomial λ's, positive, strictly decreasing; in the binomial
form, ``first_class`` = 1 with k = 2, the sweeps and certificate run at λ' = λ(1+α)/2,
α' = 2α/(1+α), research note §3):

1. Predictor (``predict``; :func:`shortcutbench.glm.path._predict`): from t ≥ 2, when
   λ_{t−2} > λ_{t−1} > λ_t and r = log(λ_{t−1}/λ_t)/log(λ_{t−2}/λ_{t−1}) ∈ (0, 2], the start is
   W + r(W − W_{t−2}), b + r(b − b_{t−2}), with weights that were 0 or would change sign set to 0;
   η is recomputed there.
2. Sequential strong rule (``screening``, t ≥ 1; Tibshirani et al. 2012): feature j is active if
   max_c |G_jc| > α(2λ_t − λ_{t−1}) for the previous λ's certificate gradient G, or W_:j ≠ 0;
   only columns with ``varies`` can be active.
3. Repeat: :func:`.enet_cd.enet_cd` on the active columns with at most ``max_sweeps`` − (sweeps
   so far) sweeps and tolerance tol (first ``first_tol``·``gap_tol``·D_{t−1}, D the previous dual
   value, 1 at t = 0), with the certificate; inactive columns with ``varies`` whose
   max_c |G_jc| > λα(1 + 1e-6) become active and, sweeps permitting, the loop repeats; then stop
   if gap ≤ ``gap_tol``·max(D, 1e-300) (converged), or the sweeps are spent, or the gap is not
   finite; else tol /= 10.

Returns (weights [L, k, d], biases [L, k], stats [L, 9]: sweeps, certificate checks, converged,
primal, dual, gap, data loss, training accuracy, seconds spent on the λ); ``weight`` and ``bias``
end at the last λ's solution. Float64; ``Xt`` is Xᵀ [d, n].
"""
from __future__ import annotations

import math
import time

import torch

from .. import _ext
from .enet_cd import enet_cd_reference


def enet_cd_path_reference(Xt: torch.Tensor, target: torch.Tensor, sample_weight: torch.Tensor, varies: torch.Tensor,
                           lams: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, alpha: float, gap_tol: float,
                           max_sweeps: int, first_tol: float, first_class: int, predict: bool, screening: bool):
    d, n = Xt.shape
    k = weight.shape[0]
    binomial = first_class == 1
    alpha_k = 2 * alpha / (1 + alpha) if binomial else alpha
    L = lams.numel()
    Wpath = torch.zeros(L, k, d, dtype=torch.float64)
    bpath = torch.zeros(L, k, dtype=torch.float64)
    stats = torch.zeros(L, 9, dtype=torch.float64)
    eta = weight @ Xt + bias[:, None]
    grad = torch.zeros(d, k, dtype=torch.float64)
    prev_lam, lam0, prev_dual, before = math.nan, math.nan, math.nan, None
    for t, lam in enumerate(lams.tolist()):
        t_start = time.perf_counter()
        lam_k = lam * (1 + alpha) / 2 if binomial else lam
        pred = None
        if predict and before is not None and lam0 > prev_lam > lam:
            r = math.log(prev_lam / lam) / math.log(lam0 / prev_lam)
            if 0 < r <= 2:
                Wp = weight + r * (weight - before[0])
                Wp = torch.where((weight != 0) & (torch.sign(Wp) == torch.sign(weight)), Wp, torch.zeros_like(Wp))
                pred = (Wp, bias + r * (bias - before[1]))
        if t > 0:
            before, lam0 = (weight.clone(), bias.clone()), prev_lam
        if pred is not None:
            weight.copy_(pred[0])
            bias.copy_(pred[1])
            eta = weight @ Xt + bias[:, None]
        if screening and t > 0:
            active = (grad.abs().amax(1) > alpha * (2 * lam - prev_lam)) | (weight != 0).any(0)
        else:
            active = torch.ones(d, dtype=torch.bool)
        active &= varies
        tol = first_tol * gap_tol * (prev_dual if t > 0 else 1.0)
        sweeps, checks, converged = 0, 0, False
        while True:
            out = enet_cd_reference(Xt, target, sample_weight, active.nonzero()[:, 0], weight, bias, eta, grad, lam_k,
                                    alpha_k, max_sweeps - sweeps, tol, first_class).tolist()
            sweeps += int(out[0])
            checks += 1
            viol = (~active) & varies & (grad.abs().amax(1) > lam * alpha * (1 + 1e-6))
            if bool(viol.any()):
                active |= viol
                if sweeps < max_sweeps:
                    continue
            primal, dual, gap = out[3:6]
            if gap <= gap_tol * max(dual, 1e-300):
                converged = True
                break
            if sweeps >= max_sweeps or not math.isfinite(gap):
                break
            tol /= 10
        Wpath[t], bpath[t] = weight, bias
        stats[t] = torch.tensor([sweeps, checks, float(converged)] + out[3:8] + [time.perf_counter() - t_start],
                                dtype=torch.float64)
        prev_lam, prev_dual = lam, out[4]
    return Wpath, bpath, stats


@_ext.register_fake("enet_cd_path")
def _enet_cd_path_fake(Xt, target, sample_weight, varies, lams, weight, bias, alpha, gap_tol, max_sweeps, first_tol,
                       first_class, predict, screening):
    L, (k, d) = lams.numel(), weight.shape
    new = lambda *shape: torch.empty(shape, dtype=torch.float64, device=Xt.device)  # noqa: E731
    return new(L, k, d), new(L, k), new(L, 9)


def enet_cd_path(Xt: torch.Tensor, target: torch.Tensor, sample_weight: torch.Tensor, varies: torch.Tensor,
                 lams: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, alpha: float, gap_tol: float,
                 max_sweeps: int, first_tol: float, first_class: int = 0, predict: bool = True, screening: bool = True):
    """The path; the compiled kernel when built, else :func:`enet_cd_path_reference`."""
    if _ext.use_compiled("enet_cd_path", Xt.device):
        return torch.ops.shortcutbench.enet_cd_path(Xt, target, sample_weight, varies, lams, weight, bias, float(alpha),
                                                    float(gap_tol), int(max_sweeps), float(first_tol),
                                                    int(first_class), bool(predict), bool(screening))
    return enet_cd_path_reference(Xt, target, sample_weight, varies, lams, weight, bias, alpha, gap_tol, max_sweeps,
                                  first_tol, first_class, predict, screening)
