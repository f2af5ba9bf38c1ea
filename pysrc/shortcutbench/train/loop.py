"""The one training loop: epochs of batches from the training split, an evaluation after every
epoch (history for curves and model selection) and a copy of the weights per epoch."""
from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional

import torch
import torch.nn as nn

from ..utils.progress import progress
from ..utils.seeding import seed_everything
from .method import METHODS, Batch, TrainConfig

Evaluator = Callable[[nn.Module], Dict[str, Any]]


@dataclass
class FitResult:
    model: nn.Module
    history: List[Dict[str, Any]]  # one dict per epoch: train loss + evaluator output
    checkpoints: List[Dict[str, torch.Tensor]] = field(repr=False)  # state_dict after each epoch
    train_time_s: float = 0.0


def fit(model: nn.Module, method: str, data: Any, cfg: TrainConfig, seed: int,
        evaluate: Optional[Evaluator] = None, hparams: Optional[Dict[str, Any]] = None,
        desc: str = "train") -> FitResult:
    gen = seed_everything(seed)
    algo = METHODS.get(method)(model, cfg, data, **(hparams or {}))
    split = data["train"]
    n = len(split)
    history, checkpoints = [], []
    train_time = 0.0
    for epoch in progress(range(cfg.epochs), desc=f"{desc} [{method} seed {seed}]"):
        t0 = time.perf_counter()
        algo.model.train()
        algo.on_epoch_start(epoch)
        order = algo.epoch_order(n, gen, epoch)
        if order is None:
            order = torch.randperm(n, generator=gen).split(cfg.batch_size)
        losses = []
        for step, idx in enumerate(order):
            batch = Batch(split.images(idx), split.digit[idx], split.color[idx], idx)
            losses.append(algo.training_step(batch, epoch, step)["loss"])
        train_time += time.perf_counter() - t0
        final = algo.final_model()
        final.eval()
        entry: Dict[str, Any] = {"epoch": epoch + 1, "train_loss": float(sum(losses) / max(len(losses), 1))}
        if evaluate is not None:
            entry.update(evaluate(final))
        history.append(entry)
        checkpoints.append(copy.deepcopy(final.state_dict()))
    final = algo.final_model().eval()
    return FitResult(final, history, checkpoints, train_time)
