"""Adversarial training (seed 001 §2.2, seed 003 Q5c): minimise the loss at the worst point of
the ε-ball, found by an attack from :mod:`shortcutbench.attacks`.

- ``pgd_at`` (Madry et al. 2018): PGD with random start, ``steps`` steps of 2.5·ε/steps, ℓ∞.
- ``fgsm_at`` (Wong, Rice & Kolter 2020, "Fast is better than free"): random init U(−ε, ε) then one
  signed step of 1.25·ε.

The attack runs on every sample for its full budget (no early stop) and the model trains on the
loss-maximising iterate. ε = 0.1 by default (MNIST's usual 0.3 does not train within the lazy
CNN's 4-epoch schedule on the small embedded set); the attack track evaluates up to 0.3.
"""
from __future__ import annotations

from dataclasses import replace

import torch.nn.functional as F

from ..attacks import PGD
from .method import METHODS, Batch, Method


class _AdversarialTraining(Method):
    def attack(self) -> PGD:
        raise NotImplementedError

    def training_step(self, batch: Batch, epoch: int, step: int):
        atk = replace(self.attack(), seed=10_000 * epoch + step)  # fresh random start per batch
        x_adv = atk(self.model, batch.x, batch.y).x_best
        self.optimizer.zero_grad(set_to_none=True)
        loss = F.cross_entropy(self.model(x_adv), batch.y)
        loss.backward()
        self.optimizer.step()
        return {"loss": loss.item()}


@METHODS.register("pgd_at")
class PGDAT(_AdversarialTraining):
    name = "pgd_at"
    default_hparams = {"eps": 0.1, "steps": 10}

    def attack(self) -> PGD:
        e, k = self.hparams["eps"], self.hparams["steps"]
        return PGD(eps=e, steps=k, step_size=2.5 * e / k, random_start=True, early_stop=False)


@METHODS.register("fgsm_at")
class FGSMAT(_AdversarialTraining):
    name = "fgsm_at"
    default_hparams = {"eps": 0.1, "alpha": 1.25}

    def attack(self) -> PGD:
        e = self.hparams["eps"]
        return PGD(eps=e, steps=1, step_size=self.hparams["alpha"] * e, random_start=True, early_stop=False)
