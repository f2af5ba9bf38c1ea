"""The one training loop: epochs of batches from the training split, an evaluation after every
epoch (history for curves and model selection) and a copy of the weights per epoch.

An epoch is one pass over the training split, or, when ``TrainConfig.epoch_samples`` is set, a
fixed number of samples (the seed's 60,000), drawn from back-to-back shuffles of the split so
no image is seen twice before every image has been seen once.

With ``resume_path`` the loop writes its whole state after every epoch (method with its
optimisers, RNG streams, batch-stream position, history) and, when the file exists, starts from
it: a killed run continues where its last epoch ended, bit-identical to an uninterrupted run.
"""
from __future__ import annotations

import copy
import random
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional

import numpy as np
import torch
import torch.nn as nn

from ..utils.atomic import atomic_torch_save
from ..utils.device import place
from ..utils.progress import progress
from ..utils.seeding import seed_everything
from .method import METHODS, Batch, Method, TrainConfig

Evaluator = Callable[[nn.Module], Dict[str, Any]]


@dataclass
class FitResult:
    model: nn.Module
    history: List[Dict[str, Any]]  # one dict per epoch: train loss + evaluator output
    checkpoints: List[Dict[str, torch.Tensor]] = field(repr=False)  # state_dict after each epoch
    train_time_s: float = 0.0


def _mean(values: List[float]) -> float:
    return float(sum(values) / max(len(values), 1))


class BatchStream:
    """Batches of training-set indices for fixed-size epochs: back-to-back uniform shuffles (a
    pass left unfinished at an epoch's end continues in the next), or the method's own order for
    the epoch (``Method.epoch_order``), repeated until the epoch's steps are drawn."""

    def __init__(self, n: int, batch_size: int, generator: torch.Generator):
        self.n, self.batch_size, self.gen = n, batch_size, generator
        self.perm = torch.empty(0, dtype=torch.int64)  # the current uniform pass
        self.pos = 0

    def _uniform(self) -> torch.Tensor:
        """A full batch; one that straddles two passes takes the next shuffle's first images."""
        parts, need = [], self.batch_size
        while need:
            if self.pos >= self.perm.numel():
                self.perm, self.pos = torch.randperm(self.n, generator=self.gen), 0
            take = self.perm[self.pos:self.pos + need]
            self.pos += take.numel()
            need -= take.numel()
            parts.append(take)
        return parts[0] if len(parts) == 1 else torch.cat(parts)

    def epoch(self, algo: Method, epoch: int, steps: int) -> Iterator[torch.Tensor]:
        order = algo.epoch_order(self.n, self.gen, epoch)
        if order is None:
            return (self._uniform() for _ in range(steps))
        order = list(order)
        return (order[i % len(order)] for i in range(steps))

    def state(self) -> Dict[str, Any]:
        return {"perm": self.perm, "pos": self.pos}

    def load_state(self, state: Dict[str, Any]) -> None:
        self.perm, self.pos = state["perm"], state["pos"]


def _rng_state(gen: torch.Generator) -> Dict[str, Any]:
    return {"gen": gen.get_state(), "torch": torch.get_rng_state(), "numpy": np.random.get_state(),
            "python": random.getstate()}


def _set_rng_state(gen: torch.Generator, state: Dict[str, Any]) -> None:
    gen.set_state(state["gen"])
    torch.set_rng_state(state["torch"])
    np.random.set_state(state["numpy"])
    random.setstate(state["python"])


def _save_resume(path: Path, algo: Method, gen, stream, history, checkpoints, train_time) -> None:
    # The method's attributes (model, optimisers, second networks, error sets) pickled together,
    # so optimisers keep pointing at the parameters they step; the data is rebuilt, never saved.
    state = {k: v for k, v in vars(algo).items() if k not in ("data", "cfg")}
    atomic_torch_save(path, {"algo": state, "rng": _rng_state(gen), "stream": stream.state(), "history": history,
                             "checkpoints": checkpoints, "train_time_s": train_time})


def _load_resume(path: Path, algo: Method, gen, stream):
    # Written by this loop into the user's own cache (never shipped, never shared): a full
    # unpickle is what restores a method's optimisers and helpers as they were.
    saved = torch.load(path, map_location="cpu", weights_only=False)
    vars(algo).update(saved["algo"])
    _set_rng_state(gen, saved["rng"])
    stream.load_state(saved["stream"])
    return saved["history"], saved["checkpoints"], saved["train_time_s"]


def _to_memory_format(batch: Batch, channels_last: bool) -> Batch:
    if channels_last:
        batch.x = batch.x.contiguous(memory_format=torch.channels_last)
    return batch


def fit(model: nn.Module, method: str, data: Any, cfg: TrainConfig, seed: int,
        evaluate: Optional[Evaluator] = None, hparams: Optional[Dict[str, Any]] = None,
        desc: str = "train", resume_path: Optional[Path] = None) -> FitResult:
    gen = seed_everything(seed)
    if cfg.channels_last:
        model = model.to(memory_format=torch.channels_last)
    model = place(model)  # --device: the model's compute there, batches cross at its boundary
    algo = METHODS.get(method)(model, cfg, data, **(hparams or {}))
    split = data["train"]
    n = len(split)
    stream = BatchStream(n, cfg.batch_size, gen)
    history: List[Dict[str, Any]] = []
    checkpoints: List[Dict[str, torch.Tensor]] = []
    train_time = 0.0
    if resume_path is not None and Path(resume_path).is_file():
        history, checkpoints, train_time = _load_resume(Path(resume_path), algo, gen, stream)
    for epoch in progress(range(len(history), cfg.epochs), desc=f"{desc} [{method} seed {seed}]",
                          total=cfg.epochs - len(history)):
        t0 = time.perf_counter()
        algo.model.train()
        algo.on_epoch_start(epoch)
        if cfg.epoch_samples is None:
            order = algo.epoch_order(n, gen, epoch)
            if order is None:
                order = torch.randperm(n, generator=gen).split(cfg.batch_size)
        else:
            order = stream.epoch(algo, epoch, cfg.steps_per_epoch)
        stats: Dict[str, List[float]] = {}
        for step, idx in enumerate(order):
            batch = _to_memory_format(Batch(split.images(idx), split.digit[idx], split.color[idx], idx),
                                      cfg.channels_last)
            for key, value in algo.training_step(batch, epoch, step).items():
                stats.setdefault(key, []).append(value)
        train_time += time.perf_counter() - t0
        final = algo.final_model()
        final.eval()
        # every scalar a step reports (loss, a penalty, an adversary's accuracy) as its epoch mean
        entry: Dict[str, Any] = {"epoch": epoch + 1, "train_loss": _mean(stats.pop("loss", []))}
        if cfg.epoch_samples is not None:
            entry["samples"] = (epoch + 1) * cfg.steps_per_epoch * cfg.batch_size
            entry["steps"] = (epoch + 1) * cfg.steps_per_epoch
            entry["train_time_s"] = train_time  # cumulative: a snapshot's own training time
        entry.update({f"train_{key}": _mean(values) for key, values in sorted(stats.items())})
        if evaluate is not None:
            entry.update(evaluate(final))
        history.append(entry)
        checkpoints.append({k: v.cpu().contiguous() for k, v in copy.deepcopy(final.state_dict()).items()})
        if resume_path is not None:
            _save_resume(Path(resume_path), algo, gen, stream, history, checkpoints, train_time)
    final = algo.final_model().eval()
    return FitResult(final, history, checkpoints, train_time)
