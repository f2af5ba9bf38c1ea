"""Pre-training methods of seed 001 §4.1 (Table 1), one registry entry each.

Heads follow the seed (it trains with lightning-bolts' heads, Linear → BatchNorm1d → ReLU →
Linear): SimCLR projector 2048 hidden → 128; SimSiam projector 2048 → 2048 and predictor 512 →
2048; Barlow Twins projector 2048 → 2048. Heads exist only during pre-training and are dropped;
the readout (``model.fc``) is a separate layer fitted afterwards (§2.4, last paragraph).

Optimisers (Table 1 and the papers' CIFAR-10 recipes): SimCLR LARS, lr 0.3·B/256, weight decay
1e-6, cosine decay (Chen et al. 2020 §B.1, B.9); SimSiam SGD, lr 0.03·B/256, momentum 0.9, weight
decay 5e-4, cosine decay (Chen & He 2021, appendix: CIFAR); Barlow Twins and supervised Adam
(the seed: "To optimize, I used Adam"), lr 1e-3 (Adam's default; the seed gives none).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..registry import Registry
from . import losses
from .augment import NO_AUGMENT, Augment
from .lars import LARS


def mlp(d_in: int, hidden: int, d_out: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(d_in, hidden), nn.BatchNorm1d(hidden), nn.ReLU(), nn.Linear(hidden, d_out))


@dataclass
class Batch:
    x: torch.Tensor  # [B, C, H, W] in [0, 1], not augmented
    y: torch.Tensor
    gen: torch.Generator  # the run's augmentation stream
    same_class: Callable[[torch.Tensor], torch.Tensor]  # labels → other training images of those classes


class PretrainMethod:
    """One way to train an encoder. ``loss`` sees the whole model (``model.features`` is the
    encoder, ``model.fc`` its own linear head, used by the supervised methods) and the heads."""

    name = "?"
    readouts: Tuple[str, ...] = ("standard", "adversarial")  # how the track fits and reads its readout
    encoder_of: str = ""  # non-empty: reuse that method's encoder instead of training one
    self_supervised = True  # False: trained with labels through its own head (fewer epochs, seed §4.1)
    schedule = "constant"  # or "cosine" (per step, to 0)

    def heads(self, dim: int) -> nn.ModuleDict:
        return nn.ModuleDict()

    def optimizer(self, params, batch_size: int) -> torch.optim.Optimizer:
        return torch.optim.Adam(params, lr=1e-3)

    def augment(self, data) -> Augment:
        return data.views

    def loss(self, model: nn.Module, heads: nn.ModuleDict, batch: Batch, data) -> torch.Tensor:
        raise NotImplementedError


PRETRAIN_METHODS: Registry[type] = Registry("ssl method")


def two_views(model, head, batch: Batch, aug: Augment, x2: torch.Tensor = None):
    z1 = head(model.features(aug(batch.x, batch.gen)))
    z2 = head(model.features(aug(batch.x if x2 is None else x2, batch.gen)))
    return z1, z2


@PRETRAIN_METHODS.register("simclr")
class SimCLR(PretrainMethod):
    name = "simclr"
    schedule = "cosine"

    def heads(self, dim):
        return nn.ModuleDict({"projector": mlp(dim, 2048, 128)})

    def optimizer(self, params, batch_size):
        return LARS(params, lr=0.3 * batch_size / 256, weight_decay=1e-6)

    def loss(self, model, heads, batch, data):
        return losses.nt_xent(*two_views(model, heads["projector"], batch, self.augment(data)))


@PRETRAIN_METHODS.register("supervised_simclr")
class SupervisedSimCLR(SimCLR):
    """Seed §4.1: the positive of x is another training image of x's class (drawn per image),
    images of other classes are the negatives."""

    name = "supervised_simclr"

    def loss(self, model, heads, batch, data):
        z1, z2 = two_views(model, heads["projector"], batch, self.augment(data), batch.same_class(batch.y))
        return losses.nt_xent(z1, z2, labels=batch.y)


@PRETRAIN_METHODS.register("simsiam")
class SimSiam(PretrainMethod):
    name = "simsiam"
    schedule = "cosine"

    def heads(self, dim):
        return nn.ModuleDict({"projector": mlp(dim, 2048, 2048), "predictor": mlp(2048, 512, 2048)})

    def optimizer(self, params, batch_size):
        return torch.optim.SGD(params, lr=0.03 * batch_size / 256, momentum=0.9, weight_decay=5e-4)

    def loss(self, model, heads, batch, data):
        z1, z2 = two_views(model, heads["projector"], batch, self.augment(data))
        return losses.simsiam(heads["predictor"](z1), heads["predictor"](z2), z1, z2)


@PRETRAIN_METHODS.register("barlow_twins")
class BarlowTwins(PretrainMethod):
    name = "barlow_twins"

    def heads(self, dim):
        return nn.ModuleDict({"projector": mlp(dim, 2048, 2048)})

    def loss(self, model, heads, batch, data):
        return losses.barlow_twins(*two_views(model, heads["projector"], batch, self.augment(data)))


@PRETRAIN_METHODS.register("supervised")
class Supervised(PretrainMethod):
    """Cross-entropy through the model's own head; its readout is that head ("joint")."""

    name = "supervised"
    readouts = ("joint",)
    self_supervised = False

    def augment(self, data):
        return data.supervised

    def loss(self, model, heads, batch, data):
        return F.cross_entropy(model(self.augment(data)(batch.x, batch.gen)), batch.y)


@PRETRAIN_METHODS.register("supervised_noaug")
class SupervisedNoAugmentation(Supervised):
    """Seed §4.1 "supervised no-augmentation": the supervised encoder without augmentation; its
    joint head and, as in the seed's Figure 15(b), an adversarially fine-tuned readout."""

    name = "supervised_noaug"
    readouts = ("joint", "adversarial")

    def augment(self, data):
        return NO_AUGMENT


@PRETRAIN_METHODS.register("linear_separated_supervised")
class LinearSeparatedSupervised(PretrainMethod):
    """Seed §4.1: the supervised encoder, its readout refitted like the SSL ones."""

    name = "linear_separated_supervised"
    encoder_of = "supervised"
    self_supervised = False


def lr_factor(schedule: str, step: int, total: int) -> float:
    return 0.5 * (1 + math.cos(math.pi * step / max(total, 1))) if schedule == "cosine" else 1.0


def create_method(name: str) -> PretrainMethod:
    return PRETRAIN_METHODS.get(name)()
