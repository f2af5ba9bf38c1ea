"""Standard training of the conv + max-pool toy model (seed 001 §6.2): on the base images, or on
an *extended* set enumerated by lt_extended.

Not a METHODS entry: those train the lazy CNN on Colored-MNIST batches; this trains a 2-filter
model on an index space. Defaults follow the thesis: Adam(lr 0.1), cross-entropy, bias-free
filters, stop at 100% accuracy on the training set (the extended set here).

- ``full_batch``: every step takes the exact mean loss and gradient over ALL samples (one fused
  pass), so "100% extended accuracy" is checked on every step for free.
- ``minibatch``: random index batches decoded and trained through autograd (the thesis code's
  approach, lt_experiments.py), with a full verification pass every ``check_every`` steps.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional

import torch
import torch.nn.functional as F

from ..data.lt import ExtendedSpec, ToyDataset
from ..models.conv_maxpool import ConvMaxPool
from ..ops.lt_extended import lt_decode, lt_extended
from ..utils.threads import single_thread


@dataclass(frozen=True)
class ExtendedTrainConfig:
    lr: float = 0.1  # Adam, seed 001 §6.2
    max_steps: int = 300
    mode: str = "full_batch"  # or "minibatch"
    batch_size: int = 1 << 16
    check_every: int = 50
    bias: bool = False
    clip: bool = False
    seed: int = 0


@dataclass
class TrainResult:
    model: ConvMaxPool
    steps: int
    reached_100: bool
    history: List[Dict[str, float]] = field(default_factory=list)
    seconds: float = 0.0


def init_model(kernel: int, bias: bool, seed: int) -> ConvMaxPool:
    torch.manual_seed(seed)
    return ConvMaxPool(kernel, bias)


def train_standard(data: ToyDataset, epochs: int = 200, lr: float = 0.1, seed: int = 0, bias: bool = False) -> TrainResult:
    """Full-batch Adam on the base images for a fixed number of epochs (thesis: 20 or 200)."""
    t0 = time.perf_counter()
    model = init_model(data.kernel, bias, seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    hist = []
    with single_thread():
        _fit_base_images(model, opt, data, epochs, hist)
    with torch.no_grad():
        acc = float((model(data.images).argmax(1) == data.labels).float().mean())
    return TrainResult(model, epochs, acc == 1.0, hist, time.perf_counter() - t0)


def _fit_base_images(model, opt, data: ToyDataset, epochs: int, hist: List[Dict[str, float]]) -> None:
    for step in range(epochs):
        opt.zero_grad()
        logits = model(data.images)
        loss = F.cross_entropy(logits, data.labels)
        loss.backward()
        opt.step()
        hist.append({"step": step, "loss": loss.item(), "acc": float((logits.argmax(1) == data.labels).float().mean())})


def full_pass(model: ConvMaxPool, spec: ExtendedSpec, clip: bool, with_grad: bool = True, start: int = 0,
              stop: Optional[int] = None, reduce: Optional[Callable] = None):
    """One lt_extended pass over [start, stop); ``reduce`` (e.g. a torch.distributed all-reduce)
    sums the pass across shards. Returns (loss_sum, grad_w, grad_b, correct, min_margin)."""
    out = lt_extended(spec.bases, spec.labels, spec.pixels, spec.offsets, model.filters.detach(),
                      None if model.bias is None else model.bias.detach(), start, spec.size if stop is None else stop,
                      clip, True, with_grad, 0)
    loss, gw, gb, correct, margin = out.loss_sum, out.grad_weight, out.grad_bias, out.correct, out.min_margin
    if reduce is not None:
        loss, gw, gb, correct, margin = reduce(loss, gw, gb, correct, margin)
    return loss, gw, gb, correct, margin


def train_extended(spec: ExtendedSpec, cfg: ExtendedTrainConfig = ExtendedTrainConfig(), kernel: int = 3,
                   shard: Optional[tuple] = None, reduce: Optional[Callable] = None,
                   progress: Optional[Callable] = None, init: Optional[ConvMaxPool] = None) -> TrainResult:
    """Adam on the extended set until every sample is classified correctly (or max_steps).
    ``shard`` = (start, stop) restricts each pass to this process's index range and ``reduce``
    all-reduces the sums, so a torchrun group trains the same model as one process. ``init``: warm
    start from a copy of this model instead of a fresh seeded one."""
    t0 = time.perf_counter()
    model = init_model(kernel, cfg.bias, cfg.seed)
    if init is not None:
        model.load_state_dict(init.state_dict())
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    n = spec.size
    lo, hi = shard if shard is not None else (0, n)
    gen = torch.Generator().manual_seed(cfg.seed)
    hist: List[Dict[str, float]] = []
    reached = False
    step = 0
    for step in range(cfg.max_steps + 1):
        if cfg.mode == "full_batch" or step % cfg.check_every == 0 or step == cfg.max_steps:
            loss, gw, gb, correct, margin = full_pass(model, spec, cfg.clip, cfg.mode == "full_batch", lo, hi, reduce)
            hist.append({"step": step, "loss": float(loss) / n, "acc": int(correct) / n, "min_margin": float(margin)})
            if progress is not None:
                progress(hist[-1])
            if int(correct) == n:
                reached = True
                break
            if step == cfg.max_steps:
                break
        with single_thread():
            _step(model, opt, spec, cfg, gw, gb, n, gen)
    return TrainResult(model, step, reached, hist, time.perf_counter() - t0)


def _step(model, opt, spec: ExtendedSpec, cfg: ExtendedTrainConfig, gw, gb, n: int, gen) -> None:
    """One Adam step: the exact full-batch gradient, or autograd on a random index batch."""
    opt.zero_grad()
    if cfg.mode == "full_batch":
        model.conv.weight.grad = (gw / n).to(model.conv.weight.dtype).unsqueeze(1)
        if model.bias is not None:
            model.conv.bias.grad = (gb / n).to(model.conv.bias.dtype)
    else:
        idx = torch.randint(0, n, (cfg.batch_size,), generator=gen)
        x = lt_decode(spec.bases, spec.pixels, spec.offsets, idx, cfg.clip)
        y = spec.labels[idx // spec.per_base]
        F.cross_entropy(model(x), y).backward()
    opt.step()
