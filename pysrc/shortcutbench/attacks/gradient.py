"""White-box gradient attacks: FGSM, PGD (ℓ∞/ℓ2, targeted, restarts, momentum) and APGD
(CE, DLR, targeted DLR), all on the batched engine with the fused pgd_step op."""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Optional

import torch
import torch.nn as nn

from ..errors import UsageError
from .base import Attack, merge, register_attack
from .engine import AttackResult, iterate, random_start


@dataclass(frozen=True)
class PGD(Attack):
    """Madry et al. 2018 PGD: step size 2.5·ε/steps unless given (their recipe), ℓ∞ random start
    U(−ε, ε), success counted at any iterate, loss-maximising iterate kept (x_best).
    momentum μ: heavy-ball on iterates, x ← x + (1−μ)(z − x) + μ(x − x_prev), as in APGD."""

    steps: int = 40
    step_size: Optional[float] = None  # absolute; None → 2.5·ε/steps (per sample when ε is)
    random_start: bool = True
    restarts: int = 1
    momentum: float = 0.0
    loss: str = "ce"
    kappa: float = 0.0  # targeted success needs p_t ≥ κ
    early_stop: bool = True  # drop rows whose goal is reached (False: adversarial training wants x_best)

    name = "pgd"

    def run(self, model, x, y, targets, eps, x_init):
        gen = self.generator()
        step = (torch.full_like(eps, self.step_size) if self.step_size is not None
                else 2.5 * eps / max(self.steps, 1))
        results = []
        todo = torch.ones(x.shape[0], dtype=torch.bool, device=x.device)
        for r in range(self.restarts):
            if r == 0 and x_init is not None:
                start = x_init
            elif self.random_start:
                start = random_start(x, eps, self.l2, gen, uniform_box=True)
            else:
                start = x.clone()
            rows = todo.nonzero().squeeze(1)
            t = targets[rows] if targets is not None else None
            res = iterate(model, x[rows], y[rows], start[rows], eps[rows], step[rows], self.steps, self.l2,
                          self.loss, t, t, self.kappa, self.momentum, early_stop=self.early_stop)
            results.append(_scatter(res, rows, x))
            todo &= ~results[-1].success
            if not todo.any():
                break
        return merge(results, x, y)


def _scatter(res: AttackResult, rows: torch.Tensor, x: torch.Tensor) -> AttackResult:
    """A result on ``rows`` of x, lifted to the whole batch (other rows: no success, x itself)."""
    if rows.numel() == x.shape[0]:
        return res
    full = AttackResult(x.clone(), torch.zeros(x.shape[0], dtype=torch.bool, device=x.device), x.clone(),
                        torch.full((x.shape[0],), float("-inf"), dtype=x.dtype, device=x.device), res.grad_evals)
    full.x_adv[rows], full.success[rows], full.x_best[rows], full.best_loss[rows] = (
        res.x_adv, res.success, res.x_best, res.best_loss)
    return full


@dataclass(frozen=True)
class FGSM(Attack):
    """Goodfellow et al. 2015: x + ε·sign(∇ℓ) (ℓ2: the normalised gradient), one step from x."""

    name = "fgsm"

    def run(self, model, x, y, targets, eps, x_init):
        pgd = PGD(eps=self.eps, norm=self.norm, seed=self.seed, steps=1, random_start=False)
        return pgd.run(model, x, y, targets, eps, None if x_init is None else x_init)


@dataclass(frozen=True)
class APGD(Attack):
    """Croce & Hein 2020 APGD, exactly as research/adversarial.md §3: η₀ = 2ε per sample,
    checkpoints (ρ = 0.75), momentum 0.75, restart from the best point, ε-ball start."""

    steps: int = 100
    restarts: int = 1
    loss: str = "ce"  # "ce" | "dlr" (targets given → targeted CE / targeted DLR)
    rho: float = 0.75
    alpha: float = 0.75  # AutoAttack's momentum: weight of the new point z (1 − α on x − x_prev)
    kappa: float = 0.0
    targeted_goal: bool = True  # targets given: success = argmax = t (False: AutoAttack's APGD-T, argmax ≠ y)

    name = "apgd"

    def run(self, model, x, y, targets, eps, x_init):
        gen = self.generator()
        results = []
        todo = torch.ones(x.shape[0], dtype=torch.bool, device=x.device)
        for r in range(self.restarts):
            start = x_init if (r == 0 and x_init is not None) else random_start(x, eps, self.l2, gen, uniform_box=False)
            rows = todo.nonzero().squeeze(1)
            t = targets[rows] if targets is not None else None
            res = iterate(model, x[rows], y[rows], start[rows], eps[rows], 2 * eps[rows], self.steps, self.l2,
                          self.loss, t, t if self.targeted_goal else None, self.kappa, 1.0 - self.alpha,
                          apgd=True, rho=self.rho)
            results.append(_scatter(res, rows, x))
            todo &= ~results[-1].success
            if not todo.any():
                break
        return merge(results, x, y)


@dataclass(frozen=True)
class APGDT(Attack):
    """AutoAttack's APGD-T: targeted DLR towards the classes ranked 2 … n_targets+1 by the clean
    logits, one run each, only on points still robust; success means argmax ≠ y."""

    steps: int = 100
    n_targets: int = 9

    name = "apgd-t"

    def run(self, model, x, y, targets, eps, x_init):
        if targets is not None:
            raise UsageError("apgd-t picks its own targets (AutoAttack); use apgd with loss='dlr' for one target")
        with torch.no_grad():
            z = model(x)
        if z.shape[1] < 4 or self.n_targets > z.shape[1] - 1:
            raise UsageError(f"apgd-t with {self.n_targets} targets needs >= {max(4, self.n_targets + 1)} "
                             f"classes, the model outputs {z.shape[1]}")
        order = z.argsort(dim=1, descending=True)
        base = APGD(eps=self.eps, norm=self.norm, seed=self.seed, steps=self.steps, loss="dlr", targeted_goal=False)
        results = []
        todo = z.argmax(1) == y
        for rank in range(1, self.n_targets + 1):
            rows = todo.nonzero().squeeze(1)
            if rows.numel() == 0:
                break
            res = base.run(model, x[rows], y[rows], order[rows, rank], eps[rows], None)
            results.append(_scatter(res, rows, x))
            todo &= ~results[-1].success
        if not results:
            return _scatter(AttackResult(x[:0], torch.zeros(0, dtype=torch.bool, device=x.device), x[:0],
                                         torch.zeros(0, dtype=x.dtype, device=x.device)),
                            torch.zeros(0, dtype=torch.long, device=x.device), x)
        return merge(results, x, y)


# Named presets (frozen): research/adversarial.md §3 and seeds 001 §2.1, 003 Q5.
register_attack("fgsm")(FGSM)
register_attack("pgd")(PGD)
register_attack("apgd")(APGD)
register_attack("apgd-t")(APGDT)


@register_attack("pgd40")
def pgd40(**kw) -> PGD:
    return PGD(**{"steps": 40, **kw})


@register_attack("apgd-ce")
def apgd_ce(**kw) -> APGD:
    return APGD(**{"loss": "ce", **kw})


@register_attack("apgd-dlr")
def apgd_dlr(**kw) -> APGD:
    return APGD(**{"loss": "dlr", **kw})


__all__ = ["FGSM", "PGD", "APGD", "APGDT", "replace"]
