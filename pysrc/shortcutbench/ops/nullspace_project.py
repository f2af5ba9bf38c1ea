"""nullspace_project: batched projections that keep a model's confidences to first order, the
inner step of NSPGD (seed 004 §4, §5.1; research/invariance_lt.md §2).

Two projections, each a per-sample Euclidean projection of ``v`` [B, n] given rows ``J`` [B, k, n]:

* ``halfspace=True`` (k = 1, what the authors' ``null_space_attack.py`` does):
  u = v − min(⟨g,v⟩, 0)/⟨g,g⟩ · g, the projection onto {u : ⟨g,u⟩ ≥ 0}. Steps that would lower the
  confidence lose their downhill component; steps that raise it are kept.
* ``halfspace=False``: u = v − Jᵀ(JJᵀ)⁺Jv, the projection onto null(J) (one row g or the Jacobian of
  all class confidences). (JJᵀ)⁺ drops eigenvalues ≤ rcond²·λ_max, i.e. singular values of J
  ≤ rcond·σ_max, the ``scipy.linalg.null_space`` rule, so rank-deficient J and zero gradients are
  handled (J = 0 → u = v) and nothing divides by zero.

The update printed in the seed's Algorithm 1, u = x_diff − c·x_diff = (1 − c)·x_diff, only rescales
x_diff and never removes the gradient component; it is a typo and deliberately not offered.
"""
from __future__ import annotations

import torch

from .. import _ext

DEFAULT_RCOND = 1e-6
MAX_KERNEL_ROWS = 32  # the kernel solves k × k by pivoted Cholesky or, near the rank cut, Jacobi (O(k³) per sweep): beyond this, LAPACK (reference) wins


def _check(v: torch.Tensor, J: torch.Tensor, halfspace: bool) -> None:
    if v.dim() != 2 or J.dim() != 3 or J.shape[0] != v.shape[0] or J.shape[2] != v.shape[1]:
        raise ValueError(f"need v [B, n] and J [B, k, n], got {tuple(v.shape)} and {tuple(J.shape)}")
    if halfspace and J.shape[1] != 1:
        raise ValueError(f"halfspace projection takes one row (J [B, 1, n]), got {tuple(J.shape)}")


def nullspace_project_reference(v: torch.Tensor, J: torch.Tensor, halfspace: bool = False,
                                rcond: float = DEFAULT_RCOND) -> torch.Tensor:
    """Pure-torch definition (float64 internally, like the kernel)."""
    _check(v, J, halfspace)
    vd, Jd = v.double(), J.double()
    b = torch.einsum("bkn,bn->bk", Jd, vd)
    if halfspace:
        gg = (Jd[:, 0] * Jd[:, 0]).sum(1)
        c = torch.where((gg > 0) & (b[:, 0] < 0), b[:, 0] / torch.where(gg > 0, gg, torch.ones_like(gg)),
                        torch.zeros_like(gg))[:, None]
    else:
        G = Jd @ Jd.transpose(1, 2)
        lam, Q = torch.linalg.eigh(G)
        lmax = lam.max(dim=1, keepdim=True).values.clamp_min(0)
        keep = (lam > rcond * rcond * lmax) & (lam > 0)
        inv = torch.where(keep, 1.0 / torch.where(keep, lam, torch.ones_like(lam)), torch.zeros_like(lam))
        c = torch.einsum("bie,be,bje,bj->bi", Q, inv, Q, b)
    return (vd - torch.einsum("bk,bkn->bn", c, Jd)).to(v.dtype)


@_ext.register_fake("nullspace_project")
def _nullspace_project_fake(v, J, halfspace, rcond):
    _check(v, J, halfspace)
    return torch.empty(v.shape, dtype=v.dtype, device=v.device)


def nullspace_project(v: torch.Tensor, J: torch.Tensor, halfspace: bool = False,
                      rcond: float = DEFAULT_RCOND) -> torch.Tensor:
    """Project each v[b] onto the half-space or null space given by J[b] (see module doc)."""
    if J.dim() == 2:  # one row per sample
        J = J.unsqueeze(1)
    if J.shape[1] <= MAX_KERNEL_ROWS and _ext.use_compiled("nullspace_project", v.device):
        return torch.ops.shortcutbench.nullspace_project(v, J, halfspace, rcond)
    return nullspace_project_reference(v, J, halfspace, rcond)
