"""Pre-training loop: any registered method, any registered architecture, deterministic per seed
(weights drawn from the seed, batch order and augmentations from two generators seeded by it),
channels_last as the zoo trains. Encoders are cached under the zoo cache (key: method, config,
seed, data fingerprint), so a second run of a profile evaluates instead of training. A run saves
its state after every epoch (``ssl-resume/`` in the cache, as the zoo's ``zoo-resume/``), so a
killed pre-training goes on from its last finished epoch with the uninterrupted run's numbers."""
from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional

import torch
import torch.nn as nn

from ..errors import UsageError
from ..models import create_model
from ..utils.atomic import atomic_torch_save, atomic_write_text
from ..utils.fingerprint import hash_config
from ..utils.progress import progress
from .methods import Batch, create_method, lr_factor

PRETRAIN_VERSION = 2  # v2: BatchNorm statistics recalibrated after training; bump when training changes meaning, so stale cached encoders are never reused


@dataclass(frozen=True)
class PretrainConfig:
    arch: str = "resnet_small"
    epochs: int = 10
    batch_size: int = 256
    train_size: Optional[int] = None  # the first n of a fixed permutation of train; None: all of it
    channels_last: bool = True
    lr_scale: float = 1.0  # multiplies the method's learning rate (1: the paper's)


@dataclass
class Pretrained:
    model: nn.Module  # eval mode; ``features`` is the encoder, ``fc`` the supervised methods' head
    history: List[Dict[str, float]]  # per epoch: mean loss, seconds
    train_time_s: float
    cached: bool = False


def encoder_method(method: str) -> str:
    """The method whose encoder ``method`` reads (linear-separated supervised: supervised's)."""
    return create_method(method).encoder_of or method


def _pool(split, n: Optional[int]) -> torch.Tensor:
    idx = torch.randperm(len(split), generator=torch.Generator().manual_seed(0))
    return idx if n is None else idx[:n]


def _save_resume(path: Path, model, heads, opt, gens, step: int, history, elapsed: float) -> None:
    atomic_torch_save(path, {"model": model.state_dict(), "heads": heads.state_dict(), "opt": opt.state_dict(),
                             "gens": [g.get_state() for g in gens], "step": step, "history": history,
                             "elapsed": elapsed})


def _load_resume(path: Path, model, heads, opt, gens):
    # tensors and plain containers only: the weights-only unpickler reads it
    saved = torch.load(path, map_location="cpu", weights_only=True)
    model.load_state_dict(saved["model"])
    heads.load_state_dict(saved["heads"])
    opt.load_state_dict(saved["opt"])
    for g, state in zip(gens, saved["gens"]):
        g.set_state(state)
    return saved["step"], saved["history"], saved["elapsed"]


def pretrain(method_name: str, data, cfg: PretrainConfig, seed: int, desc: str = "pretrain",
             resume_path: Optional[Path] = None) -> Pretrained:
    method = create_method(method_name)
    train = data["train"]
    pool = _pool(train, cfg.train_size)
    labels = train.digit[pool]
    by_class = [pool[labels == c] for c in range(int(labels.max()) + 1)]
    model = create_model(cfg.arch, seed=seed, in_channels=data.in_channels)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed + 1)
        heads = method.heads(model.feature_dim)
    if cfg.channels_last:
        model = model.to(memory_format=torch.channels_last)
    params = list(model.parameters()) + list(heads.parameters())
    opt = method.optimizer(params, cfg.batch_size)
    base_lr = [g["lr"] * cfg.lr_scale for g in opt.param_groups]
    order_gen, aug_gen = torch.Generator().manual_seed(seed), torch.Generator().manual_seed(seed + 10_000)

    def images(idx: torch.Tensor) -> torch.Tensor:
        x = train.images(idx)
        return x.contiguous(memory_format=torch.channels_last) if cfg.channels_last else x

    def same_class(y: torch.Tensor) -> torch.Tensor:
        picks = [by_class[c][torch.randint(len(by_class[c]), (1,), generator=aug_gen)] for c in y.tolist()]
        return images(torch.cat(picks))

    steps_per_epoch = len(pool) // cfg.batch_size  # last incomplete batch dropped (BatchNorm, negatives)
    if steps_per_epoch == 0:
        raise UsageError(f"pre-training needs at least batch_size = {cfg.batch_size} training images, got {len(pool)}")
    total = cfg.epochs * steps_per_epoch
    history: List[Dict[str, float]] = []
    step, elapsed = 0, 0.0
    if resume_path is not None and Path(resume_path).is_file():
        step, history, elapsed = _load_resume(Path(resume_path), model, heads, opt, (order_gen, aug_gen))
    model.train(), heads.train()
    for epoch in progress(range(len(history), cfg.epochs), desc=desc, total=cfg.epochs - len(history)):
        t0, c0, losses = time.perf_counter(), time.process_time(), []
        perm = pool[torch.randperm(len(pool), generator=order_gen)]
        for b in range(steps_per_epoch):
            idx = perm[b * cfg.batch_size:(b + 1) * cfg.batch_size]
            for g, lr in zip(opt.param_groups, base_lr):
                g["lr"] = lr * lr_factor(method.schedule, step, total)
            loss = method.loss(model, heads, Batch(images(idx), train.digit[idx], aug_gen, same_class), data)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            losses.append(loss.item())
            step += 1
        history.append({"epoch": epoch + 1, "loss": sum(losses) / max(len(losses), 1),
                        "first_loss": losses[0] if losses else float("nan"), "seconds": time.perf_counter() - t0,
                        "cpu_s": time.process_time() - c0, "steps": steps_per_epoch})
        elapsed += history[-1]["seconds"]
        if resume_path is not None:
            _save_resume(Path(resume_path), model, heads, opt, (order_gen, aug_gen), step, history, elapsed)
    model = model.to(memory_format=torch.contiguous_format)
    recalibrate_batchnorm(model, train.images(pool[:BN_IMAGES]))
    return Pretrained(model.eval(), history, elapsed)


BN_IMAGES = 2048


@torch.no_grad()
def recalibrate_batchnorm(model: nn.Module, x: torch.Tensor, batch: int = 256) -> None:
    """Replace BatchNorm's running averages by the exact mean / variance of the final weights'
    activations on ``x`` (clean training images), as "precise BN" (Wu & Johnson 2021): after a
    short run the momentum-0.1 averages still lag the weights, and eval mode then predicts one
    class (seen in the quick profile's 16-step supervised encoders)."""
    bns = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    if not bns or len(x) == 0:
        return
    saved = [m.momentum for m in bns]
    for m in bns:
        m.reset_running_stats()
        m.momentum = None  # cumulative average over the batches below
    model.train()
    for i in range(0, len(x), batch):
        model(x[i:i + batch])
    for m, mom in zip(bns, saved):
        m.momentum = mom


def cache_key(method: str, data, cfg: PretrainConfig, seed: int) -> str:
    return hash_config({"method": encoder_method(method), "cfg": asdict(cfg), "seed": seed, "data": data.fingerprint,
                        "version": PRETRAIN_VERSION}, n=20)


def load_or_pretrain(method: str, data, cfg: PretrainConfig, seed: int) -> Pretrained:
    """The encoder of ``method`` (shared by methods that reuse another's), from the cache or trained."""
    from ..zoo.spec import cache_dir

    name = encoder_method(method)
    key = cache_key(method, data, cfg, seed)
    weights, meta = cache_dir() / "ssl" / f"{key}.pt", cache_dir() / "ssl" / f"{key}.json"
    if weights.is_file() and meta.is_file():
        model = create_model(cfg.arch, in_channels=data.in_channels)
        model.load_state_dict(torch.load(weights, map_location="cpu", weights_only=True))
        info: Dict[str, Any] = json.loads(meta.read_text())
        return Pretrained(model.eval(), info["history"], info["train_time_s"], cached=True)
    resume = cache_dir() / "ssl-resume" / f"{key}.pt"
    res = pretrain(name, data, cfg, seed, desc=f"{name} seed {seed}", resume_path=resume)
    atomic_torch_save(weights, res.model.state_dict())
    atomic_write_text(meta, json.dumps({"method": name, "config": asdict(cfg), "seed": seed, "data": data.fingerprint,
                                        "history": res.history, "train_time_s": res.train_time_s}, sort_keys=True))
    resume.unlink(missing_ok=True)
    return res
