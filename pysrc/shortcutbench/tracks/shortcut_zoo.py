"""The shortcut track on the shipped seed-regime zoo (:mod:`shortcutbench.zoo.catalogue`):
every shipped model is loaded (hash checked), never trained, and scored on full-MNIST
Colored-MNIST. Records carry the model's budget (samples, steps, seed-epochs), its matched
control and, per held-out digit, how many of its 9 hard images it got right, so tables can
resample test digits and seeds for their intervals."""
from __future__ import annotations

import sys
import time
from fnmatch import fnmatchcase
from dataclasses import asdict, dataclass, replace
from typing import Dict, Iterator, Optional, Sequence, Tuple

import torch

from ..data import ColoredMNISTConfig
from ..data.colored_mnist import NUM_CLASSES, ColoredMNIST
from ..errors import UsageError
from ..metrics import accuracy, predict_logits, shortcut_metrics
from ..results.record import Record, make_record
from ..zoo import catalogue as cat
from ..zoo.shipped import is_shipped, load_record, load_shipped_model


@dataclass(frozen=True)
class ZooProtocol:
    """Frozen scoring preset of the shipped zoo. ``eval_digits_per_class``: held-out test digits
    per class scored (None: all 10,000, hard = 90,000 images); ``probe_digits``: digits in the
    recolour probe; ``train_fit_images``: training images in the train-fit numbers (every
    conflicting one, the aligned ones subsampled to this many)."""

    name: str
    seeds: int
    data: ColoredMNISTConfig = cat.SEED_DATA
    eval_digits_per_class: Optional[int] = None
    probe_digits: int = 2000
    train_fit_images: int = 10000


ZOO_PROTOCOLS: Dict[str, ZooProtocol] = {
    "quick": ZooProtocol("shortcut.quick.v3", seeds=1, eval_digits_per_class=100, probe_digits=500,
                         train_fit_images=2000),
    "full": ZooProtocol("shortcut.full.v4", seeds=5),
}


def scoring_view(data: ColoredMNIST, digits_per_class: Optional[int]) -> ColoredMNIST:
    """``data`` with easy/hard cut to the first ``digits_per_class`` test digits of each class
    (hard keeps all 9 colours of each kept digit)."""
    if digits_per_class is None:
        return data
    easy = data["easy"]
    keep = torch.cat([torch.nonzero(easy.digit == d).flatten()[:digits_per_class] for d in range(NUM_CLASSES)])
    hard_idx = (keep[:, None] * (NUM_CLASSES - 1) + torch.arange(NUM_CLASSES - 1)).flatten()
    splits = {**data.splits, "easy": easy.take(keep, "easy"), "hard": data["hard"].take(hard_idx, "hard")}
    return replace(data, splits=splits)


def train_fit(model, data: ColoredMNIST, aligned_images: int) -> Dict[str, Optional[float]]:
    train = data["train"]
    aligned = torch.nonzero(train.aligned).flatten()
    aligned = aligned[:: max(1, aligned.numel() // aligned_images)]
    out = {}
    for name, idx in (("train_aligned_acc", aligned), ("train_conflicting_acc", torch.nonzero(~train.aligned).flatten())):
        part = train.take(idx, name)
        out[name] = accuracy(predict_logits(model, part).argmax(1), part) if len(part) else None
    return out


def score_zoo(model, data: ColoredMNIST, protocol: ZooProtocol) -> Dict[str, object]:
    view = scoring_view(data, protocol.eval_digits_per_class)
    return {**shortcut_metrics(model, view, probe_digits=protocol.probe_digits),
            **train_fit(model, data, protocol.train_fit_images)}


def shipped_models(methods: Optional[Tuple[str, ...]], seeds: Sequence[int],
                   models: Tuple[str, ...] = ()) -> Iterator[Tuple[str, cat.ZooRun, int, int]]:
    """(name, run, epoch, seed) of every catalogue model (restricted to ``methods`` and to names
    matching a ``models`` fnmatch pattern), for each of ``seeds`` below the run's seed count."""
    for name, (run, epoch) in cat.shipped_names().items():
        if (methods is None or run.method in methods) and (not models or any(fnmatchcase(name, p) for p in models)):
            for seed in (s for s in seeds if s < run.seeds):
                yield name, run, epoch, seed


def _scored(track_name: str, ctx, protocol: ZooProtocol, rescore: bool) -> Dict[Tuple[str, int], Tuple[str, str]]:
    """(model, seed) → (weights hash, data fingerprint) of the records already stored under this
    protocol: a frozen protocol scores the same weights on the same data to the same numbers, so
    those are not scored again (``--set rescore=1`` scores everything)."""
    from ..results import Store

    if rescore:
        return {}
    return {(r.model_id, r.seed): (r.config.get("weights_sha256"), r.data_fingerprint)
            for r in Store.in_dir(ctx.out_dir).query(track_name) if r.protocol == protocol.name}


def _control(run: cat.ZooRun) -> Optional[str]:
    """The matched control a run's Δ is taken against; controls themselves have none."""
    if run.group in ("main", "defence") or (run.group == "rho" and run.method not in ("erm", "erm_adam")):
        return cat.matched_control(run.method, run.rho_tag)
    return None


def run_shipped(track_name: str, ctx, protocol: ZooProtocol, methods: Optional[Tuple[str, ...]],
                models: Tuple[str, ...] = (), rescore: bool = False) -> Iterator[Record]:
    from .common import colored_mnist

    scored = _scored(track_name, ctx, protocol, rescore)
    missing = []
    selected = list(shipped_models(methods, ctx.seed_list(protocol.seeds), models))
    if models and not selected:
        raise UsageError(f"models={','.join(models)} matches no zoo model (see: shortcutbench zoo list)")
    for name, run, epoch, seed in selected:
        if not is_shipped(name, seed):
            missing.append(f"{name}/{seed}")
            continue
        # each run is scored on its own data (the repetition runs on the embedded digits)
        data = colored_mnist(ctx.mnist_dir if run.data.digits == "mnist" else None, run.data)
        if scored.get((name, seed)) == (load_record(name, seed)["sha256"], data.fingerprint):
            continue
        t0 = time.perf_counter()
        model, rec = load_shipped_model(name, seed)
        metrics = score_zoo(model, data, protocol)
        metrics.update({
            "method": run.method, "group": run.group, "epochs": rec["epochs"], "samples": rec["samples"],
            "steps": rec["steps"], "seed_epochs": rec["seed_epochs"], "history": rec["history"],
            "train_time_s": rec["train_time_s"], "sweep": run.group == "sweep",
            "control": _control(run),
            "eval_digits": len(metrics["hard_correct_per_digit"]),
        })
        config = {"protocol": asdict(protocol), "train": rec["train"], "hparams": rec["hparams"],
                  "zoo_key": rec["zoo_key"], "weights_sha256": rec["sha256"], "trained_at": rec["provenance"]["git_commit"],
                  "data_source": data.source}
        yield make_record(track_name, name, seed, ctx.profile, protocol.name, metrics, config, data.fingerprint,
                          time.perf_counter() - t0)
    if missing:
        print(f"shortcut: {len(missing)} catalogue model(s) not shipped, not scored "
              f"(train them: shortcutbench zoo train): {', '.join(missing[:8])}{' …' if len(missing) > 8 else ''}",
              file=sys.stderr)
