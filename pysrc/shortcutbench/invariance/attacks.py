"""Small ℓ∞ attacks this track needs: the untargeted PGD column (seed Table 2, ε = 0.03) and CCAT's
inner attack, which maximises the largest *other-class* confidence max_{k≠y} p_k (F7P in Stutz et
al.'s code) or the cross-entropy (Madry AT), with sign gradients, momentum, a random start in the
ε-ball, projection onto the ball and [0, 1], and the best iterate returned per sample."""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F


def _objective(logits: torch.Tensor, y: torch.Tensor, kind: str) -> torch.Tensor:
    """Per-sample value to maximise."""
    if kind == "ce":
        return F.cross_entropy(logits, y, reduction="none")
    p = torch.softmax(logits, dim=1)
    return p.scatter(1, y[:, None], -1.0).amax(1)  # F7P: best other class


def linf_attack(model: nn.Module, x: torch.Tensor, y: torch.Tensor, epsilon, iters: int = 10,
                lr: float = None, objective: str = "ce", momentum: float = 0.9, random_start: bool = True,
                generator: torch.Generator = None) -> torch.Tensor:
    """x + δ with ‖δ‖∞ ≤ ε (a float or a per-sample tensor) maximising ``objective``; best iterate."""
    was_training = model.training
    model.eval()
    eps = torch.as_tensor(epsilon, dtype=x.dtype).reshape(-1, *([1] * (x.dim() - 1))).expand(x.shape[0], *([1] * (x.dim() - 1)))
    step = eps * (2.5 / max(iters, 1)) if lr is None else torch.full_like(eps, lr)
    if random_start:
        delta = (torch.rand(x.shape, generator=generator, dtype=x.dtype) * 2 - 1) * eps
    else:
        delta = torch.zeros_like(x)
    delta = (x + delta).clamp(0, 1) - x
    best, best_val = x + delta, torch.full((x.shape[0],), -float("inf"))
    vel = torch.zeros_like(x)
    for _ in range(iters + 1):
        delta.requires_grad_(True)
        with torch.enable_grad():
            val = _objective(model(x + delta), y, objective)
            grad, = torch.autograd.grad(val.sum(), delta)
        with torch.no_grad():
            better = val.detach() > best_val
            best[better] = (x + delta)[better]
            best_val = torch.where(better, val.detach(), best_val)
            vel = momentum * vel + grad.sign()
            delta = delta.detach() + step * vel.sign()
            delta = torch.max(torch.min(delta, eps), -eps)
            delta = (x + delta).clamp(0, 1) - x
    model.train(was_training)
    return best.detach()


def untargeted_success(model: nn.Module, x: torch.Tensor, y: torch.Tensor, epsilon: float = 0.03, iters: int = 20,
                       generator: torch.Generator = None) -> float:
    """Share of correctly classified inputs whose prediction an ℓ∞ PGD (cross-entropy) flips."""
    model.eval()
    with torch.no_grad():
        correct = model(x).argmax(1) == y
    if not correct.any():
        return float("nan")
    xa = linf_attack(model, x[correct], y[correct], epsilon, iters=iters, generator=generator)
    with torch.no_grad():
        return float((model(xa).argmax(1) != y[correct]).double().mean())
