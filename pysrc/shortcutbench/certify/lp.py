"""Exact ℓ∞ certificates for the 2-filter conv + global max-pool model by linear programs.

Each logit is a max of linear functions of the input (one per pooling window q), so the model
is wrong at x+δ iff for SOME window q' of the other class o,
    w_o·P_q'(x+δ) + b_o ≥ w_y·P_q(x+δ) + b_y   for EVERY window q of the true class y.
For a fixed q' that is a polyhedron in δ, so (seed 001 research notes §5–6):

- worst-case margin at ε:  min over q' of  min_δ [t − w_o·P_q'(x+δ) − b_o]  s.t.  t ≥ w_y·P_q(x+δ) + b_y ∀q,
  δ in the box (optionally ∩ {0 ≤ x+δ ≤ 1}) — an LP per q'; certified iff it is > 0;
- exact robust radius: min over q' of  min ε  s.t.  the q' inequalities above, |δ| ≤ ε — also an LP.

Both are exact (sound and complete). Solved with scipy's HiGHS.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional

import numpy as np
import torch
from scipy.optimize import linprog


def window_matrix(filt: np.ndarray, n: int) -> np.ndarray:
    """[Q, n*n] rows r_q with r_q·x = filt·(window q of x); Q = (n−k+1)²."""
    k = filt.shape[-1]
    s = n - k + 1
    rows = np.zeros((s * s, n * n))
    for qi in range(s):
        for qj in range(s):
            img = np.zeros((n, n))
            img[qi:qi + k, qj:qj + k] = filt
            rows[qi * s + qj] = img.ravel()
    return rows


@dataclass(frozen=True)
class LinearView:
    """The model as two stacks of window rows plus biases (float64)."""

    rows: List[np.ndarray]  # per class [Q, n*n]
    bias: np.ndarray  # [2]

    @classmethod
    def of(cls, filters: torch.Tensor, bias: Optional[torch.Tensor], n: int) -> "LinearView":
        f = filters.detach().double().cpu().numpy()
        b = np.zeros(2) if bias is None else bias.detach().double().cpu().numpy()
        return cls([window_matrix(f[c], n) for c in range(2)], b)

    def logits(self, x: np.ndarray) -> np.ndarray:
        return np.array([(r @ x).max() for r in self.rows]) + self.bias


def _bounds(x: np.ndarray, eps: float, clip: bool):
    lo, hi = -eps * np.ones_like(x), eps * np.ones_like(x)
    if clip:
        lo, hi = np.maximum(lo, -x), np.minimum(hi, 1.0 - x)
    return lo, hi


def worst_margin(view: LinearView, x: np.ndarray, y: int, eps: float, clip: bool = False):
    """min over the box of l_y − l_o and the δ attaining it (exact). Returns (margin, δ)."""
    o = 1 - y
    ry, ro = view.rows[y], view.rows[o]
    d = x.size
    lo, hi = _bounds(x, eps, clip)
    if np.any(lo > hi + 1e-12):  # x outside [0, 1] by more than ε: the clipped box is empty
        return np.inf, None
    best, arg = np.inf, None
    # variables [δ (d), t]; minimise t − ro[q']·δ; constraints ry[q]·δ − t ≤ −ry[q]·x − b_y
    a_ub = np.hstack([ry, -np.ones((ry.shape[0], 1))])
    b_ub = -(ry @ x) - view.bias[y]
    bounds = list(zip(lo, hi)) + [(None, None)]
    for qp in range(ro.shape[0]):
        c = np.concatenate([-ro[qp], [1.0]])
        res = linprog(c, A_ub=a_ub, b_ub=b_ub, bounds=bounds, method="highs")
        if res.status != 0:
            raise RuntimeError(f"LP failed ({res.message})")
        val = res.fun - ro[qp] @ x - view.bias[o]
        if val < best:
            best, arg = val, res.x[:d]
    return float(best), arg


def exact_radius(view: LinearView, x: np.ndarray, y: int, clip: bool = False, eps_max: float = 10.0):
    """Smallest ε (≤ eps_max) whose box holds a point with l_o ≥ l_y; returns (radius, δ).
    0 when x itself is misclassified; eps_max (with δ None) when no point within eps_max flips."""
    o = 1 - y
    ry, ro = view.rows[y], view.rows[o]
    d = x.size
    # variables [δ (d), ε]; minimise ε; ry[q]·δ − ro[q']·δ ≤ ro[q']·x + b_o − ry[q]·x − b_y; |δ| ≤ ε
    box = np.vstack([np.hstack([np.eye(d), -np.ones((d, 1))]), np.hstack([-np.eye(d), -np.ones((d, 1))])])
    bounds = [((-x[i], 1.0 - x[i]) if clip else (None, None)) for i in range(d)] + [(0.0, eps_max)]
    # Prune: for window q' the radius is at least that of each single constraint q (closed form
    # for the plain box, and the clipped box is smaller), so solve the q' in ascending order of
    # that bound and stop once it reaches the best radius found.
    diff = ry[None, :, :] - ro[:, None, :]  # [Q', Q, d]
    gap = (ry @ x + view.bias[y])[None, :] - (ro @ x + view.bias[o])[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        single = np.where(gap <= 0, 0.0, gap / np.abs(diff).sum(-1))
    lower = np.nan_to_num(single, nan=np.inf, posinf=np.inf).max(1)
    best, arg = eps_max, None
    for qp in np.argsort(lower, kind="stable"):
        if lower[qp] >= best:
            break
        a = np.hstack([ry - ro[qp], np.zeros((ry.shape[0], 1))])
        b = ro[qp] @ x + view.bias[o] - ry @ x - view.bias[y]
        res = linprog(np.concatenate([np.zeros(d), [1.0]]), A_ub=np.vstack([a, box]),
                      b_ub=np.concatenate([b, np.zeros(2 * d)]), bounds=bounds, method="highs")
        if res.status == 2:  # infeasible: no flip within eps_max from this window
            continue
        if res.status != 0:
            raise RuntimeError(f"LP failed ({res.message})")
        if res.fun < best:
            best, arg = float(res.fun), res.x[:d]
    return best, arg
