"""What an attack is: a frozen configuration (a protocol preset; never mutated between runs)
whose call ``attack(model, x, y, targets=None, eps=None, x_init=None)`` runs on the device of
``x`` (inputs in [0, 1]) and returns an :class:`AttackResult`. ``eps`` may be overridden per
sample ([B] tensor), which the minimal-ε search uses."""
from __future__ import annotations

import abc
from dataclasses import dataclass
from typing import Callable, ClassVar, Optional, Union

import torch
import torch.nn as nn

from ..errors import UsageError
from ..registry import Registry
from .engine import AttackResult, reached

NORMS = ("linf", "l2")
EpsLike = Union[float, torch.Tensor]


@dataclass(frozen=True)
class Attack(abc.ABC):
    eps: float = 0.1
    norm: str = "linf"
    seed: int = 0

    name: ClassVar[str] = "?"

    def __post_init__(self) -> None:
        if self.norm not in NORMS:
            raise UsageError(f"norm must be one of {NORMS}, got {self.norm!r}")
        if not self.eps >= 0:
            raise UsageError(f"eps must be >= 0, got {self.eps}")

    @property
    def l2(self) -> bool:
        return self.norm == "l2"

    def per_sample_eps(self, x: torch.Tensor, eps: Optional[EpsLike]) -> torch.Tensor:
        e = self.eps if eps is None else eps
        e = torch.as_tensor(e, dtype=x.dtype, device=x.device)
        return e.expand(x.shape[0]).clone() if e.dim() == 0 else e.to(x.dtype)

    def generator(self) -> torch.Generator:
        return torch.Generator().manual_seed(self.seed)

    def __call__(self, model: nn.Module, x: torch.Tensor, y: torch.Tensor, targets: Optional[torch.Tensor] = None,
                 eps: Optional[EpsLike] = None, x_init: Optional[torch.Tensor] = None) -> AttackResult:
        if x.numel() and (x.min() < 0 or x.max() > 1):
            raise UsageError(f"attack inputs must lie in [0, 1], got range [{x.min():.3g}, {x.max():.3g}]")
        x, y = x.detach(), y.to(x.device)
        targets = targets.to(x.device) if targets is not None else None
        eps_b = self.per_sample_eps(x, eps)
        # points whose goal already holds at x are done (AutoAttack attacks only the correctly classified)
        with torch.no_grad():
            z = model(x)
        done = reached(z, y, targets, getattr(self, "kappa", 0.0)) if x.shape[0] else torch.zeros(0, dtype=torch.bool)
        if not done.any() or not getattr(self, "early_stop", True):  # adversarial training wants every point
            return self.run(model, x, y, targets, eps_b, x_init)
        rows = (~done).nonzero().squeeze(1)
        full = AttackResult(x.clone(), done.clone(), x.clone(), torch.full((x.shape[0],), float("-inf"), dtype=x.dtype,
                                                                           device=x.device), x.shape[0])
        if rows.numel():
            res = self.run(model, x[rows], y[rows], None if targets is None else targets[rows], eps_b[rows],
                           None if x_init is None else x_init[rows])
            full.x_adv[rows], full.success[rows], full.x_best[rows], full.best_loss[rows] = (
                res.x_adv, res.success, res.x_best, res.best_loss)
            full.grad_evals += res.grad_evals
        return full

    @abc.abstractmethod
    def run(self, model: nn.Module, x: torch.Tensor, y: torch.Tensor, targets: Optional[torch.Tensor],
            eps: torch.Tensor, x_init: Optional[torch.Tensor]) -> AttackResult:
        """The attack on a batch; targets given → targeted goal (argmax = t, p_t ≥ κ)."""


def merge(results, x: torch.Tensor, y: torch.Tensor) -> AttackResult:
    """Restarts: the first success per sample wins; x_best keeps the highest loss."""
    res = results[0]
    for r in results[1:]:
        new = r.success & ~res.success
        res.x_adv[new] = r.x_adv[new]
        res.success |= r.success
        better = r.best_loss > res.best_loss
        res.x_best[better] = r.x_best[better]
        res.best_loss = torch.where(better, r.best_loss, res.best_loss)
        res.grad_evals += r.grad_evals
    return res


ATTACKS: Registry[Callable[..., Attack]] = Registry("attack")


def register_attack(name: str):
    """``@register_attack("pgd")`` on a factory (or class) returning a frozen :class:`Attack`."""
    return ATTACKS.register(name)


def create_attack(name: str, **config) -> Attack:
    """A frozen attack from a registered preset, e.g. ``create_attack("apgd-ce", eps=0.1)``."""
    try:
        return ATTACKS.get(name)(**config)
    except TypeError as exc:
        raise UsageError(f"attack {name!r}: {exc}") from None
