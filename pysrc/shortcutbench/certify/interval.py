"""Certificates for any feed-forward ``nn.Sequential`` of Conv2d / Linear / ReLU / Flatten /
AvgPool2d layers (the causal track's regressors): a global ℓ∞ Lipschitz bound and interval bound
propagation (IBP, Gowal et al. 2018) over the box ‖δ‖∞ ≤ ε ∩ [0, 1].

Global: for ℓ∞ → ℓ∞ every affine layer is bounded by its largest row ℓ1 norm (for a convolution:
the largest Σ|kernel| over output channels — at most one kernel tap meets a given input pixel per
output), 1-Lipschitz activations and average pooling by 1; the product bounds the network
(Gouk et al. 2021, "Regularisation of neural networks by enforcing Lipschitz continuity", §3).
Local: IBP propagates (centre, radius) exactly through each affine layer and monotone activation,
so its bound is never looser than the global one on the first layer and often much tighter.
"""
from __future__ import annotations

from typing import Callable, Dict, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..errors import UsageError

Box = Tuple[torch.Tensor, torch.Tensor]  # (lower, upper)


def _linf_norm(layer: nn.Module) -> float:
    if isinstance(layer, nn.Linear):
        return float(layer.weight.detach().abs().sum(1).max())
    if isinstance(layer, nn.Conv2d):
        return float(layer.weight.detach().abs().flatten(1).sum(1).max())
    if isinstance(layer, (nn.ReLU, nn.Flatten, nn.AvgPool2d, nn.Identity)):
        return 1.0
    raise UsageError(f"no ℓ∞ Lipschitz bound for layer {type(layer).__name__}")


def linf_lipschitz(net: nn.Sequential) -> float:
    """Upper bound on sup ‖f(x) − f(x')‖∞ / ‖x − x'‖∞ (product of per-layer operator norms)."""
    out = 1.0
    for layer in net:
        out *= _linf_norm(layer)
    return out


def _affine(layer: nn.Module, mid: torch.Tensor, rad: torch.Tensor) -> Box:
    if isinstance(layer, nn.Linear):
        w = layer.weight
        m, r = F.linear(mid, w, layer.bias), F.linear(rad, w.abs())
    else:
        kw = dict(stride=layer.stride, padding=layer.padding, dilation=layer.dilation, groups=layer.groups)
        m, r = F.conv2d(mid, layer.weight, layer.bias, **kw), F.conv2d(rad, layer.weight.abs(), None, **kw)
    return m - r, m + r


_IBP: Dict[type, Callable[[nn.Module, torch.Tensor, torch.Tensor], Box]] = {
    nn.Linear: lambda l, lo, hi: _affine(l, 0.5 * (lo + hi), 0.5 * (hi - lo)),
    nn.Conv2d: lambda l, lo, hi: _affine(l, 0.5 * (lo + hi), 0.5 * (hi - lo)),
    nn.ReLU: lambda l, lo, hi: (lo.clamp_min(0), hi.clamp_min(0)),
    nn.Flatten: lambda l, lo, hi: (l(lo), l(hi)),
    nn.AvgPool2d: lambda l, lo, hi: (l(lo), l(hi)),
    nn.Identity: lambda l, lo, hi: (lo, hi),
}


@torch.no_grad()
def interval_bounds(net: nn.Sequential, x: torch.Tensor, eps: torch.Tensor, clip: bool = True) -> Box:
    """Elementwise bounds on net(x + δ) over ‖δ‖∞ ≤ eps (per sample, [B]) and, with clip, x + δ ∈ [0, 1]."""
    e = eps.view(-1, *[1] * (x.dim() - 1)).to(x.dtype)
    lo, hi = x - e, x + e
    if clip:
        lo, hi = lo.clamp(0, 1), hi.clamp(0, 1)
    for layer in net:
        rule = next((r for kind, r in _IBP.items() if isinstance(layer, kind)), None)
        if rule is None:
            raise UsageError(f"no interval rule for layer {type(layer).__name__}")
        lo, hi = rule(layer, lo, hi)
    return lo, hi


@torch.no_grad()
def interval_radius(net: nn.Sequential, x: torch.Tensor, inside: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
                    eps_max: float = 0.5, steps: int = 20, clip: bool = True) -> torch.Tensor:
    """Per sample, the largest ε (bisection, ``steps`` halvings of [0, eps_max]) at which IBP proves
    ``inside(lo, hi)`` (a [B] bool: the whole output box stays in the safe set); 0 where it fails
    at ε = 0. The property is monotone in ε (boxes grow), so bisection is sound."""
    b = x.shape[0]
    lo_e = torch.zeros(b, dtype=torch.float64)
    hi_e = torch.full((b,), eps_max, dtype=torch.float64)
    ok0 = inside(*interval_bounds(net, x, torch.zeros(b), clip))
    top = inside(*interval_bounds(net, x, hi_e, clip))
    lo_e[top] = eps_max
    for _ in range(steps):
        mid = 0.5 * (lo_e + hi_e)
        ok = inside(*interval_bounds(net, x, mid, clip)) & ~top
        lo_e = torch.where(ok, mid, lo_e)
        hi_e = torch.where(ok | top, hi_e, mid)
    return torch.where(ok0, lo_e, torch.zeros_like(lo_e))
