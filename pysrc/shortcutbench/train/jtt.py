"""Just Train Twice (Liu et al. 2021): an identification ERM model trained for T epochs marks the
training images it gets wrong (the error set E); a fresh model is then trained by ERM on the
training set with E up-sampled λ_up times. No group or colour labels.

Defaults (documented; the paper tunes both per dataset): T = 2 identification epochs, λ_up = 20,
then 8 epochs of the mitigations' optimiser (Adam lr 1e-3, batch 128). The first T epochs of the
history/checkpoints are the identification model.
"""
from __future__ import annotations

import copy
from dataclasses import replace

import torch
import torch.nn.functional as F

from ..metrics import predict_logits
from .helpers import AdamMethod, MITIGATION_TRAIN, adam
from .method import METHODS, Batch


def upsampled_order(n: int, errors: torch.Tensor, up: int, batch_size: int, generator: torch.Generator):
    """Every index once, plus the error-set indices (up − 1) more times, shuffled."""
    idx = torch.cat([torch.arange(n), errors.repeat(up - 1)])
    return list(idx[torch.randperm(idx.numel(), generator=generator)].split(batch_size))


@METHODS.register("jtt")
class JTT(AdamMethod):
    name = "jtt"
    default_hparams = {"optimizer": "adam", "id_epochs": 2, "upweight": 20}
    default_train = replace(MITIGATION_TRAIN, epochs=2 + 8)
    min_epochs = 3  # identification + at least one upweighted epoch

    def __init__(self, model, cfg, data, **hp):
        super().__init__(model, cfg, data, **hp)
        self.id_model = copy.deepcopy(model)  # same initial weights as the final model
        self.id_opt = adam(self.id_model.parameters(), cfg)
        self.errors = None

    def _identifying(self, epoch: int) -> bool:
        return epoch < self.hparams["id_epochs"]

    def on_epoch_start(self, epoch: int) -> None:
        if epoch == self.hparams["id_epochs"]:
            split = self.data["train"]
            pred = predict_logits(self.id_model, split).argmax(1)
            self.errors = torch.nonzero(pred != split.digit).flatten()

    def epoch_order(self, n, generator, epoch):
        if self._identifying(epoch):
            return None
        return upsampled_order(n, self.errors, self.hparams["upweight"], self.cfg.batch_size, generator)

    def training_step(self, batch: Batch, epoch: int, step: int):
        model, opt = (self.id_model, self.id_opt) if self._identifying(epoch) else (self.model, self.optimizer)
        model.train()
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(batch.x), batch.y)
        loss.backward()
        opt.step()
        return {"loss": loss.item()}

    def final_model(self):
        return self.id_model if self.errors is None else self.model
