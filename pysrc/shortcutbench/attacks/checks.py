"""Sanity flags after AutoAttack's ``checks.py`` (research/adversarial.md §3, Flags): signs that
an evaluation may overestimate robustness. Every attack-track record carries them."""
from __future__ import annotations

from typing import Dict, Optional

import torch
import torch.nn as nn

from .losses import dlr_loss


def model_flags(model: nn.Module, x: torch.Tensor, y: torch.Tensor, passes: int = 5, tol: float = 1e-4
                ) -> Dict[str, object]:
    """randomness: logits vary over ``passes`` forward passes by more than tol;
    softmax_outputs: outputs look like probabilities (rows in [0, 1] summing to 1);
    zero_grad_share: share of samples whose DLR-loss gradient at x is exactly zero."""
    y = y.to(x.device)
    with torch.no_grad():
        outs = [model(x) for _ in range(passes)]
    spread = max(float((o - outs[0]).abs().max()) for o in outs) if x.shape[0] else 0.0
    z = outs[0]
    probs = bool(x.shape[0]) and bool(((z >= 0) & (z <= 1)).all()) and float((z.sum(1) - 1).abs().max()) < tol
    xr = x.detach().clone().requires_grad_(True)
    with torch.enable_grad():
        (g,) = torch.autograd.grad(dlr_loss(model(xr), y).sum(), xr)
    zero = (g.reshape(g.shape[0], -1).abs().sum(1) == 0).float()
    return {"randomness": spread > tol, "logit_spread": spread, "softmax_outputs": probs,
            "zero_grad_share": float(zero.mean()) if zero.numel() else 0.0}


def masking_flag(white_box_acc: float, after_square_acc: Optional[float], threshold: float = 0.002) -> bool:
    """Square (black-box) lowers robust accuracy by more than 0.2 pp after the white-box attacks:
    'gradients may be masked'."""
    return after_square_acc is not None and white_box_acc - after_square_acc > threshold


def any_flag(flags: Dict[str, object]) -> bool:
    return bool(flags.get("randomness") or flags.get("softmax_outputs") or flags.get("zero_grad_share", 0) > 0
                or flags.get("square_beats_whitebox"))
