"""Group re-weighting (group_DRO ``--reweight_groups`` loss form; SubpopBench ReWeight): per-image
CE weighted by w_g ∝ 1/n_g over the 20 (digit, aligned?) groups, normalised so the weights of
the training set average 1. Adam lr 1e-3, batch 128, 8 epochs (the mitigations' optimiser)."""
from __future__ import annotations

import torch
import torch.nn.functional as F

from .helpers import AdamMethod, coarse_group, group_counts
from .method import METHODS, Batch


def group_weights(counts: torch.Tensor) -> torch.Tensor:
    """w_g = N / (G_present · n_g): inverse frequency, mean weight over the training images = 1."""
    present = counts > 0
    w = torch.zeros_like(counts)
    w[present] = counts.sum() / (present.sum() * counts[present])
    return w


def weighted_ce(logits: torch.Tensor, y: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    return (w * F.cross_entropy(logits, y, reduction="none")).sum() / w.sum()


@METHODS.register("group_reweight")
class GroupReweight(AdamMethod):
    name = "group_reweight"
    uses_group_labels = True

    def __init__(self, model, cfg, data, **hp):
        super().__init__(model, cfg, data, **hp)
        self.weights = group_weights(group_counts(data["train"])).float()

    def training_step(self, batch: Batch, epoch: int, step: int):
        self.optimizer.zero_grad(set_to_none=True)
        loss = weighted_ce(self.model(batch.x), batch.y, self.weights[coarse_group(batch.y, batch.color)])
        loss.backward()
        self.optimizer.step()
        return {"loss": loss.item()}
