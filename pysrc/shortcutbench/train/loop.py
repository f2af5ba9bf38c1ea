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


def _mean(values: List[float]) -> float:
    return float(sum(values) / max(len(values), 1))


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
        stats: Dict[str, List[float]] = {}
        for step, idx in enumerate(order):
            batch = Batch(split.images(idx), split.digit[idx], split.color[idx], idx)
            for key, value in algo.training_step(batch, epoch, step).items():
                stats.setdefault(key, []).append(value)
        train_time += time.perf_counter() - t0
        final = algo.final_model()
        final.eval()
        # every scalar a step reports (loss, a penalty, an adversary's accuracy) as its epoch mean
        entry: Dict[str, Any] = {"epoch": epoch + 1, "train_loss": _mean(stats.pop("loss", []))}
        entry.update({f"train_{key}": _mean(values) for key, values in sorted(stats.items())})
        if evaluate is not None:
            entry.update(evaluate(final))
        history.append(entry)
        checkpoints.append(copy.deepcopy(final.state_dict()))
    final = algo.final_model().eval()
    return FitResult(final, history, checkpoints, train_time)
