"""The ``shortcut`` track (seed 000 §2–3): does the model read colour instead of shape?

Every model is trained on the skewed Colored-MNIST train split and scored on the easy (aligned)
and hard (all-conflicting) splits of held-out digits; see :mod:`shortcutbench.metrics` for the
exact definition of each number.
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path
from typing import Dict, Iterable, List, Tuple

import numpy as np

from ..data import COLOR_NAMES, ColoredMNISTConfig
from ..metrics import shortcut_metrics, split_accuracies
from ..results import plots
from ..results.record import Record, make_record
from ..results.stats import fmt_pct, mean_se
from ..results.tables import Table
from ..train import METHODS, TrainConfig
from ..zoo import ZooSpec, load_or_train
from .base import TRACKS, RunContext, Track, select_profile
from .common import colored_mnist


@dataclass(frozen=True)
class ShortcutProtocol:
    """A frozen protocol preset. ERM follows seed 000 §3: SGD, 4 epochs."""

    name: str
    seeds: int
    methods: Tuple[str, ...] = ("erm",)
    train: TrainConfig = TrainConfig()
    data: ColoredMNISTConfig = ColoredMNISTConfig()
    arch: str = "lazy_cnn"


PROTOCOLS: Dict[str, ShortcutProtocol] = {
    "quick": ShortcutProtocol("shortcut.quick.v1", seeds=1),
    "full": ShortcutProtocol("shortcut.full.v1", seeds=5),
}


def zoo_specs(protocol: ShortcutProtocol, seeds: List[int]) -> List[ZooSpec]:
    """The zoo entries this protocol trains; other tracks evaluate the same entries."""
    return [ZooSpec(arch=protocol.arch, method=m, train=protocol.train, seed=s) for m in protocol.methods for s in seeds]


@TRACKS.register("shortcut")
class ShortcutTrack(Track):
    name = "shortcut"
    title = "Shortcut track: Colored-MNIST, easy vs hard"
    headline_metric = "hard_acc"

    def evaluate(self, model, ctx: RunContext):
        return shortcut_metrics(model, colored_mnist(ctx.mnist_dir, PROTOCOLS[ctx.profile].data))

    def run(self, ctx: RunContext) -> Iterable[Record]:
        protocol = PROTOCOLS[ctx.profile]
        data = colored_mnist(ctx.mnist_dir, protocol.data)
        for spec in zoo_specs(protocol, ctx.seed_list(protocol.seeds)):
            t0 = time.perf_counter()
            entry = load_or_train(spec, data, evaluate=partial(split_accuracies, data=data), desc="shortcut")
            metrics = self.evaluate(entry.model, ctx)
            metrics["history"] = entry.history
            metrics["train_time_s"] = entry.train_time_s
            method = METHODS.get(spec.method)
            metrics["uses_group_labels"] = method.uses_group_labels
            metrics["uses_color_labels"] = method.uses_color_labels
            yield make_record(self.name, spec.model_id, spec.seed, ctx.profile, protocol.name, metrics,
                              {"protocol": asdict(protocol), "zoo_key": entry.key, "data_source": data.source},
                              data.fingerprint, time.perf_counter() - t0)

    # ---------------------------------------------------------------- rendering
    def render(self, records: List[Record], out_dir: Path) -> List[Table]:
        records = select_profile(records)
        by_model: Dict[str, List[Record]] = {}
        for r in records:
            by_model.setdefault(r.model_id, []).append(r)
        fig_dir = Path(out_dir) / "figures" / self.name
        cols = ["model", "profile", "seeds", "easy acc", "hard acc", "gap (pp)", "aligned acc", "conflicting acc",
                "group-mean acc", "worst-group acc", "worst-class acc", "colour-following", "recolour probe",
                "train time (s)", "labels used"]
        rows, probe_rows, figures = [], [], []
        for model_id, recs in sorted(by_model.items()):
            m = [r.metrics for r in recs]

            def cell(key: str) -> str:
                return fmt_pct(*mean_se([x[key] for x in m]))

            labels = [k for k, flag in (("group", m[0]["uses_group_labels"]), ("colour", m[0]["uses_color_labels"]))
                      if flag] or ["none"]
            tt = mean_se([x["train_time_s"] for x in m if x.get("train_time_s") is not None])  # none for submissions
            rows.append([model_id, recs[0].profile, str(len(recs)), cell("easy_acc"), cell("hard_acc"), cell("gap"),
                         cell("aligned_acc"), cell("conflicting_acc"), cell("group_mean_acc"), cell("worst_group_acc"),
                         cell("worst_class_acc"), cell("color_following_rate"), cell("recolor_probe_mean"),
                         f"{tt[0]:.1f}" if tt[0] == tt[0] else "–", "+".join(labels)])
            probe_rows.append([model_id] + [fmt_pct(*mean_se([x["recolor_probe"][c] for x in m])) for c in COLOR_NAMES])
            figures += self._figures(model_id, recs, fig_dir)
        protocol = records[0].config["protocol"] if records else {}
        notes = [
            f"Protocol `{records[0].protocol if records else '-'}`: lazy CNN (seed 000 §3.2), "
            f"SGD lr {protocol.get('train', {}).get('lr')}, momentum {protocol.get('train', {}).get('momentum')}, "
            f"batch {protocol.get('train', {}).get('batch_size')}, {protocol.get('train', {}).get('epochs')} epochs, "
            f"last-epoch model; Colored-MNIST ρ = {protocol.get('data', {}).get('rho')}, stroke coloured, data seed "
            f"{protocol.get('data', {}).get('data_seed')}; source `{records[0].config.get('data_source') if records else '-'}`, "
            f"data fingerprint `{records[0].data_fingerprint if records else '-'}`.",
            "Cells: mean ± standard error over training seeds (sample std, ddof = 1, / √n), in %.",
            "easy/hard acc: accuracy over the images of the split; aligned acc: unweighted mean over the 10 "
            "(digit, dominant colour) cells; conflicting acc: unweighted mean over the 90 conflicting cells; "
            "group-mean acc: unweighted mean over all 100 cells; worst-group: minimum over the 90 conflicting cells; "
            "worst-class: minimum over digits of hard accuracy; colour-following: share of hard images predicted as "
            "the class whose dominant colour they wear; recolour probe: mean over the 10 colours c of the share of "
            "held-out digits of classes ≠ c that, painted c, are predicted as class c (per colour below).",
        ]
        main = Table("shortcut", self.title, cols, rows, notes, figures)
        probe = Table("shortcut_recolor_probe", "Shortcut track: recolour probe per colour (seed 000 §3.5)",
                      ["model"] + [f"→ {c}" for c in COLOR_NAMES], probe_rows,
                      ["Share (%) of held-out digits of classes ≠ c predicted as class c after being painted in "
                       "colour c (the dominant colour of digit c); mean ± SE over seeds. The seed reports that "
                       "every digit recoloured green went to class 1."])
        return [main, probe]

    def _figures(self, model_id: str, recs: List[Record], fig_dir: Path) -> List[str]:
        conf = np.sum([np.asarray(r.metrics["hard_confusion"]) for r in recs], axis=0)
        conf_path = fig_dir / f"{model_id}_hard_confusion.png"
        plots.heatmap(conf, conf_path, f"{model_id}: hard-split confusion (summed over {len(recs)} seed{'s' if len(recs) > 1 else ''})",
                      "predicted class", "true digit")
        if not all(r.metrics.get("history") for r in recs):  # submitted models come without training curves
            return [str(conf_path.relative_to(fig_dir.parent.parent))]
        series = {}
        for key, label in (("easy_acc", "easy"), ("hard_acc", "hard"), ("val_acc", "val (skewed)")):
            per_seed = np.array([[h[key] for h in r.metrics["history"]] for r in recs])
            se = per_seed.std(axis=0, ddof=1) / np.sqrt(len(recs)) if len(recs) > 1 else None
            series[label] = {"x": np.arange(1, per_seed.shape[1] + 1), "mean": per_seed.mean(axis=0), "se": se}
        curve_path = fig_dir / f"{model_id}_curves.png"
        plots.curves(series, curve_path, f"{model_id}: accuracy per epoch (mean ± SE over {len(recs)} seeds)",
                     "epoch", "accuracy", hline=0.1)
        return [str(p.relative_to(fig_dir.parent.parent)) for p in (conf_path, curve_path)]
