"""Empirical risk minimisation: cross-entropy with SGD (seed 000 §3.2, the lazy baseline)."""
from __future__ import annotations

import torch.nn.functional as F

from .method import METHODS, Batch, Method


@METHODS.register("erm")
class ERM(Method):
    name = "erm"

    def training_step(self, batch: Batch, epoch: int, step: int):
        self.optimizer.zero_grad(set_to_none=True)
        loss = F.cross_entropy(self.model(batch.x), batch.y)
        loss.backward()
        self.optimizer.step()
        return {"loss": loss.item()}
