"""Group-balanced sampling (SubpopBench ReSample; group_DRO's weighted sampler): every epoch
draws len(train) images with replacement so each of the 20 (digit, aligned?) groups is equally
likely; plain CE. Adam lr 1e-3, batch 128, 8 epochs."""
from __future__ import annotations

import torch.nn.functional as F

from .helpers import MITIGATION_TRAIN, adam, balanced_order, coarse_group
from .method import METHODS, Batch, Method


@METHODS.register("group_balanced")
class GroupBalanced(Method):
    name = "group_balanced"
    uses_group_labels = True
    default_train = MITIGATION_TRAIN
    default_hparams = {"optimizer": "adam"}

    def make_optimizer(self, params):
        return adam(params, self.cfg)

    def epoch_order(self, n, generator, epoch):
        split = self.data["train"]
        return balanced_order(coarse_group(split.digit, split.color), self.cfg.batch_size, generator)

    def training_step(self, batch: Batch, epoch: int, step: int):
        self.optimizer.zero_grad(set_to_none=True)
        loss = F.cross_entropy(self.model(batch.x), batch.y)
        loss.backward()
        self.optimizer.step()
        return {"loss": loss.item()}
