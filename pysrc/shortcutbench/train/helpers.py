"""Pieces several methods share: the Adam optimiser of seed 000 §6, the gradient reversal
layer, the coarse (digit, aligned?) groups, and counterfactual recolouring."""
from __future__ import annotations

from typing import List

import torch

from ..data.colored_mnist import NUM_CLASSES, PALETTE
from ..ops import colorize
from .method import Method, TrainConfig

# Seed 000 §6.1/§6.3 train every mitigation with Adam (lr 1e-3) and batch 128; we use the same
# for every mitigation so that only the objective differs between rows.
MITIGATION_TRAIN = TrainConfig(epochs=8, batch_size=128, lr=1e-3, momentum=0.0)


def adam(params, cfg: TrainConfig) -> torch.optim.Optimizer:
    return torch.optim.Adam(params, lr=cfg.lr, weight_decay=cfg.weight_decay)


class GradReverse(torch.autograd.Function):
    """Identity forward; multiplies the gradient by −λ on the way back (Ganin & Lempitsky 2015)."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, lam: float) -> torch.Tensor:
        ctx.lam = lam
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        return -ctx.lam * grad, None


def grad_reverse(x: torch.Tensor, lam: float = 1.0) -> torch.Tensor:
    return GradReverse.apply(x, lam)


NUM_COARSE_GROUPS = 2 * NUM_CLASSES


def coarse_group(y: torch.Tensor, color: torch.Tensor) -> torch.Tensor:
    """Group id 2·digit + [colour is not the digit's dominant colour]: 20 groups. The 90
    conflicting cells hold ~2 training images each at ρ = 0.95, too few for per-cell weights,
    so group methods use (digit, aligned/conflicting) as CMNIST papers do (LfF, DisEnt)."""
    return 2 * y + (color != y).long()


def group_counts(split) -> torch.Tensor:
    return torch.bincount(coarse_group(split.digit, split.color), minlength=NUM_COARSE_GROUPS).double()


def balanced_order(groups: torch.Tensor, batch_size: int, generator: torch.Generator) -> List[torch.Tensor]:
    """One epoch of len(groups) indices drawn with replacement so every non-empty group is equally
    likely (group-balanced sampling, SubpopBench/group_DRO ``--reweight_groups`` sampler)."""
    counts = torch.bincount(groups, minlength=NUM_COARSE_GROUPS).double()
    present = (counts > 0).double()
    w = (present / counts.clamp(min=1))[groups]
    idx = torch.multinomial(w, len(groups), replacement=True, generator=generator)
    return list(idx.split(batch_size))


def recolor_avoiding(gray: torch.Tensor, color: torch.Tensor, background: bool,
                     generator: torch.Generator | None = None) -> torch.Tensor:
    """Counterfactual views (seed 000 §6.3): each digit repainted in a palette colour drawn
    uniformly from the 9 colours other than its own."""
    shift = torch.randint(1, NUM_CLASSES, color.shape, generator=generator)
    new = (color + shift) % NUM_CLASSES
    return colorize(gray, PALETTE[new].contiguous(), background)




class AdamMethod(Method):
    """A mitigation trained with the seed §6 optimiser (Adam) and schedule (MITIGATION_TRAIN)."""

    default_train = MITIGATION_TRAIN
    default_hparams = {"optimizer": "adam"}

    def make_optimizer(self, params):
        return adam(params, self.cfg)
