"""Perceptual CCAT (seed 004 §5.4, Algorithm 3; the authors' ``lpips_power_transition``): CCAT with
a per-sample bound ε_b = ‖δ‖∞·ε_perc/d(x, x + δ) and the sigmoid transition γ = σ(ρ(‖δ‖∞ − ε_b)),
so perturbations that look small (d < ε_perc) keep confident labels and large ones go to uniform.

LPIPS needs a downloaded AlexNet trunk, so d is 1 − SSIM (data_range 1) here; ε_perc = 0.1 is our
choice on that scale (not the seed's LPIPS 0.03). As in the authors' code the training ε is redrawn
per batch, ε·(1/3 + U(0,1)·2/3) (their 4/255 + U·8/255 at ε = 12/255), and ρ = 100.
"""
from __future__ import annotations

import torch

from ..invariance.ccat import sigmoid_transition
from ..invariance.distances import one_minus_ssim
from .ccat import CCAT
from .method import METHODS


@METHODS.register("ccat_perceptual")
class PerceptualCCAT(CCAT):
    name = "ccat_perceptual"
    default_hparams = {**CCAT.default_hparams, "rho": 100.0, "eps_perceptual": 0.1}

    def attack_epsilon(self, n: int) -> torch.Tensor:
        draw = float(torch.rand((), generator=self.gen))
        return torch.full((n,), float(self.hparams["epsilon"]) * (1 / 3 + draw * 2 / 3))

    def gamma(self, x, x_adv, eps):
        norm = (x_adv - x).flatten(1).abs().amax(1)
        return sigmoid_transition(norm, one_minus_ssim(x_adv, x).clamp_min(0), self.hparams["eps_perceptual"],
                                  self.hparams["rho"])
