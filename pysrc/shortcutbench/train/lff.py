"""Learning from Failure (Nam et al. 2020, alinlab/LfF): a biased network trained with the
generalised CE (GCE: CE · p_y^q · q, q = 0.7) and the debiased network trained with CE weighted
per image by W = ℓ_b / (ℓ_b + ℓ_d), where ℓ are per-image EMAs (α = 0.7) of each network's loss
divided by the class-wise maximum EMA (as in LfF's code). No group or colour labels. Adam lr
1e-3 (LfF's Colored-MNIST optimiser), batch 128, 8 epochs.
"""
from __future__ import annotations

import copy

import torch
import torch.nn.functional as F

from .helpers import AdamMethod, adam
from .method import METHODS, Batch


def gce_loss(logits: torch.Tensor, y: torch.Tensor, q: float) -> torch.Tensor:
    """Per-example GCE as LfF implements it: CE · (p_y)^q · q with p_y detached."""
    p_y = F.softmax(logits, 1).gather(1, y[:, None]).squeeze(1).detach()
    return F.cross_entropy(logits, y, reduction="none") * p_y ** q * q


def relative_difficulty(loss_b: torch.Tensor, loss_d: torch.Tensor) -> torch.Tensor:
    return loss_b / (loss_b + loss_d + 1e-8)


class ClassNormalisedEMA:
    def __init__(self, labels: torch.Tensor, alpha: float):
        self.labels, self.alpha = labels, alpha
        self.value = torch.zeros(labels.numel())

    def update(self, index: torch.Tensor, loss: torch.Tensor) -> None:
        self.value[index] = self.alpha * self.value[index] + (1 - self.alpha) * loss.detach()

    def normalised(self, index: torch.Tensor) -> torch.Tensor:
        y = self.labels[index]
        cmax = torch.zeros(int(self.labels.max()) + 1).scatter_reduce(0, self.labels, self.value, "amax")
        return self.value[index] / cmax[y].clamp(min=1e-8)


@METHODS.register("lff")
class LfF(AdamMethod):
    name = "lff"
    default_hparams = {"optimizer": "adam", "q": 0.7, "ema_alpha": 0.7}

    def __init__(self, model, cfg, data, **hp):
        super().__init__(model, cfg, data, **hp)
        self.biased = copy.deepcopy(model)
        for m in self.biased.modules():  # fresh initial weights for the biased network
            if hasattr(m, "reset_parameters"):
                m.reset_parameters()
        self.biased_opt = adam(self.biased.parameters(), cfg)
        y = data["train"].digit
        self.ema_b = ClassNormalisedEMA(y, self.hparams["ema_alpha"])
        self.ema_d = ClassNormalisedEMA(y, self.hparams["ema_alpha"])

    def training_step(self, batch: Batch, epoch: int, step: int):
        logit_b, logit_d = self.biased(batch.x), self.model(batch.x)
        ce_b = F.cross_entropy(logit_b, batch.y, reduction="none").detach()
        ce_d = F.cross_entropy(logit_d, batch.y, reduction="none").detach()
        self.ema_b.update(batch.index, ce_b)
        self.ema_d.update(batch.index, ce_d)
        w = relative_difficulty(self.ema_b.normalised(batch.index), self.ema_d.normalised(batch.index))
        loss_d = (F.cross_entropy(logit_d, batch.y, reduction="none") * w).mean()
        loss_b = gce_loss(logit_b, batch.y, self.hparams["q"]).mean()
        self.optimizer.zero_grad(set_to_none=True)
        self.biased_opt.zero_grad(set_to_none=True)
        (loss_d + loss_b).backward()
        self.optimizer.step()
        self.biased_opt.step()
        return {"loss": loss_d.item()}
