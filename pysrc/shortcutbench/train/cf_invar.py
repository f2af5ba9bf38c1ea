"""Counterfactual invariance, CF-INVAR (seed 000 §6.3): each training digit is repainted on the
fly in a colour other than its own (from its grayscale digit), and
L = CE(f(x), y) + λ_cf · CE(f(x_cf), y) + λ_cons · KL_sym(p(x) ‖ p(x_cf)),
KL_sym(p ‖ q) = KL(p ‖ q) + KL(q ‖ p). Seed values: λ_cf = λ_cons = 1.0, Adam lr 1e-3, batch
128, 15 epochs.
"""
from __future__ import annotations

from dataclasses import replace

import torch
import torch.nn.functional as F

from .helpers import MITIGATION_TRAIN, AdamMethod, recolor_avoiding
from .method import METHODS, Batch


def symmetric_kl(logits_p: torch.Tensor, logits_q: torch.Tensor) -> torch.Tensor:
    lp, lq = F.log_softmax(logits_p, 1), F.log_softmax(logits_q, 1)
    return ((lp.exp() * (lp - lq)).sum(1) + (lq.exp() * (lq - lp)).sum(1)).mean()


def cf_invar_loss(logits: torch.Tensor, logits_cf: torch.Tensor, y: torch.Tensor, lam_cf: float,
                  lam_cons: float) -> torch.Tensor:
    return (F.cross_entropy(logits, y) + lam_cf * F.cross_entropy(logits_cf, y)
            + lam_cons * symmetric_kl(logits, logits_cf))


@METHODS.register("cf_invar")
class CFInvar(AdamMethod):
    name = "cf_invar"
    uses_color_labels = True  # the counterfactual must avoid each image's own colour id
    default_train = replace(MITIGATION_TRAIN, epochs=15)
    default_hparams = {"optimizer": "adam", "lambda_cf": 1.0, "lambda_cons": 1.0}

    def training_step(self, batch: Batch, epoch: int, step: int):
        split = self.data["train"]
        x_cf = recolor_avoiding(split.gray[batch.index], batch.color, split.background)
        self.optimizer.zero_grad(set_to_none=True)
        logits = self.model(torch.cat([batch.x, x_cf]))
        n = batch.x.shape[0]
        loss = cf_invar_loss(logits[:n], logits[n:], batch.y, self.hparams["lambda_cf"], self.hparams["lambda_cons"])
        loss.backward()
        self.optimizer.step()
        return {"loss": loss.item()}
