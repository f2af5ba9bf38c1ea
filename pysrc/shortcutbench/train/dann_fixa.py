"""DANN-FixA, two-step (seed 000 §6.1): a digit classifier and a *binary dominance* adversary
(does the image wear its digit's dominant colour?) reading the features through a gradient
reversal layer. Each batch: k = 3 discriminator-only steps on detached features, then one joint
step  L = CE(C_digit(z), y) + λ_color · CE(C_dom(GRL(z)), d),  d = [colour == digit].

Seed values: nuisance head MLP 128 → 128 → 2 (our features are 64-d, so 64 → 128 → 2), Adam
lr 1e-3, batch 128, 15 epochs, λ_color = 2.0 for epochs ≤ 5 then 0.2, GRL λ = 1.0, k = 3.
"""
from __future__ import annotations

from dataclasses import replace

import torch
import torch.nn as nn
import torch.nn.functional as F

from .helpers import AdamMethod, MITIGATION_TRAIN, adam, grad_reverse
from .method import METHODS, Batch


def dominance_label(y: torch.Tensor, color: torch.Tensor) -> torch.Tensor:
    """d = 1 if the image wears its digit's dominant colour (colour id == digit), else 0."""
    return (color == y).long()


def dann_loss(logits: torch.Tensor, dom_logits: torch.Tensor, y: torch.Tensor, d: torch.Tensor,
              lam_color: float) -> torch.Tensor:
    """Joint objective; ``dom_logits`` must come through the GRL so minimising it trains the
    adversary and pushes the features to hide dominance."""
    return F.cross_entropy(logits, y) + lam_color * F.cross_entropy(dom_logits, d)


def adversary_stats(dom_logits: torch.Tensor, d: torch.Tensor) -> dict:
    """What the adversary achieves on the batch (after its k steps): accuracy, its CE, and how many
    counter-examples (d = 0) it spots. The loop averages them per epoch; the prior alone (always
    "dominant") scores ρ accuracy and spots none, so these show whether the GRL has a signal."""
    pred = dom_logits.argmax(1)
    conflicting = d == 0
    return {"adv_acc": (pred == d).float().mean().item(), "adv_loss": F.cross_entropy(dom_logits, d).item(),
            "adv_conflicting": conflicting.sum().item(), "adv_conflicting_found": (pred[conflicting] == 0).sum().item()}


def lambda_color(epoch: int, hp) -> float:
    """Seed §6.1 schedule; ``epoch`` is 0-based, the seed's "epochs ≤ 5" are 1-based."""
    return hp["lambda_color_early"] if epoch + 1 <= hp["early_epochs"] else hp["lambda_color_late"]


@METHODS.register("dann_fixa")
class DANNFixA(AdamMethod):
    name = "dann_fixa"
    uses_color_labels = True  # the dominance label needs each training image's colour
    default_train = replace(MITIGATION_TRAIN, epochs=15)
    default_hparams = {"optimizer": "adam", "disc_steps": 3, "disc_hidden": 128, "lambda_color_early": 2.0,
                       "lambda_color_late": 0.2, "early_epochs": 5, "grl_lambda": 1.0}

    def __init__(self, model, cfg, data, **hp):
        super().__init__(model, cfg, data, **hp)
        h = self.hparams["disc_hidden"]
        self.disc = nn.Sequential(nn.Linear(model.feature_dim, h), nn.ReLU(), nn.Linear(h, 2))
        self.disc_opt = adam(self.disc.parameters(), cfg)

    def training_step(self, batch: Batch, epoch: int, step: int):
        d = dominance_label(batch.y, batch.color)
        z = self.model.features(batch.x)
        zd = z.detach()
        for _ in range(self.hparams["disc_steps"]):  # step 1: discriminator only
            self.disc_opt.zero_grad(set_to_none=True)
            F.cross_entropy(self.disc(zd), d).backward()
            self.disc_opt.step()
        self.optimizer.zero_grad(set_to_none=True)  # step 2: joint adversarial update
        self.disc_opt.zero_grad(set_to_none=True)
        dom_logits = self.disc(grad_reverse(z, self.hparams["grl_lambda"]))
        loss = dann_loss(self.model.fc(z), dom_logits, batch.y, d, lambda_color(epoch, self.hparams))
        loss.backward()
        self.optimizer.step()
        self.disc_opt.step()
        return {"loss": loss.item(), **adversary_stats(dom_logits.detach(), d)}
