"""``leaderboard/diagnostics_summary.md``: one row per diagnosed model (by default the board,
defences included), joined on model id with ``shortcut.md``, with the numbers issue 6 asks for
next to each other: accuracy on the scored images, Grad-CAM background/stroke ratio on aligned vs
conflicting images, pointing game and deletion AUC with the best model-free baseline beside them
(flagged where Grad-CAM does not beat it), best colour vs digit SAE selectivity per layer, and
whether the randomisation check drops Grad-CAM's rank correlation."""
from __future__ import annotations

import math
from typing import Dict, List

import numpy as np

from ..explain.baselines import BASELINES
from ..results.record import Record
from .diagnostics_cells import fmt, mean, pooled

SUMMARY_METHOD = "gradcam"  # the seed's map (§5); the per-method numbers are in diagnostics.md
SUMMARY_SITES = ("relu1", "relu2", "relu3", "gap")  # spatial_mean sites: the seed's §8.6 layers
SUMMARY_COLS = (["model", "n", "acc aligned", "acc conflicting", "Grad-CAM bg/stroke aligned",
                 "Grad-CAM bg/stroke conflicting", "conflicting > aligned", "Grad-CAM pointing ↑ (best baseline)",
                 "Grad-CAM deletion ↓ (best baseline)"]
                + [f"{s} colour / digit" for s in SUMMARY_SITES]
                + ["colour > digit every layer", "Grad-CAM randomisation ρ head → all"])


def _versus_baselines(recs: List[Record], metric: str, lower_is_better: bool) -> str:
    """Grad-CAM's pooled metric, the best baseline's value, and ⚠ where that baseline is as good."""
    att = [r.metrics["attribution"] for r in recs]
    own = [pooled(a[SUMMARY_METHOD], metric) for a in att]
    base = {b: mean([pooled(a[b], metric) for a in att]) for b in BASELINES if all(b in a for a in att)}
    base = {b: v for b, v in base.items() if not math.isnan(v)}
    if not base:
        return fmt(own)
    pick = min if lower_is_better else max
    best = pick(base, key=base.get)
    m = mean(own)
    beats = m < base[best] if lower_is_better else m > base[best]
    return f"{fmt(own)} ({best} {base[best]:.3f}) " + ("✓" if beats else "⚠")


def _selectivity(recs: List[Record], layer: str):
    site = f"{layer}/spatial_mean"
    s = [r.metrics["sae"]["sites"].get(site) for r in recs]
    if not all(s):
        return "–", None
    col, dig = mean([x["best_colour"] for x in s]), mean([x["best_digit"] for x in s])
    return f"{col:.2f} / {dig:.2f}", col > dig


def _randomisation(recs: List[Record]) -> str:
    rs = [r.metrics["randomisation"].get(SUMMARY_METHOD) for r in recs]
    if not all(rs):
        return "–"
    rho = np.array([x["spearman"] for x in rs], dtype=float)
    first, last = np.nanmean(rho[:, 0]), np.nanmean(rho[:, -1])
    sob = mean([x["baselines"].get("sobel") for x in rs])
    return f"{first:.2f} → {last:.2f} " + ("✓ falls" if last < first and last < sob else "⚠ does not fall")


def summary_row(model_id: str, recs: List[Record]) -> List[str]:
    att = [r.metrics["attribution"] for r in recs]
    g = [a[SUMMARY_METHOD] for a in att]
    pairs = [(e.get("ratio_aligned"), e.get("ratio_conflicting")) for e in g]
    pairs = [(a, c) for a, c in pairs if a is not None and c is not None]  # None: map 0 on the stroke
    wins = f"{sum(c > a for a, c in pairs)}/{len(pairs)} seeds" if pairs else "– (map 0 on the stroke)"
    sel = [_selectivity(recs, layer) for layer in SUMMARY_SITES]
    flags = [ok for _, ok in sel if ok is not None]
    every = ("✓" if all(flags) else "✗") if flags else "–"
    return ([model_id, str(len(recs)), fmt([a["acc_aligned"] for a in att]), fmt([a["acc_conflicting"] for a in att]),
             fmt([e["ratio_aligned"] for e in g]), fmt([e["ratio_conflicting"] for e in g]), wins,
             _versus_baselines(recs, "pointing", False), _versus_baselines(recs, "deletion", True)]
            + [cell for cell, _ in sel] + [every, _randomisation(recs)])


def summary_rows(by_model: Dict[str, List[Record]]) -> List[List[str]]:
    """ERM first (the reference), then the other models by name."""
    order = sorted(by_model, key=lambda m: (not m.endswith(".erm"), m))
    return [summary_row(m, sorted(by_model[m], key=lambda r: r.seed)) for m in order
            if all(SUMMARY_METHOD in r.metrics["attribution"] for r in by_model[m])]
