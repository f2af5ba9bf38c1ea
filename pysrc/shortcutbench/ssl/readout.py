"""Linear readouts on a frozen encoder (seed 001 §4.1-4.3).

- standard: Adam, lr 1e-2, 5 epochs, batch 512, the whole training set without augmentation,
  on features computed once (the problem is convex, §4.1).
- adversarial: the readout fine-tuned on APGD-CE-10 points (ℓ∞, the dataset's ε) of augmented
  training images (crop and flip, §4.1), Adam, batch 512, one run per learning rate of the
  seed's grid 1e-6 … 1e-3 (multiples of 10, §4.3), the rate with the best APGD-CE-10 accuracy
  on the validation split kept. It starts from the standard readout (the seed's "adversarial
  fine-tuning"; from a random layer the small rates would not move it in the budget).
"""
from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Dict, Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..attacks import APGD
from .augment import Augment


@dataclass(frozen=True)
class ReadoutConfig:
    lr: float = 1e-2
    epochs: int = 5
    batch_size: int = 512


@dataclass(frozen=True)
class AdversarialReadoutConfig:
    lrs: Tuple[float, ...] = (1e-6, 1e-5, 1e-4, 1e-3)
    epochs: int = 10
    batch_size: int = 512
    attack_steps: int = 10  # APGD-CE-10 (§4.3)


@torch.no_grad()
def features(model: nn.Module, x: torch.Tensor, batch: int = 1000) -> torch.Tensor:
    return torch.cat([model.features(x[i:i + batch]) for i in range(0, len(x), batch)]) if len(x) else x.new_zeros(0)


class ReadoutModel(nn.Module):
    """Frozen encoder + linear readout: an ordinary [B, C, H, W] → [B, 10] classifier."""

    def __init__(self, encoder: nn.Module, fc: nn.Linear):
        super().__init__()
        self.encoder, self.fc = encoder, fc
        for p in encoder.parameters():
            p.requires_grad_(False)
        self.encoder.eval()

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder.features(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.features(x))

    def train(self, mode: bool = True) -> "ReadoutModel":  # the encoder's BatchNorm stays in eval mode
        self.training = mode
        self.fc.train(mode)
        return self


def fit_linear(feats: torch.Tensor, y: torch.Tensor, n_classes: int, cfg: ReadoutConfig, seed: int) -> nn.Linear:
    """Adam on cross-entropy of a fresh linear layer over fixed features (also the probes')."""
    gen = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        fc = nn.Linear(feats.shape[1], n_classes)
    opt = torch.optim.Adam(fc.parameters(), lr=cfg.lr)
    for _ in range(cfg.epochs):
        perm = torch.randperm(len(y), generator=gen)
        for i in range(0, len(y), cfg.batch_size):
            idx = perm[i:i + cfg.batch_size]
            loss = F.cross_entropy(fc(feats[idx]), y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    return fc.eval()


def apgd10(eps: float, steps: int, seed: int) -> APGD:
    return APGD(eps=eps, steps=steps, loss="ce", seed=seed)


def adversarial_points(clf: nn.Module, x: torch.Tensor, y: torch.Tensor, attack: APGD) -> torch.Tensor:
    """The attack's point per image: the misclassifying iterate where it succeeded, else the
    highest-loss one (clean x where the image was misclassified already)."""
    res = attack(clf, x, y)
    return torch.where(res.success.view(-1, 1, 1, 1), res.x_adv, res.x_best)


def robust_count(clf: nn.Module, x: torch.Tensor, y: torch.Tensor, attack) -> int:
    res = attack(clf, x, y)
    with torch.no_grad():
        return int((clf(res.x_adv).argmax(1) == y).sum())


def fit_adversarial(model: nn.Module, start: nn.Linear, x: torch.Tensor, y: torch.Tensor, xval: torch.Tensor,
                    yval: torch.Tensor, eps: float, augment: Augment, cfg: AdversarialReadoutConfig, seed: int,
                    progress_desc: Optional[str] = None) -> Tuple[nn.Linear, Dict[str, float]]:
    """The fine-tuned readout of the best rate, and the validation APGD-CE-10 accuracy per rate. A tie
    goes to the earlier rate of ``cfg.lrs`` (the smallest, in the seed's ascending grid): when no rate
    makes the readout robust, it stays closest to the standard one."""
    val_acc: Dict[str, float] = {}
    best: Tuple[float, nn.Linear] = (-1.0, start)
    for lr in cfg.lrs:
        fc = copy.deepcopy(start).train()
        for p in fc.parameters():
            p.requires_grad_(True)
        clf = ReadoutModel(model, fc).eval()
        opt = torch.optim.Adam(fc.parameters(), lr=lr)
        gen = torch.Generator().manual_seed(seed)  # same batches and views for every rate
        step = 0
        for _ in range(cfg.epochs):
            perm = torch.randperm(len(y), generator=gen)
            for i in range(0, len(y), cfg.batch_size):
                idx = perm[i:i + cfg.batch_size]
                xb = augment(x[idx], gen)
                x_adv = adversarial_points(clf, xb, y[idx], apgd10(eps, cfg.attack_steps, seed=10_000 * seed + step))
                loss = F.cross_entropy(fc(features(model, x_adv)), y[idx])
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                step += 1
        fc.eval()
        acc = robust_count(clf, xval, yval, apgd10(eps, cfg.attack_steps, seed=seed)) / max(len(yval), 1)
        val_acc[f"{lr:g}"] = acc
        if acc > best[0]:
            best = (acc, fc)
    return best[1], val_acc
