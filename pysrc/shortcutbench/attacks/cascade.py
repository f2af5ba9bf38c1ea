"""Ensembles of attacks run as AutoAttack runs them (research/adversarial.md §3, Aggregation):
robust flags start as clean correctness; attacks run in order, each from the clean x and only on
points still flagged; robust accuracy is the mean of the flags, the per-point worst case."""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Dict, List, Tuple

import torch
import torch.nn as nn

from .base import Attack, create_attack, register_attack
from .gradient import APGD, APGDT
from .square import Square


@dataclass
class CascadeResult:
    x_adv: torch.Tensor
    robust: torch.Tensor  # [B] bool: correct on x and on every attack's output
    clean: torch.Tensor  # [B] bool
    robust_after: Dict[str, float] = field(default_factory=dict)  # accuracy after each stage
    seconds: Dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Cascade:
    stages: Tuple[Attack, ...]
    name: str = "cascade"

    @property
    def eps(self) -> float:
        return self.stages[0].eps

    def evaluate(self, model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> CascadeResult:
        y = y.to(x.device)
        with torch.no_grad():
            clean = model(x).argmax(1) == y
        robust = clean.clone()
        x_adv = x.clone()
        res = CascadeResult(x_adv, robust, clean)
        for k, attack in enumerate(self.stages):
            label = f"{k + 1}:{attack.name}"
            t0 = time.perf_counter()
            rows = robust.nonzero().squeeze(1)
            if rows.numel():
                out = attack(model, x[rows], y[rows])
                with torch.no_grad():  # re-classify the returned points (auto-attack #74)
                    fooled = model(out.x_adv).argmax(1) != y[rows]
                x_adv[rows[fooled]] = out.x_adv[fooled]
                robust[rows[fooled]] = False
            res.robust_after[label] = float(robust.float().mean()) if robust.numel() else float("nan")
            res.seconds[label] = time.perf_counter() - t0
        return res


def standard_stages(eps: float, norm: str = "linf", seed: int = 0, square_queries: int = 5000,
                    steps: int = 100, n_targets: int = 9) -> Tuple[Attack, ...]:
    """AutoAttack *standard* without FAB-T: APGD-CE → APGD-T (9 targets) → Square (5,000 queries).
    Square is ℓ∞-only here, so for ℓ2 the cascade stops after APGD-T."""
    stages: List[Attack] = [APGD(eps=eps, norm=norm, seed=seed, steps=steps, loss="ce"),
                            APGDT(eps=eps, norm=norm, seed=seed, steps=steps, n_targets=n_targets)]
    if norm == "linf" and square_queries > 0:
        stages.append(Square(eps=eps, norm=norm, seed=seed, n_queries=square_queries))
    return tuple(stages)


@register_attack("standard")
def standard(eps: float = 0.1, norm: str = "linf", seed: int = 0, square_queries: int = 5000, steps: int = 100,
             n_targets: int = 9) -> Cascade:
    return Cascade(standard_stages(eps, norm, seed, square_queries, steps, n_targets), "standard")


def as_cascade(attack) -> Cascade:
    return attack if isinstance(attack, Cascade) else Cascade((attack,), attack.name)


def robust_accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor, attack) -> CascadeResult:
    """Per-point worst case over the attack (or cascade); robust ⊆ clean-correct by construction."""
    if isinstance(attack, str):
        attack = create_attack(attack)
    return as_cascade(attack).evaluate(model, x, y)
