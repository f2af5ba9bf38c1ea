"""The ``shortcut`` track (seed 000 §2–3): does the model read colour instead of shape?

Every model is trained on the skewed Colored-MNIST train split and scored on the easy (aligned)
and hard (all-conflicting) splits of held-out digits; see :mod:`shortcutbench.metrics` for the
exact definition of each number. The track scores the shipped seed-regime zoo
(:mod:`.shortcut_zoo`, :mod:`shortcutbench.zoo.catalogue`), like every other track; nothing
trains here (``shortcutbench zoo train`` does).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, List, Optional, Tuple

from ..results.record import Record
from ..results.tables import Table
from ..train import METHODS
from .base import TRACKS, RunContext, Track, select_profile
from .common import colored_mnist
from .options import TrackOptions, option, positive, registered
from .shortcut_zoo import ZOO_PROTOCOLS, run_shipped, score_zoo


@dataclass(frozen=True)
class ShortcutOptions(TrackOptions):
    methods: Optional[Tuple[str, ...]] = option("score only these training methods", run=True, check=registered(METHODS))
    models: Optional[Tuple[str, ...]] = option("score only shipped models matching these fnmatch patterns", run=True)
    rescore: Optional[bool] = option("score models already stored under this protocol again", run=True)
    eval_digits_per_class: Optional[int] = option("held-out test digits per class scored", check=positive)
    probe_digits: Optional[int] = option("digits in the recolour probe", check=positive)
    train_fit_images: Optional[int] = option("aligned training images in the train-fit numbers", check=positive)


@TRACKS.register("shortcut")
class ShortcutTrack(Track):
    name = "shortcut"
    title = "Shortcut track: Colored-MNIST, easy vs hard"
    headline_metric = "hard_acc"
    headline_rule = ("hard-split accuracy (every held-out digit in each of its 9 non-dominant colours): "
                     "the share a colour-following model gets wrong")
    options_type = ShortcutOptions

    def presets(self):
        return ZOO_PROTOCOLS

    def evaluate(self, model, ctx: RunContext):
        protocol = self.protocol(ctx)
        return score_zoo(model, colored_mnist(ctx.mnist_dir, protocol.data), protocol)

    def run(self, ctx: RunContext) -> Iterable[Record]:
        """Every shipped model of the zoo catalogue (seeds up to the profile's), scored; nothing is
        trained here (``shortcutbench zoo train`` trains). ``--set methods=a,b`` restricts the
        methods, ``--set models=PATTERN,…`` the model names (fnmatch)."""
        opts = self.options(ctx)
        yield from run_shipped(self.name, ctx, self.protocol(ctx), opts.methods, opts.models or (), bool(opts.rescore))

    # ---------------------------------------------------------------- rendering
    def render(self, records: List[Record], out_dir: Path) -> List[Table]:
        """Tables of the shipped-zoo protocols only (records of the older trained-here protocols,
        e.g. shortcut.full.v3 on the 5,000 embedded digits, are not comparable and not shown)."""
        from .shortcut_zoo_render import render_zoo

        records = select_profile(self.current(records))
        return render_zoo(self.title, records, Path(out_dir) / "figures" / self.name) if records else []
