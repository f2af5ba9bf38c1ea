"""Online GroupDRO (Sagawa et al. 2020, group_DRO ``loss.py``): minimise Σ_g q_g · L_g with
q_g ← q_g · exp(η · L_g), renormalised each step, over the 20 (digit, aligned?) groups; groups
absent from a batch keep their q. η = 0.01 (group_DRO default step size); no size adjustment.
Adam lr 1e-3, batch 128, 8 epochs."""
from __future__ import annotations

import torch
import torch.nn.functional as F

from .helpers import NUM_COARSE_GROUPS, AdamMethod, coarse_group
from .method import METHODS, Batch


def group_losses(per_example: torch.Tensor, groups: torch.Tensor, n_groups: int):
    """Mean loss per group and a mask of the groups present in the batch."""
    counts = torch.bincount(groups, minlength=n_groups).to(per_example.dtype)
    sums = torch.zeros(n_groups, dtype=per_example.dtype).index_add(0, groups, per_example)
    present = counts > 0
    return sums / counts.clamp(min=1), present


def dro_step(q: torch.Tensor, losses: torch.Tensor, present: torch.Tensor, eta: float) -> torch.Tensor:
    """Exponentiated-gradient update of the group weights (no gradient flows through q)."""
    q = q * torch.exp(eta * losses.detach() * present)
    return q / q.sum()


@METHODS.register("group_dro")
class GroupDRO(AdamMethod):
    name = "group_dro"
    uses_group_labels = True
    default_hparams = {"optimizer": "adam", "eta": 0.01}

    def __init__(self, model, cfg, data, **hp):
        super().__init__(model, cfg, data, **hp)
        self.q = torch.full((NUM_COARSE_GROUPS,), 1.0 / NUM_COARSE_GROUPS)

    def training_step(self, batch: Batch, epoch: int, step: int):
        self.optimizer.zero_grad(set_to_none=True)
        per = F.cross_entropy(self.model(batch.x), batch.y, reduction="none")
        losses, present = group_losses(per, coarse_group(batch.y, batch.color), NUM_COARSE_GROUPS)
        self.q = dro_step(self.q, losses, present, self.hparams["eta"])
        loss = (self.q * losses).sum()
        loss.backward()
        self.optimizer.step()
        return {"loss": loss.item()}
