"""The ``shortcut`` track (seed 000 §2–3): does the model read colour instead of shape?

Every model is trained on the skewed Colored-MNIST train split and scored on the easy (aligned)
and hard (all-conflicting) splits of held-out digits; see :mod:`shortcutbench.metrics` for the
exact definition of each number. The track scores the shipped seed-regime zoo
(:mod:`.shortcut_zoo`, :mod:`shortcutbench.zoo.catalogue`), like every other track; nothing
trains here (``shortcutbench zoo train`` does).
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterable, List, Optional, Tuple

from ..results.record import Record
from ..results.tables import Table
from ..train import METHODS
from ..utils.config import split_list
from .base import TRACKS, RunContext, Track, select_profile
from .common import colored_mnist
from .shortcut_zoo import ZOO_PROTOCOLS, run_shipped, score_zoo


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

    def presets(self):
        return ZOO_PROTOCOLS

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

        records = select_profile(self.current(records))
        return render_zoo(self.title, records, Path(out_dir) / "figures" / self.name) if records else []
