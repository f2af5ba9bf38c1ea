"""Group-balanced sampling (SubpopBench ReSample; group_DRO's weighted sampler): every epoch
draws len(train) images with replacement so each of the 20 (digit, aligned?) groups is equally
likely; plain CE. Adam lr 1e-3, batch 128, 8 epochs."""
from __future__ import annotations

from .erm_adam import ERMAdam
from .helpers import balanced_order, coarse_group
from .method import METHODS


@METHODS.register("group_balanced")
class GroupBalanced(ERMAdam):
    name = "group_balanced"
    uses_group_labels = True

    def epoch_order(self, n, generator, epoch):
        split = self.data["train"]
        return balanced_order(coarse_group(split.digit, split.color), self.cfg.batch_size, generator)
