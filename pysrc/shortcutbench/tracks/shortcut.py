"""The ``shortcut`` track (seed 000 §2–3): does the model read colour instead of shape?

Every model is trained on the skewed Colored-MNIST train split and scored on the easy (aligned)
and hard (all-conflicting) splits of held-out digits; see :mod:`shortcutbench.metrics` for the
exact definition of each number.
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Tuple

import torch

from ..data import ColoredMNISTConfig
from ..data.colored_mnist import ColoredMNIST, ColoredSplit
from ..metrics import accuracy, predict_logits, shortcut_metrics, split_accuracies
from ..results.record import Record, make_record
from ..results.tables import Table
from ..train import METHODS, TrainConfig
from ..zoo import ZooSpec, load_or_train
from ..zoo.evaluator import curve_subset, epoch_evaluator  # noqa: F401  (re-exported: other tracks' entries)
from .base import TRACKS, RunContext, Track, select_profile
from .common import colored_mnist


METHODS_ALL = ("erm", "erm_adam", "dann_fixa", "saliency_bg", "saliency_stroke", "cf_invar", "group_reweight",
               "group_balanced", "group_dro", "jtt", "dfr", "irm", "lff")
# Every method is swept: one sweep row costs 8–25 CPU-s (measured, README "Shortcut track"), so
# 13 methods × 3 extra ρ × 2 seeds add ≈ 18 CPU-min to the ≈ 24 of the 5-seed main rows.
SWEEP_METHODS = METHODS_ALL


@dataclass(frozen=True)
class ShortcutProtocol:
    """A frozen protocol preset. ERM follows seed 000 §3: SGD, 4 epochs; every other method trains
    with its class's ``default_train`` (seed §6 values where given), capped at ``max_epochs``.
    The ρ sweep retrains ``sweep_methods`` on Colored-MNIST with each ρ in ``sweep_rhos`` (the
    protocol's own ρ comes from the main rows) for ``sweep_seeds`` seeds."""

    name: str
    seeds: int
    methods: Tuple[str, ...] = ("erm",)
    train: TrainConfig = TrainConfig()
    data: ColoredMNISTConfig = ColoredMNISTConfig()
    arch: str = "lazy_cnn"
    max_epochs: Optional[int] = None
    sweep_rhos: Tuple[float, ...] = ()
    sweep_methods: Tuple[str, ...] = SWEEP_METHODS
    sweep_seeds: int = 2


PROTOCOLS: Dict[str, ShortcutProtocol] = {
    "quick": ShortcutProtocol("shortcut.quick.v2", seeds=1, methods=METHODS_ALL, max_epochs=2),
    # v3: every method in the ρ sweep; saliency zoo entries v2; train-split fit in the records
    "full": ShortcutProtocol("shortcut.full.v3", seeds=5, methods=METHODS_ALL,
                             sweep_rhos=(0.9, 0.95, 0.99, 0.995)),
}


def method_train_config(protocol: ShortcutProtocol, method: str) -> TrainConfig:
    """The training schedule of ``method`` under ``protocol`` (ERM: the protocol's own)."""
    cls = METHODS.get(method)
    cfg = getattr(cls, "default_train", None) or protocol.train
    if protocol.max_epochs is not None and method != "erm":
        cfg = replace(cfg, epochs=max(min(cfg.epochs, protocol.max_epochs), getattr(cls, "min_epochs", 1)))
    return cfg


def zoo_spec(protocol: ShortcutProtocol, method: str, seed: int, tag: str = "") -> ZooSpec:
    return ZooSpec(arch=protocol.arch, method=method, train=method_train_config(protocol, method), seed=seed, tag=tag)


def zoo_specs(protocol: ShortcutProtocol, seeds: List[int]) -> List[ZooSpec]:
    """The zoo entries this protocol trains; other tracks evaluate the same entries."""
    return [zoo_spec(protocol, m, s) for m in protocol.methods for s in seeds]


def load_zoo_entry(spec: ZooSpec, data: ColoredMNIST, desc: str = "shortcut"):
    """A shortcut-track zoo entry, trained (when missing) with the track's own per-epoch history, so
    an entry is the same file whichever track builds it first (the shortcut track's curves and
    selection rules read ``hard_curve_acc`` and the val splits from it)."""
    return load_or_train(spec, data, evaluate=epoch_evaluator(data), desc=desc)


def train_fit(model, train: ColoredSplit) -> Dict[str, Optional[float]]:
    """Accuracy on the aligned and on the conflicting *training* images: a model that fits its
    counter-examples yet fails the hard split has memorised them rather than learnt shape."""
    out = {}
    for name, mask in (("train_aligned_acc", train.aligned), ("train_conflicting_acc", ~train.aligned)):
        part = train.take(mask, name)
        out[name] = accuracy(predict_logits(model, part).argmax(1), part) if len(part) else None
    return out


def score(model, data: ColoredMNIST) -> Dict[str, object]:
    """What the track measures of any model, zoo entry or submission alike."""
    return {**shortcut_metrics(model, data), **train_fit(model, data["train"])}


def option_methods(value: Optional[str], default: Tuple[str, ...]) -> Tuple[str, ...]:
    if not value:
        return default
    names = tuple(v.strip() for v in value.split(",") if v.strip())
    for n in names:
        METHODS.get(n)  # unknown method: one-line UsageError
    return names


@TRACKS.register("shortcut")
class ShortcutTrack(Track):
    name = "shortcut"
    title = "Shortcut track: Colored-MNIST, easy vs hard"
    headline_metric = "hard_acc"
    headline_rule = ("hard-split accuracy (every held-out digit in each of its 9 non-dominant colours): "
                     "the share a colour-following model gets wrong")

    def in_overall(self, record: Record) -> bool:
        """ρ-sweep models are trained and scored on another dataset than the protocol's: not ranked."""
        return not record.metrics.get("sweep")

    def evaluate(self, model, ctx: RunContext):
        return score(model, colored_mnist(ctx.mnist_dir, PROTOCOLS[ctx.profile].data))

    def run(self, ctx: RunContext) -> Iterable[Record]:
        """Main rows (every method × seed), then the ρ sweep. ``--set methods=a,b`` restricts the
        methods, ``--set sweep=0`` skips the sweep, ``--set sweep_methods=a,b`` restricts it."""
        protocol = PROTOCOLS[ctx.profile]
        methods = option_methods(ctx.options.get("methods"), protocol.methods)
        data = colored_mnist(ctx.mnist_dir, protocol.data)
        for m in methods:
            for seed in ctx.seed_list(protocol.seeds):
                yield self._train_and_score(ctx, protocol, data, zoo_spec(protocol, m, seed), history=True)
        if ctx.options.get("sweep", "1") in ("0", "false", "no"):
            return
        for rho in protocol.sweep_rhos:
            if rho == protocol.data.rho:
                continue  # the main rows are the sweep's point at the protocol's ρ
            sweep_data = colored_mnist(ctx.mnist_dir, replace(protocol.data, rho=rho))
            for m in option_methods(ctx.options.get("sweep_methods"), protocol.sweep_methods):
                if m not in methods:
                    continue
                for seed in range(min(protocol.sweep_seeds, len(ctx.seed_list(protocol.seeds)))):
                    spec = zoo_spec(protocol, m, seed, tag=f"rho{rho}")
                    yield self._train_and_score(ctx, protocol, sweep_data, spec, history=False, rho=rho)

    def _train_and_score(self, ctx, protocol, data, spec: ZooSpec, history: bool, rho: Optional[float] = None):
        t0 = time.perf_counter()
        entry = (load_zoo_entry(spec, data) if history
                 else load_or_train(spec, data, evaluate=None, desc="shortcut"))
        metrics = score(entry.model, data)
        metrics["history"] = entry.history if history else []
        metrics["hard_val_acc"] = accuracy(predict_logits(entry.model, data["hard_val"]).argmax(1), data["hard_val"])
        metrics["train_time_s"] = entry.train_time_s
        metrics["epochs"] = spec.train.epochs
        metrics["method"] = spec.method
        metrics["rho"] = protocol.data.rho if rho is None else rho
        metrics["sweep"] = rho is not None
        method = METHODS.get(spec.method)
        metrics["uses_group_labels"] = method.uses_group_labels
        metrics["uses_color_labels"] = method.uses_color_labels
        cfg = replace(protocol.data, rho=metrics["rho"])
        return make_record(self.name, spec.model_id, spec.seed, ctx.profile, protocol.name, metrics,
                           {"protocol": asdict(protocol), "data": asdict(cfg), "train": asdict(spec.train),
                            "hparams": {**method.default_hparams, **spec.hparams}, "zoo_key": entry.key,
                            "data_source": data.source}, data.fingerprint, time.perf_counter() - t0)

    # ---------------------------------------------------------------- rendering
    def render(self, records: List[Record], out_dir: Path) -> List[Table]:
        from .shortcut_render import render_shortcut

        return render_shortcut(self.title, select_profile(records), Path(out_dir) / "figures" / self.name)
