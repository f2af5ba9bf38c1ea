"""``shortcutbench zoo train``: train catalogue runs into shipped weights, sharded and resumable.

Jobs are (run, seed) pairs in catalogue order. ``--shard i/n`` (or torchrun's RANK/WORLD_SIZE)
takes every n-th job from the i-th, so n one-thread processes split the zoo without talking to
each other. Each job checkpoints after every epoch into the cache (``zoo-resume/``); a killed
job restarts from its last epoch and gives the same weights as an uninterrupted one. A job
whose weights are all shipped is skipped unless ``retrain``.
"""
from __future__ import annotations

import fnmatch
import os
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

import torch

from ..errors import UsageError
from ..models import create_model
from ..train import METHODS, fit
from ..utils.environment import provenance
from ..utils.progress import progress
from . import catalogue as cat
from .evaluator import epoch_evaluator
from .shipped import is_shipped, save_shipped
from .spec import ZooSpec, cache_dir

Job = Tuple[cat.ZooRun, int]


def parse_shard(text: Optional[str]) -> Tuple[int, int]:
    """``"i/n"`` → (i, n); None → torchrun's RANK/WORLD_SIZE, else (0, 1)."""
    if text is None:
        return int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1))
    try:
        i, n = (int(v) for v in text.split("/"))
    except ValueError:
        raise UsageError(f"--shard must be i/n with integers, got {text!r}") from None
    if not (n >= 1 and 0 <= i < n):
        raise UsageError(f"--shard {text}: need 0 <= i < n")
    return i, n


def select_jobs(only: Sequence[str] = (), groups: Sequence[str] = (), seeds: Optional[int] = None,
                shard: Tuple[int, int] = (0, 1)) -> List[Job]:
    """Catalogue jobs whose run or shipped names match a pattern in ``only`` (fnmatch), in
    ``groups``, with seed < ``seeds``, then this shard's share."""
    runs = list(cat.CATALOGUE)
    if only:
        def matches(run: cat.ZooRun) -> bool:
            names = [run.run] + [n for n, _ in run.snapshots]
            return any(fnmatch.fnmatchcase(n, p) for p in only for n in names)
        runs = [r for r in runs if matches(r)]
        if not runs:
            raise UsageError(f"--only {','.join(only)} matches no zoo run (see: shortcutbench zoo list)")
    if groups:
        known = {r.group for r in cat.CATALOGUE}
        unknown = sorted(set(groups) - known)
        if unknown:
            raise UsageError(f"--group {','.join(unknown)}: no such group (groups: {', '.join(sorted(known))})")
        runs = [r for r in runs if r.group in groups]
    picked = [(r, s) for r, s in cat.jobs(runs) if seeds is None or s < seeds]
    i, n = shard
    return picked[i::n]


def _spec(run: cat.ZooRun, seed: int) -> ZooSpec:
    return ZooSpec(arch=run.arch, method=run.method, train=run.train, hparams=dict(run.hparams), seed=seed,
                   tag=run.tag)


def snapshot_record(run: cat.ZooRun, seed: int, epoch: int, key: str, data, history: List[Dict[str, Any]],
                    prov: Dict[str, Any]) -> Dict[str, Any]:
    cfg = run.train
    return {
        "run": run.run, "method": run.method, "group": run.group, "arch": run.arch,
        "epochs": epoch, "steps": epoch * cfg.steps_per_epoch, "samples": epoch * cfg.steps_per_epoch * cfg.batch_size,
        "seed_epochs": epoch * cfg.steps_per_epoch * cfg.batch_size / cat.SEED_EPOCH_SAMPLES,
        "train": {**asdict(cfg), "epochs": epoch}, "run_epochs": cfg.epochs,
        "hparams": {**METHODS.get(run.method).default_hparams, **run.hparams},
        "zoo_key": key, "data": {"fingerprint": data.fingerprint, "source": data.source,
                                 "config": asdict(data.config), "train_size": len(data["train"])},
        "history": history[:epoch], "train_time_s": history[epoch - 1].get("train_time_s"),
        "provenance": prov,
    }


def train_job(run: cat.ZooRun, seed: int, data, root: Optional[Path] = None, retrain: bool = False) -> bool:
    """Train one (run, seed) and ship its snapshots; False when already shipped (skipped)."""
    if not retrain and all(is_shipped(name, seed, root) for name, _ in run.snapshots):
        return False
    spec = _spec(run, seed)
    key = spec.key(data.fingerprint)
    resume = cache_dir() / "zoo-resume" / f"{key}.pt"
    if retrain and resume.exists():
        resume.unlink()
    model = create_model(spec.arch, seed=seed, **spec.arch_kwargs)
    res = fit(model, run.method, data, run.train, seed, evaluate=epoch_evaluator(data, train_curve=True),
              hparams=spec.hparams, desc=f"{run.run} seed {seed}", resume_path=resume)
    prov = provenance()
    for name, epoch in run.snapshots:
        save_shipped(name, seed, res.checkpoints[epoch - 1],
                     snapshot_record(run, seed, epoch, key, data, res.history, prov), root)
    resume.unlink(missing_ok=True)
    return True


def train_zoo(jobs: Sequence[Job], mnist_dir: Optional[str] = None, root: Optional[Path] = None,
              retrain: bool = False, threads: int = 1) -> Dict[str, int]:
    from ..data.colored_mnist import cached_colored_mnist as colored_mnist

    torch.set_num_threads(threads)
    done = skipped = 0
    t0 = time.perf_counter()
    for run, seed in progress(jobs, desc="zoo", total=len(jobs), leave=True):
        data = colored_mnist(mnist_dir if run.data.digits == "mnist" else None, run.data)
        if train_job(run, seed, data, root, retrain):
            done += 1
        else:
            skipped += 1
    return {"trained": done, "skipped": skipped, "wall_s": int(time.perf_counter() - t0)}
