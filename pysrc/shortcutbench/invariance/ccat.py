"""Confidence-calibrated adversarial training, the pieces that are not the training loop
(Stutz et al. 2020 as in their code; seed 004 §5.2, §5.4; research invariance_lt.md §3).

* power transition γ = 1 − (1 − min(1, ‖δ‖∞/ε))^ρ: the weight of the uniform distribution in the
  adversarial target p̃ = (1 − γ)·onehot(y) + γ/K (seed Eq. 1–2 write λ = 1 − γ);
* the perceptual variant's sigmoid transition γ = σ(ρ·(‖δ‖∞ − ε_b)) with the per-sample bound
  ε_b = ‖δ‖∞·ε_perc/d(x, x + δ) (seed Eq. 3–4, Algorithm 3; = the authors' σ(ρ‖δ‖∞(1 − ε_perc/d)));
* the thresholded evaluation: τ at 99% true-positive rate on held-out correctly classified clean
  examples, RErr and RErr@τ.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def power_transition(norm: torch.Tensor, epsilon: float, rho: float) -> torch.Tensor:
    return 1.0 - (1.0 - torch.clamp(norm / epsilon, max=1.0)) ** rho


def sigmoid_transition(norm: torch.Tensor, dist: torch.Tensor, eps_perceptual: float, rho: float) -> torch.Tensor:
    """γ = σ(ρ(‖δ‖∞ − ε_b)), ε_b = ‖δ‖∞·ε_perc/d; d = 0 (no perturbation) gives γ = σ(−∞·…) → 0."""
    safe = torch.where(dist > 0, dist, torch.ones_like(dist))
    eps_b = torch.where(dist > 0, norm * eps_perceptual / safe, torch.full_like(norm, math.inf))
    return torch.sigmoid(rho * (norm - eps_b))


def soft_targets(y: torch.Tensor, gamma: torch.Tensor, num_classes: int) -> torch.Tensor:
    onehot = F.one_hot(y, num_classes).to(gamma.dtype)
    return (1.0 - gamma)[:, None] * onehot + gamma[:, None] / num_classes


def soft_cross_entropy(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return -(target * F.log_softmax(logits, dim=1)).sum(1).mean()


def tpr_threshold(conf_correct_clean: torch.Tensor, tpr: float = 0.99) -> float:
    """τ such that a share ``tpr`` of the correctly classified held-out clean examples have
    confidence ≥ τ: sorted ascending, τ = sorted[floor(N·round(1 − tpr, 2))] (CCAT's code)."""
    s = torch.sort(conf_correct_clean.double()).values
    if s.numel() == 0:
        return float("nan")
    return float(s[int(math.floor(s.numel() * round(1 - tpr, 2)))])


def robust_error(clean_wrong: torch.Tensor, adv_wrong: torch.Tensor) -> float:
    """Unthresholded RErr: share of examples whose clean or adversarial prediction is wrong."""
    return float((clean_wrong | adv_wrong).double().mean())


def robust_error_at(clean_wrong: torch.Tensor, clean_conf: torch.Tensor, adv_wrong: torch.Tensor,
                    adv_conf: torch.Tensor, tau: float) -> float:
    """RErr@τ: errors that pass the confidence threshold among examples with at least one input
    that passes it: #[(clean wrong ∧ c ≥ τ) ∨ (adv wrong ∧ a ≥ τ)] / #[c ≥ τ ∨ a ≥ τ]."""
    c_in, a_in = clean_conf >= tau, adv_conf >= tau
    num = ((clean_wrong & c_in) | (adv_wrong & a_in)).double().sum()
    den = (c_in | a_in).double().sum()
    return float(num / den) if den > 0 else float("nan")
