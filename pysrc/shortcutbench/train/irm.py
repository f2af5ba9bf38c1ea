"""IRMv1 (Arjovsky et al. 2019): Σ_e R_e + λ · Σ_e ‖∇_{w=1} R_e(w · f)‖². Colored-MNIST gives one
training set, so we make two environments from the (digit, aligned?) groups (documented):
environment 1 = every other conflicting image of each class plus as many aligned images of that
class (ρ_e = 0.5); environment 0 = the rest (ρ_e ≈ 0.97). λ = 1 during the first epoch, then
100 with the loss divided by λ and Adam reset (DomainBed's annealing, ``irm_lambda`` 1e2).
Adam lr 1e-3, batch 128, 8 epochs.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from .helpers import AdamMethod
from .method import METHODS, Batch


def irm_penalty(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """‖∂/∂w CE(w · logits, y) at w = 1‖² (differentiable)."""
    w = torch.ones((), requires_grad=True)
    g = torch.autograd.grad(F.cross_entropy(logits * w, y), w, create_graph=True)[0]
    return g ** 2


def irm_loss(logits: torch.Tensor, y: torch.Tensor, env: torch.Tensor, lam: float) -> torch.Tensor:
    risk, pen = 0.0, 0.0
    for e in torch.unique(env):
        m = env == e
        risk = risk + F.cross_entropy(logits[m], y[m])
        pen = pen + irm_penalty(logits[m], y[m])
    loss = risk + lam * pen
    return loss / lam if lam > 1 else loss


def make_environments(digit: torch.Tensor, color: torch.Tensor) -> torch.Tensor:
    env = torch.zeros_like(digit)
    for d in torch.unique(digit):
        conf = torch.nonzero((digit == d) & (color != d)).flatten()[::2]
        aligned = torch.nonzero((digit == d) & (color == d)).flatten()[: conf.numel()]
        env[conf] = 1
        env[aligned] = 1
    return env


@METHODS.register("irm")
class IRM(AdamMethod):
    name = "irm"
    uses_group_labels = True  # the environments are built from (digit, aligned?) groups
    default_hparams = {"optimizer": "adam", "lambda": 100.0, "anneal_epochs": 1}

    def __init__(self, model, cfg, data, **hp):
        super().__init__(model, cfg, data, **hp)
        split = data["train"]
        self.env = make_environments(split.digit, split.color)

    def on_epoch_start(self, epoch: int) -> None:
        if epoch == self.hparams["anneal_epochs"]:
            self.optimizer = self.make_optimizer(self.model.parameters())  # DomainBed resets Adam here

    def training_step(self, batch: Batch, epoch: int, step: int):
        lam = 1.0 if epoch < self.hparams["anneal_epochs"] else self.hparams["lambda"]
        self.optimizer.zero_grad(set_to_none=True)
        loss = irm_loss(self.model(batch.x), batch.y, self.env[batch.index], lam)
        loss.backward()
        self.optimizer.step()
        return {"loss": loss.item()}
