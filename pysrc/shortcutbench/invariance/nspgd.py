"""Null Space Projected Gradient Descent (seed 004 §5.1, Algorithm 1), batched over
(source, target) pairs, as the authors' ``null_space_attack.py`` runs it (research
invariance_lt.md §2):

* p0 = confidence of the source's class j at the *source* image, measured once;
* each iteration proposes x' = x + η·u with u the projection of v = x_t − x (not normalised: every
  step covers the fraction η of the remaining gap) given the gradient(s) of the confidence;
* a proposal is accepted per sample only if p0 − p_j(x') < δ (a cumulative budget); a rejected sample
  is frozen for good (the update is deterministic, so it would be rejected again), the loop stops
  when every sample is frozen; x is not clipped to [0, 1] (as in the authors' code; ``clip`` opts in).

Projections (``ops.nullspace_project``): ``halfspace`` (a, the code), ``row`` (b, null space of ∇p_j),
``jacobian`` (c, null space of the Jacobian of all class confidences). The printed (1 − c)·v update is
erroneous (see the op) and not offered. Zero gradients (saturated softmax) give u = v, never NaN.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import List, Optional

import torch
import torch.nn as nn

from ..errors import UsageError
from ..ops.nullspace_project import nullspace_project

PROJECTIONS = ("halfspace", "row", "jacobian")


@dataclass(frozen=True)
class NSPGDConfig:
    step: float = 0.05  # η: fraction of the remaining gap per step (authors' --step_size)
    iters: int = 100  # authors' --iters
    delta: float = 0.05  # confidence budget, against the source's initial confidence (seed §6, code)
    projection: str = "halfspace"
    rcond: float = 1e-6
    clip: bool = False
    path_every: int = 0  # keep x every this many iterations (0: no path) for §6.1 plots

    def __post_init__(self):
        if self.projection not in PROJECTIONS:
            raise UsageError(f"unknown NSPGD projection {self.projection!r}; choose one of {list(PROJECTIONS)}")
        if not (0 < self.step <= 1) or self.iters < 0 or self.delta <= 0:
            raise UsageError(f"NSPGD needs 0 < step ≤ 1, iters ≥ 0, delta > 0; got {self.step}, {self.iters}, "
                             f"{self.delta}")


@dataclass
class NSPGDResult:
    x: torch.Tensor  # final images [B, ...]
    label: torch.Tensor  # class j whose confidence is kept
    p0: torch.Tensor  # reference confidence (at the source)
    p_final: torch.Tensor  # p_j at the final image
    min_accepted_p: torch.Tensor  # smallest p_j over every accepted iterate (incl. the start)
    steps: torch.Tensor  # accepted steps per sample
    iters_run: int
    path: List[torch.Tensor] = field(default_factory=list)  # snapshots of x (every path_every iterations)


def confidences(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    return torch.softmax(model(x), dim=1)


def _rows(p: torch.Tensor, x: torch.Tensor, label: torch.Tensor, projection: str) -> torch.Tensor:
    """Gradient rows J [m, k, n]: ∇p_j (k = 1) or the Jacobian of all class confidences (k = K).
    Samples are independent in eval mode, so the gradient of a batch sum is per-sample."""
    ar = torch.arange(p.shape[0])
    if projection != "jacobian":
        g, = torch.autograd.grad(p[ar, label].sum(), x)
        return g.flatten(1).unsqueeze(1)
    K = p.shape[1]
    rows = [torch.autograd.grad(p[:, k].sum(), x, retain_graph=k < K - 1)[0].flatten(1) for k in range(K)]
    return torch.stack(rows, dim=1)


def nspgd(model: nn.Module, x_source: torch.Tensor, x_target: torch.Tensor, cfg: NSPGDConfig = NSPGDConfig(),
          label: Optional[torch.Tensor] = None, x_init: Optional[torch.Tensor] = None) -> NSPGDResult:
    """Run NSPGD on pairs (x_source[b] → x_target[b]); ``label`` defaults to argmax f(x_source);
    ``x_init`` (e.g. the logit-space attack's output) replaces the starting image, the budget stays
    measured at the source."""
    if x_source.shape != x_target.shape:
        raise UsageError(f"source and target batches differ in shape: {tuple(x_source.shape)} vs "
                         f"{tuple(x_target.shape)}")
    model.eval()
    with torch.no_grad():
        p_src = confidences(model, x_source)
        if label is None:
            label = p_src.argmax(1)
        p0 = p_src.gather(1, label[:, None])[:, 0]
    x = (x_source if x_init is None else x_init).detach().clone()
    B = x.shape[0]
    steps = torch.zeros(B, dtype=torch.long)
    active = torch.ones(B, dtype=torch.bool)
    halfspace = cfg.projection == "halfspace"
    path = [x.clone()] if cfg.path_every else []

    idx = torch.arange(B)
    xa = x.clone().requires_grad_(True)
    with torch.enable_grad():
        pa = confidences(model, xa)
    p_cur = pa.detach().gather(1, label[:, None])[:, 0]
    min_p = p_cur.clone()
    if x_init is not None:  # an initialiser that already spent the budget leaves nothing to do
        ok0 = (p0 - p_cur) < cfg.delta
        active &= ok0
    it_run = 0
    for it in range(cfg.iters):
        keep = active[idx]
        if not keep.any():
            break
        if not keep.all():  # drop frozen rows before differentiating
            idx = idx[keep]
            xa = x[idx].clone().requires_grad_(True)
            with torch.enable_grad():
                pa = confidences(model, xa)
        it_run = it + 1
        with torch.enable_grad():
            J = _rows(pa, xa, label[idx], cfg.projection)
        xd = xa.detach()
        v = (x_target[idx] - xd).flatten(1)
        u = nullspace_project(v.contiguous(), J.contiguous(), halfspace, cfg.rcond).view_as(xd)
        x_new = xd + cfg.step * u
        if cfg.clip:
            x_new = x_new.clamp(0, 1)
        x_new.requires_grad_(True)
        with torch.enable_grad():
            p_new = confidences(model, x_new)
        pj = p_new.detach().gather(1, label[idx][:, None])[:, 0]
        ok = (p0[idx] - pj) < cfg.delta
        acc = idx[ok]
        x[acc] = x_new.detach()[ok]
        steps[acc] += 1
        min_p[acc] = torch.minimum(min_p[acc], pj[ok])
        active[idx[~ok]] = False
        xa, pa = x_new, p_new  # rows rejected here are dropped at the top of the next iteration
        if cfg.path_every and (it + 1) % cfg.path_every == 0:
            path.append(x.clone())
    with torch.no_grad():
        p_final = confidences(model, x).gather(1, label[:, None])[:, 0]
    return NSPGDResult(x, label, p0, p_final, min_p, steps, it_run, path)
