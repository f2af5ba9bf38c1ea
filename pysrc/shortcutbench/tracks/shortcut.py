"""The ``shortcut`` track (seed 000 §2–3): does the model read colour instead of shape?

Every model is trained on the skewed Colored-MNIST train split and scored on the easy (aligned)
and hard (all-conflicting) splits of held-out digits; see :mod:`shortcutbench.metrics` for the
exact definition of each number. The track scores the shipped seed-regime zoo
(:mod:`.shortcut_zoo`); the trained-here protocols below (``PROTOCOLS``, the 5,000 embedded
digits) still define the zoo entries the other tracks train and evaluate until they move onto the
shipped zoo too.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Tuple

from ..data import ColoredMNISTConfig
from ..data.colored_mnist import ColoredMNIST
from ..results.record import Record
from ..results.tables import Table
from ..train import METHODS, TrainConfig
from ..zoo import ZooSpec, load_or_train
from ..zoo.evaluator import epoch_evaluator
from ..utils.config import split_list
from .base import TRACKS, RunContext, Track, select_profile
from .common import colored_mnist
from .shortcut_zoo import ZOO_PROTOCOLS, run_shipped, score_zoo


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


def option_methods(value: Optional[str], default: Tuple[str, ...]) -> Tuple[str, ...]:
    if not value:
        return default
    names = split_list(value)
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
        """Not ranked overall yet: the other tracks still evaluate the older zoo trained on the 5,000
        embedded digits under the same ``lazy_cnn.*`` names, and the overall table would average
        two different models as one."""
        return False

    def protocol(self, ctx: RunContext):
        return ZOO_PROTOCOLS[ctx.profile]

    def evaluate(self, model, ctx: RunContext):
        protocol = ZOO_PROTOCOLS[ctx.profile]
        return score_zoo(model, colored_mnist(ctx.mnist_dir, protocol.data), protocol)

    def run(self, ctx: RunContext) -> Iterable[Record]:
        """Every shipped model of the zoo catalogue (seeds up to the profile's), scored; nothing is
        trained here (``shortcutbench zoo train`` trains). ``--set methods=a,b`` restricts the
        methods, ``--set models=PATTERN,…`` the model names (fnmatch)."""
        methods = ctx.options.get("methods")
        models = split_list(ctx.options.get("models", ""))
        yield from run_shipped(self.name, ctx, option_methods(methods, ()) if methods else None, models)

    # ---------------------------------------------------------------- rendering
    def render(self, records: List[Record], out_dir: Path) -> List[Table]:
        """Tables of the shipped-zoo protocols only (records of the older trained-here protocols,
        e.g. shortcut.full.v3 on the 5,000 embedded digits, are not comparable and not shown)."""
        from .shortcut_zoo_render import render_zoo

        current = {p.name for p in ZOO_PROTOCOLS.values()}
        records = select_profile([r for r in records if r.protocol in current])
        return render_zoo(self.title, records, Path(out_dir) / "figures" / self.name) if records else []
