"""Logit-space attack (seed 004 §5.3, Algorithm 2), used as an initialiser for NSPGD.

softmax(z + c·1) = softmax(z) for any scalar c, so every logit vector z_s + h·1 gives the source's
confidences. The attack looks for an image whose logits are z_s up to such a shift, near a starting
image, with a total-variation term that keeps the perturbation smooth:

    L(x) = ‖(z(x) − z_s) − mean(z(x) − z_s)·1‖² + λ·‖softmax(z(x)) − softmax(z_s)‖² + μ·TV(x − x_0)

(the optimal free shift h(x) has the closed form mean(z_s − z(x)), so the first term is Algorithm 2's
‖L(x) + h(x) − L(x_s)‖² minimised over h). Descent uses sign gradients of step ε and clamps to [0, 1] (the attack engine's loop).

Deviations from the printed Algorithm 2, which *ascends* L1 − λ·‖ΔS‖² and accumulates δ twice
(δ ← δ + ε·sign(∇), x ← x + δ): we descend, add the softmax term with a plus sign and take plain
projected sign steps. ``start="target"`` begins at x_t (what the authors' ``logit_init`` does: move
the target until it carries the source's confidence), ``start="noise"`` at x_s + U(−1, 1) (the printed
initialisation).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn as nn

from ..attacks import engine
from ..errors import UsageError


@dataclass(frozen=True)
class LogitAttackConfig:
    iters: int = 200
    step: float = 0.005  # ε of the sign steps
    softmax_weight: float = 10.0  # λ
    tv_weight: float = 0.01  # μ
    start: str = "target"

    def __post_init__(self):
        if self.start not in ("target", "noise"):
            raise UsageError(f"logit attack start must be 'target' or 'noise', got {self.start!r}")


def total_variation(d: torch.Tensor) -> torch.Tensor:
    """Anisotropic ℓ1 TV per sample of [B, C, H, W]."""
    return ((d[..., 1:, :] - d[..., :-1, :]).abs().flatten(1).sum(1)
            + (d[..., :, 1:] - d[..., :, :-1]).abs().flatten(1).sum(1))


def centred_logit_gap(z: torch.Tensor, z_ref: torch.Tensor) -> torch.Tensor:
    """min over h of ‖z + h·1 − z_ref‖², per sample."""
    d = z - z_ref
    return ((d - d.mean(1, keepdim=True)) ** 2).sum(1)


def logit_attack(model: nn.Module, x_source: torch.Tensor, x_target: torch.Tensor,
                 cfg: LogitAttackConfig = LogitAttackConfig(), generator: torch.Generator = None) -> torch.Tensor:
    """Minimise L from the start by sign steps of ``cfg.step`` clamped to [0, 1]: the attack engine's
    loop with −L as its objective and no ε-ball (ε = 1 around a start in [0, 1] leaves only the box);
    returns the iterate with the lowest L."""
    model.eval()
    with torch.no_grad():
        z_s = model(x_source)
        p_s = torch.softmax(z_s, 1)
    if cfg.start == "target":
        x0 = x_target.clone()
    else:
        x0 = (x_source + torch.rand(x_source.shape, generator=generator) * 2 - 1).clamp(0, 1)

    def neg_loss(z: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        return -(centred_logit_gap(z, z_s) + cfg.softmax_weight * ((torch.softmax(z, 1) - p_s) ** 2).sum(1)
                 + cfg.tv_weight * total_variation(x - x0))

    b = x0.shape[0]
    ones = torch.ones(b, dtype=x0.dtype, device=x0.device)
    res = engine.iterate(model, x0, z_s.argmax(1), x0, ones, ones * cfg.step, cfg.iters,
                         l2=False, loss=neg_loss, early_stop=False)
    return res.x_best.detach()
