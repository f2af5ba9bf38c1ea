"""The ``attack`` track (seeds 000 §7, 001 §2.1–2.2, 003 Q5): how small a perturbation flips a
model — untargeted robust accuracy under FGSM, PGD-40 and the AutoAttack-style ``standard``
cascade at several ℓ∞ and ℓ2 radii, and the targeted 7→3 minimal-ε study of seed 000 §7.

Models: shipped zoo weights only (:mod:`shortcutbench.zoo.catalogue`; nothing trains here). The
full profile attacks the board's models (every seed-budget method and defence and their controls,
training seed 0 unless ``--seeds``); the quick profile a small set (DEFAULT_MODELS); ``--set
models=PATTERN,…`` names shipped models (fnmatch), ``models=all`` the board. Inputs: fixed, class- and
colour-stratified subsets of the hard split (every digit in a non-dominant colour) and of the
easy split.

The 7→3 study attacks *reference images*: the source-class images that every model of the
protocol's frozen ``compared`` set (seed 000 §7.4: the baseline and the seed's three mitigations)
classifies correctly with high confidence. Every other zoo model and every submission is attacked
on the same images, restricted to those *it* classifies correctly and confidently (its own mask;
a row over fewer than all reference images is outside the fair comparison). Zoo entries and
submissions share one code path (``evaluate``) and one image set, and the set never depends on
which models a run evaluates.
"""
from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Tuple

import numpy as np
import torch
import torch.nn as nn

from ..attacks import FGSM, PGD, Cascade, MinEpsSearch, masking_flag, model_flags, standard_stages, success_curve
from ..data import ColoredMNISTConfig
from ..errors import UsageError
from ..results import plots
from ..results.cell_log import CellLog
from ..results.record import Record, make_record
from ..results.stats import accuracy_interval, fmt_interval, fmt_pct, mean_se
from ..results.tables import Table
from ..zoo import catalogue as cat
from ..zoo.select import resolve_models, shipped_pairs
from ..zoo.shipped import load_shipped_model
from .base import TRACKS, RunContext, Track, select_profile, records_by_model
from .common import colored_mnist, missing_board_note
from .options import each, options_for, option, positive, zoo_models

BASELINE = "lazy_cnn.erm"
# Seed 000 §7.4: the fair 7→3 selection is over "ALL models (baseline + 3 robust models)": ERM and
# the seed's DANN (our dann_fixa), saliency-masked (saliency_bg) and CF-INVAR models.
SEED_COMPARED = cat.SEED_STUDY
COMPARED_SEED = 0  # the compared models' training seed: the selection is one frozen image set
# Shipped zoo models of a run unless `--set models=...`: the board's models in the full profile; in
# the quick profile ERM, one mitigation and PGD-AT (keeps `make run` short; `models=all` runs them all).
DEFAULT_MODELS = {"quick": ("lazy_cnn.erm", "lazy_cnn.cf_invar", "lazy_cnn.pgd_at"), "full": ("all",)}
HEADLINE = ("easy", "linf", 0.1, "standard")  # (split, norm, ε, attack) of the overall table's attack column


@dataclass(frozen=True)
class AttackProtocol:
    """A frozen protocol preset (versioned name)."""

    name: str
    n_per_split: int = 100  # fixed subset size per split (every k-th image: stratified by digit and colour)
    splits: Tuple[str, ...] = ("hard", "easy")
    linf_eps: Tuple[float, ...] = (0.05, 0.1, 0.2, 0.3)
    l2_eps: Tuple[float, ...] = (0.5, 1.0, 2.0)
    pgd_steps: int = 40
    apgd_steps: int = 100
    n_targets: int = 9
    square_queries: int = 5000  # the issue's `standard` preset (AutoAttack standard)
    # 7→3 study (seed 000 §7): κ = 0.9, ε ≤ 0.05, fair selection at confidence ≥ select_conf over
    # the `compared` zoo models
    source: int = 7
    target: int = 3
    kappa: float = 0.9
    eps_max: float = 0.05
    select_conf: float = 0.9
    compared: Tuple[str, ...] = SEED_COMPARED  # shipped zoo names, training seed COMPARED_SEED
    n_min_eps: int = 20
    min_eps_iters: int = 100  # APGD iterations at ε_max
    min_eps_restarts: int = 3
    min_eps_steps: int = 10  # bisection levels
    min_eps_level_iters: int = 50  # APGD iterations per bisection level (warm start)
    seed: int = 0
    seeds: int = 1
    data: ColoredMNISTConfig = cat.SEED_DATA
    headline_eps: float = HEADLINE[2]  # ℓ∞ ε of the overall table's attack column (must be in linf_eps)


PROTOCOLS: Dict[str, AttackProtocol] = {
    # v3: the shipped seed-regime zoo on full MNIST (v2: models trained here on the 5,000 embedded
    # digits, under the same names); full: Square 5,000 queries, AutoAttack's budgets.
    "quick": AttackProtocol("attack.quick.v3", n_per_split=100, l2_eps=(1.0,), apgd_steps=25, n_targets=3,
                            square_queries=100, n_min_eps=10, min_eps_iters=25, min_eps_restarts=1,
                            min_eps_steps=7, min_eps_level_iters=25),
    # v4: ranking-grade cells, 1,000 images per split (v3: 100, a 95% interval of about ±10 pp;
    # issue #25), the same attacks and radii; records carry each cell's image and robust counts.
    # v5: the 7→3 study on 200 reference 7s (v4: 20, whose exact 95% interval spans ±20 pp; issue #18)
    "full": AttackProtocol("attack.full.v5", n_per_split=1000, n_min_eps=200),
}


def _split_names(names) -> None:
    for n in names:
        if n not in ("hard", "easy"):
            raise UsageError(f"unknown split {n!r} (known: hard, easy)")


_COUNTS = ("n_per_split", "pgd_steps", "apgd_steps", "n_targets", "square_queries", "n_min_eps", "min_eps_iters",
           "min_eps_restarts", "min_eps_steps", "min_eps_level_iters", "seeds")
# every field of the preset is a `--set` key (derived protocol name); `models` only picks the zoo models
AttackOptions = options_for(
    AttackProtocol, {**{k: positive for k in _COUNTS}, "linf_eps": each(positive), "l2_eps": each(positive),
                     "kappa": positive, "eps_max": positive, "headline_eps": positive, "splits": _split_names, "compared": zoo_models},
    models=option("shipped models to attack (fnmatch; all: the board; default: the profile's)", run=True,
                  check=zoo_models))


def protocol_for(ctx: RunContext) -> AttackProtocol:
    return AttackTrack().protocol(ctx)


def model_names(ctx: RunContext) -> Tuple[str, ...]:
    """`--set models=PATTERN,…` (shipped zoo names, fnmatch; `all`: the board), else DEFAULT_MODELS."""
    return resolve_models(AttackTrack().options(ctx).models, DEFAULT_MODELS[ctx.profile])


def subset(split, n: int) -> torch.Tensor:
    """Every k-th image: the splits are ordered by digit then colour, so this stratifies both."""
    k = max(len(split) // n, 1)
    return torch.arange(0, len(split), k)[:n]


def _acc(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return model(x).argmax(1) == y


def attacks_for(p: AttackProtocol, norm: str, eps: float) -> Dict[str, Any]:
    return {"fgsm": FGSM(eps=eps, norm=norm, seed=p.seed),
            "pgd40": Cascade((PGD(eps=eps, norm=norm, seed=p.seed, steps=p.pgd_steps),), "pgd40"),
            "standard": Cascade(standard_stages(eps, norm, p.seed, p.square_queries, p.apgd_steps, p.n_targets),
                                "standard")}


def robustness(model: nn.Module, p: AttackProtocol, data, log: Optional[CellLog] = None) -> Dict[str, Any]:
    """Every (split, threat, ε, attack) cell; cells in ``log`` (an interrupted run of the same
    evaluation at the same commit) are read back, not rerun: each attack is seeded on its own, so
    a cell's numbers do not depend on the cells before it."""
    log = log or CellLog()
    rows, flags = [], {}
    for split_name in p.splits:
        split = data[split_name]
        idx = subset(split, p.n_per_split)
        x, y = split.images(idx), split.digit[idx]
        clean_ok = _acc(model, x, y)
        for norm, grid in (("linf", p.linf_eps), ("l2", p.l2_eps)):
            for eps in grid:
                for name, atk in attacks_for(p, norm, eps).items():
                    cell = (split_name, norm, eps, name)
                    rows.append(log.cached(cell, lambda: _robust_row(model, atk, cell, x, y, clean_ok)))
        flags[split_name] = model_flags(model, x[:64], y[:64])
    masked = any(r.get("square_beats_whitebox") for r in rows)
    return {"robust": rows, "flags": {**flags, "square_beats_whitebox": masked}}


def _robust_row(model: nn.Module, atk, cell: Tuple, x: torch.Tensor, y: torch.Tensor,
                clean_ok: torch.Tensor) -> Dict[str, Any]:
    split_name, norm, eps, name = cell
    t0 = time.perf_counter()
    if isinstance(atk, Cascade):
        res = atk.evaluate(model, x, y)
        robust, after = res.robust, res.robust_after
    else:
        robust, after = clean_ok & _acc(model, atk(model, x, y).x_adv, y), {}
    n = len(y)  # the whole split when it has fewer than n_per_split images
    row = {"split": split_name, "norm": norm, "eps": eps, "attack": name,
           "acc": float(robust.float().mean()), "clean": float(clean_ok.float().mean()), "n": n,
           "n_robust": int(robust.sum()), "n_clean": int(clean_ok.sum()),
           "seconds": time.perf_counter() - t0, "stages": after}
    if name == "standard" and "3:square" in after:
        row["square_beats_whitebox"] = masking_flag(after["2:apgd-t"], after["3:square"])
    return row


def confident_source(model: nn.Module, x: torch.Tensor, p: AttackProtocol) -> torch.Tensor:
    """[B] bool: the model says p.source with confidence ≥ p.select_conf (seed 000 §7.4's "predict
    correctly with high confidence"); the fair selection and every model's own mask."""
    with torch.no_grad():
        prob = model(x).softmax(1)
    return (prob.argmax(1) == p.source) & (prob[:, p.source] >= p.select_conf)


def fair_selection(models: List[nn.Module], p: AttackProtocol, data) -> Tuple[str, torch.Tensor]:
    """Seed 000 §7.4: source-class images every compared model classifies correctly with
    confidence ≥ select_conf, from the hard split; when fewer than 5 qualify there (a colour-
    following baseline is wrong on nearly all of it), from the easy split. First n_min_eps kept."""
    for split_name in ("hard", "easy"):
        split = data[split_name]
        cand = (split.digit == p.source).nonzero().squeeze(1)
        x = split.images(cand)
        keep = torch.ones(len(cand), dtype=torch.bool)
        for m in models:
            keep &= confident_source(m, x, p)
        if int(keep.sum()) >= 5:
            return split_name, cand[keep][: p.n_min_eps]
    return "none", torch.zeros(0, dtype=torch.long)


def min_eps_study(model: nn.Module, p: AttackProtocol, data, split_name: str, idx: torch.Tensor) -> Dict[str, Any]:
    """The 7→3 search on the reference images ``idx`` the model classifies correctly and
    confidently (its own mask: all of them for a compared model); metrics over those."""
    if idx.numel() == 0:
        return {"split": split_name, "n": 0, "n_eligible": 0}
    split = data[split_name]
    x, y = split.images(idx), split.digit[idx]
    mask = confident_source(model, x, p)
    out = {"split": split_name, "n": int(idx.numel()), "indices": idx.tolist(), "eligible": mask.tolist(),
           "n_eligible": int(mask.sum())}
    if not mask.any():
        return out
    x, y = x[mask], y[mask]
    t0 = time.perf_counter()
    res = MinEpsSearch(norm="linf", eps_max=p.eps_max, kappa=p.kappa, steps=p.min_eps_steps, iters=p.min_eps_iters,
                       restarts=p.min_eps_restarts, level_iters=p.min_eps_level_iters,
                       seed=p.seed).run(model, x, y, torch.full_like(y, p.target))
    e = res.eps_min.double()
    ok = torch.isfinite(e)
    return {**out, "eps_min": e.tolist(),  # over the eligible images, in index order; ∞ (null): no success
            "success_rate": float(ok.double().mean()),
            "median_eps": float(e[ok].median()) if ok.any() else math.nan,
            "mean_eps": float(e[ok].mean()) if ok.any() else math.nan,
            "mean_best_p": float(res.best_p_target.double().mean()),
            "seconds": time.perf_counter() - t0, "grad_evals": res.grad_evals}


@TRACKS.register("attack")
class AttackTrack(Track):
    name = "attack"
    title = "Attack track: robust accuracy under FGSM, PGD-40 and the standard cascade"
    # ℓ∞ 0.1: the AT models' training radius (MNIST's customary 0.3 leaves every model here at ~0);
    # easy subset: on the hard subset robust accuracy is capped by hard accuracy, the shortcut headline
    headline_metric = f"standard robust acc, easy, linf {PROTOCOLS['full'].headline_eps:g}"
    headline_rule = (f"robust accuracy under the `standard` cascade (APGD-CE → APGD-T → Square) at ℓ∞ ε = "
                     f"{PROTOCOLS['full'].headline_eps:g} on the easy subset (clean-and-robust share)")
    options_type = AttackOptions

    def headline(self, record: Record) -> Optional[float]:
        """The standard cascade's easy-split accuracy at the ℓ∞ ε the record's protocol names."""
        split_name, norm, _, attack = HEADLINE
        eps = record.config.get("protocol", {}).get("headline_eps", AttackProtocol.headline_eps)
        return next((float(r["acc"]) for r in _cell_rows(record, split_name, norm, eps, attack)), None)

    def __init__(self):
        self._references: Dict[Tuple, Tuple] = {}

    def reference_selection(self, ctx: RunContext, p: AttackProtocol, data) -> Tuple[str, torch.Tensor]:
        """The 7→3 reference images: fair selection over the protocol's frozen compared set
        (shipped weights; independent of the models a run evaluates), computed once."""
        key = (ctx.profile, ctx.mnist_dir, p)
        if key not in self._references:
            self._references[key] = fair_selection(self.compared_models(ctx, p, data), p, data)
        return self._references[key]

    def compared_models(self, ctx: RunContext, p: AttackProtocol, data) -> List[nn.Module]:
        return [load_shipped_model(name, COMPARED_SEED)[0] for name in p.compared]

    def evaluate(self, model, ctx: RunContext, log: Optional[CellLog] = None):
        """Robust accuracy + the 7→3 study on the reference images: what zoo models and
        submissions alike get. ``log``: finished cells of an interrupted run to resume from."""
        p = protocol_for(ctx)
        data = colored_mnist(ctx.mnist_dir, p.data)
        model.eval()
        log = log or CellLog()
        split_name, idx = self.reference_selection(ctx, p, data)
        return {**robustness(model, p, data, log),
                "min_eps": log.cached(("min_eps",), lambda: min_eps_study(model, p, data, split_name, idx))}

    def run(self, ctx: RunContext) -> Iterable[Record]:
        """Every selected shipped zoo model at the protocol's seeds; nothing is trained here. A
        model's finished cells are logged under the output directory, so a run killed part-way
        resumes there (same commit, protocol and weights; :mod:`..results.cell_log`)."""
        p = protocol_for(ctx)
        data = colored_mnist(ctx.mnist_dir, p.data)
        for name, seed in shipped_pairs(self.name, model_names(ctx), ctx.seed_list(p.seeds)):
            t0 = time.perf_counter()
            model, rec = load_shipped_model(name, seed)
            log = CellLog.open(ctx.out_dir, self.name, {"model": name, "seed": seed, "weights": rec["sha256"],
                                                        "protocol": asdict(p), "data": data.fingerprint})
            metrics = {**self.evaluate(model, ctx, log), "train_time_s": rec["train_time_s"]}
            if log.reused:  # the record's wall time counts the earlier run's cells too
                metrics["resumed"] = {"cells": log.reused, "seconds": log.reused_seconds}
            yield make_record(self.name, name, seed, ctx.profile, p.name, metrics,
                              {"protocol": asdict(p), "zoo_key": rec["zoo_key"], "weights_sha256": rec["sha256"],
                               "data_source": data.source, "compared_models": sorted(p.compared)},
                              data.fingerprint, time.perf_counter() - t0 + log.reused_seconds)
            log.close()  # the record is stored (the caller stores each record as it is yielded)

    # ---------------------------------------------------------------- rendering
    def render(self, records: List[Record], out_dir: Path) -> List[Table]:
        records = select_profile(self.current(records))
        by_model = records_by_model(records)
        fig_dir = Path(out_dir) / "figures" / self.name
        proto = records[0].config["protocol"] if records else asdict(PROTOCOLS["full"])  # no records: empty tables
        board = [_wide_table(by_model, proto, fig_dir, split_name, norm, records)
                 for split_name in sorted(proto.get("splits", ()), key=lambda s: s != HEADLINE[0])  # headline first
                 for norm in NORMS if proto.get(f"{norm}_eps")]
        missing = missing_board_note(self.name, records)
        for table in board:
            table.notes += missing
        return board + [self._details_table(by_model, proto, records),
                        self._min_eps_table(by_model, proto, fig_dir, records)]

    def _details_table(self, by_model, proto, records) -> Table:
        """Long form: every (split, threat, ε) of every model under each attack, with the flags."""
        cols = ["model", "profile", "split", "threat", "ε", "seeds", "clean", "FGSM", "PGD-40", "standard", "flags"]
        rows = []
        for model_id, recs in sorted(by_model.items()):
            keys = sorted({(r["split"], r["norm"], r["eps"]) for r in recs[0].metrics["robust"]},
                          key=lambda k: (k[0], k[1] != "linf", k[2]))
            for split_name, norm, eps in keys:
                def cell(attack: str) -> str:
                    return fmt_interval(*robust_interval(recs, proto, split_name, norm, eps, attack))
                fl = [k for rec in recs for k, v in _flag_items(rec.metrics["flags"], split_name) if v]
                rows.append([model_id, recs[0].profile, split_name, NORMS[norm], f"{eps:g}", str(len(recs)),
                             cell("clean"), cell("fgsm"), cell("pgd40"), cell("standard"),
                             ", ".join(sorted(set(fl))) or "–"])
        times = [r.wall_time_s for r in records]
        notes = [
            f"Protocol `{records[0].protocol if records else '-'}`: every attack at every radius; the board "
            f"(`attack*.md` by split and threat model) shows the `standard` column. Cells: robust accuracy in % "
            f"[95% interval] (see the board's notes). FGSM: one signed step of ε (ℓ2: normalised gradient). PGD-40: "
            f"{proto.get('pgd_steps')} steps of 2.5ε/{proto.get('pgd_steps')}, random start, success at any iterate.",
            "flags (AutoAttack checks): randomness = logits vary over 5 passes; softmax = outputs look like "
            "probabilities; zero-grad = some DLR gradients are exactly 0; square>white-box = Square lowered robust "
            "accuracy by > 0.2 pp after the white-box attacks (gradients may be masked).",
            f"Wall time per record (model × seed, all attacks and the 7→3 study): median "
            f"{np.median(times) if times else float('nan'):.0f} s, total {sum(times):.0f} s.",
        ]
        return Table("attack_details", "Attack track: every attack, split and radius", cols, rows, notes)

    def _min_eps_table(self, by_model, proto, fig_dir, records) -> Table:
        src, tgt, kappa, eps_max = proto.get("source"), proto.get("target"), proto.get("kappa"), proto.get("eps_max")
        cols = ["model", "profile", "seeds", "images (own / reference)", "comparison", "success rate", "median ε_min",
                "mean ε_min", f"mean best P({tgt})@{eps_max}", "median ε_min / baseline"]
        base = by_model.get(BASELINE)
        base_med = _nanmean([r.metrics["min_eps"].get("median_eps") for r in base]) if base else math.nan
        compared = next((r.config["compared_models"] for r in records if "compared_models" in r.config), [])
        rows, series = [], {}
        grid = np.linspace(0, eps_max or 0.05, 51)
        split_used = next((r.metrics["min_eps"].get("split") for r in records), "-")
        n_ref = next((r.metrics["min_eps"].get("n", 0) for r in records), 0)

        def own(m) -> int:  # images the model was attacked on (v1 records: every reference image)
            return m.get("n_eligible", m["n"])
        # fair: its metrics are over every reference image; those rows first
        fair = {mid: all(own(r.metrics["min_eps"]) == r.metrics["min_eps"]["n"] > 0 for r in recs)
                for mid, recs in by_model.items()}
        for model_id, recs in sorted(by_model.items(), key=lambda kv: (not fair[kv[0]], kv[0])):
            me = [r.metrics["min_eps"] for r in recs]
            counts = sorted({own(m) for m in me})
            images = f"{'–'.join(map(str, (counts[0], counts[-1]) if len(counts) > 1 else counts))} / {me[0]['n']}"
            is_fair = fair[model_id]
            head = [model_id, recs[0].profile, str(len(recs)), images,
                    "fair" if is_fair else "outside" if me[0]["n"] else "–"]
            if not any(own(m) for m in me):
                rows.append(head + ["–"] * 5)
                continue
            me = [m for m in me if own(m)]
            med = _nanmean([m["median_eps"] for m in me])

            def num(key: str, fmt: str) -> str:
                v = _nanmean([m[key] for m in me])
                return "–" if math.isnan(v) else fmt.format(v)
            ratio = f"{med / base_med:.2f}×" if base_med and not math.isnan(base_med) and not math.isnan(med) else "–"
            rows.append(head + [fmt_pct(*mean_se([m["success_rate"] for m in me])), num("median_eps", "{:.4f}"),
                                num("mean_eps", "{:.4f}"), num("mean_best_p", "{:.3f}"), ratio])
            curves = np.array([success_curve([math.inf if v is None else v for v in m["eps_min"]], grid) for m in me])
            series[model_id if is_fair else f"{model_id} (outside)"] = {
                "x": grid, "mean": curves.mean(0), "ls": "-" if is_fair else ":",
                "se": curves.std(0, ddof=1) / np.sqrt(len(me)) if len(me) > 1 else None}
        figures = []
        if series:
            path = fig_dir / "min_eps_success_vs_eps.png"
            plots.curves(series, path, f"targeted {src}→{tgt} (P ≥ {kappa}): success rate vs ε (ℓ∞)", "ε",
                         "success rate")
            figures.append(str(path.relative_to(fig_dir.parent.parent)))
        notes = [
            f"Seed 000 §7: targeted {src}→{tgt}, success = argmax = {tgt} with P({tgt}) ≥ {kappa}, ℓ∞, ε ≤ {eps_max}. "
            f"Reference images (seed 000 §7.4's fair selection): the first {proto.get('n_min_eps')} images of digit "
            f"{src} that every model of the protocol's frozen compared set "
            f"({', '.join(compared) or ', '.join(proto.get('compared', ()))}; training seed {COMPARED_SEED}: the "
            f"baseline and the seed's three mitigations) classifies as {src} with P({src}) ≥ {proto.get('select_conf')}, "
            f"from the hard split, or from the easy split when fewer than 5 qualify there (used here: "
            f"**{split_used}**, {n_ref} images; the colour-following baseline is wrong on the hard split).",
            f"Every model, compared or not, zoo model or submission, is attacked on those reference images that it "
            f"classifies as {src} with P({src}) ≥ {proto.get('select_conf')} (images: own / reference) and its metrics "
            f"are over those. comparison = fair: all reference images (always so for the compared set); outside: "
            f"fewer, so its numbers are over its own subset and not comparable with the fair rows (dotted curves).",
            f"ε_min per sample: APGD (targeted CE = log P({tgt}), {proto.get('min_eps_iters', 100)} it., "
            f"{proto.get('min_eps_restarts')} restarts) at ε_max, then {proto.get('min_eps_steps')} bisection levels "
            f"({proto.get('min_eps_level_iters', 50)} it. each) run as one batch with per-sample ε, each warm-started "
            f"from the adversarial at the larger ε; monotone.",
            "success rate: share with ε_min ≤ ε_max; median / mean ε_min: over the successful samples; mean best "
            f"P({tgt}): over the attacked samples, the highest P({tgt}) seen at ε_max; ratio: median ε_min over "
            f"the baseline's ({BASELINE}); > 1 means harder to fool.",
        ]
        return Table("attack_min_eps", f"Attack track: targeted {src}→{tgt} minimal ε (seed 000 §7.5)", cols, rows,
                     notes, figures)


NORMS = {"linf": "ℓ∞", "l2": "ℓ2"}
CHANCE = 0.1  # ten digits: a model below this clean accuracy is not ranked on that split
RANK_EPS = {"linf": HEADLINE[2], "l2": 1.0}  # the radius a board table ranks by (in every preset's grid)


def table_name(split_name: str, norm: str) -> str:
    """``attack`` is the headline board (easy split, ℓ∞); the others carry their split and threat."""
    parts = [p for p, default in ((split_name, HEADLINE[0]), (norm, HEADLINE[1])) if p != default]
    return "_".join(["attack"] + parts)


def _cell_rows(rec: Record, split_name: str, norm: str, eps: float, attack: str) -> List[Dict[str, Any]]:
    return [r for r in rec.metrics.get("robust", ()) if (r["split"], r["norm"], r["eps"], r["attack"]) ==
            (split_name, norm, eps, attack)]


def robust_interval(recs: List[Record], proto, split_name: str, norm: str, eps: float,
                    attack: str) -> Tuple[float, float, float]:
    """(mean over seeds, low, high) of the robust accuracy of one cell; attack ``clean`` (or ε = 0):
    clean accuracy. The interval is Wilson on the cell's n images (the seeds share them), widened
    to the t interval over seeds when there are several (stats.accuracy_interval)."""
    vals, ns = [], []
    for rec in recs:
        rows = [r for r in rec.metrics["robust"] if r["split"] == split_name]
        if attack == "clean" or eps == 0:
            cell = rows[:1]
            vals += [r["clean"] for r in cell]
        else:
            cell = _cell_rows(rec, split_name, norm, eps, attack)
            vals += [r["acc"] for r in cell]
        # v3 records carry no image count: their subset had the preset's n_per_split images
        ns += [int(r.get("n", rec.config["protocol"]["n_per_split"])) for r in cell]
    if not vals:
        return math.nan, math.nan, math.nan
    return accuracy_interval(vals, min(ns))


def _wide_table(by_model, proto, fig_dir: Path, split_name: str, norm: str, records: List[Record]) -> Table:
    """One row per model on one split and threat model: clean accuracy and standard-cascade robust
    accuracy per ε with 95% intervals; rows ranked at RANK_EPS (below-chance rows last, unranked),
    and the robust-accuracy-vs-ε figure of every model."""
    grid = sorted({r["eps"] for recs in by_model.values() for rec in recs for r in rec.metrics["robust"]
                   if r["split"] == split_name and r["norm"] == norm})
    rank_eps = RANK_EPS[norm]
    cells = {m: [robust_interval(recs, proto, split_name, norm, e, "standard") for e in [0.0] + grid]
             for m, recs in by_model.items()}
    key = {m: c[grid.index(rank_eps) + 1] if rank_eps in grid else c[-1] for m, c in cells.items()}
    ranked = sorted((m for m, c in cells.items() if c[0][0] >= CHANCE and not math.isnan(key[m][0])),
                    key=lambda m: (-key[m][0], m))
    below = sorted(m for m in cells if m not in ranked)
    rows, series = [], {}
    for m in ranked + below:
        recs, c = by_model[m], cells[m]
        if m in ranked:  # ties: only models whose interval lies wholly above this one's rank ahead of it
            rank = str(1 + sum(key[o][1] > key[m][2] for o in ranked))
            note = ", ".join(sorted({k for rec in recs for k, v in _flag_items(rec.metrics["flags"], split_name) if v}))
        else:
            rank = "–"
            note = f"not ranked: clean {100 * c[0][0]:.1f} % below chance ({100 * CHANCE:.0f} %)"
        n = min(int(r.get("n", rec.config["protocol"]["n_per_split"])) for rec in recs
                for r in rec.metrics["robust"] if r["split"] == split_name)
        rows.append([rank, m, recs[0].profile, str(len(recs)), str(n)] + [fmt_interval(*iv) for iv in c]
                    + [note or "–"])
        series[m if m in ranked else f"{m} (below chance)"] = {
            "x": np.array([0.0] + grid), "mean": np.array([iv[0] for iv in c]), "lo": np.array([iv[1] for iv in c]),
            "hi": np.array([iv[2] for iv in c]), "ls": "-" if m in ranked else ":"}
    figures = []
    if series:
        path = fig_dir / f"robust_acc_vs_eps_{split_name}_{norm}.png"
        plots.curves(series, path, f"standard-cascade robust accuracy vs ε ({NORMS[norm]}, {split_name} split); "
                     f"bands: 95% intervals; dotted: clean accuracy below chance", "ε", "robust accuracy",
                     hline=CHANCE)
        figures.append(str(path.relative_to(fig_dir.parent.parent)))
    cols = ["rank", "model", "profile", "seeds", "images", "clean"] + [f"ε = {e:g}" for e in grid] + ["note"]
    notes = [
        f"Protocol `{records[0].protocol if records else '-'}`, {split_name} split, threat model {NORMS[norm]}. Per "
        f"split a fixed subset of {proto.get('n_per_split')} test images (the whole split where smaller; every k-th "
        f"image of the split, which is ordered by digit and colour, so both are stratified); hard = held-out "
        f"digits in each of their 9 non-dominant colours, easy = in their dominant colour. Data fingerprint "
        f"`{records[0].data_fingerprint if records else '-'}`.",
        f"Cells: robust accuracy in % [95% interval] under the `standard` cascade: APGD-CE "
        f"({proto.get('apgd_steps')} it.) → APGD-T ({proto.get('n_targets')} targets, targeted DLR) → Square "
        f"({proto.get('square_queries')} queries, ℓ∞ only), each on the points still robust (AutoAttack's FAB-T is "
        f"not included); a point counts when it is classified correctly clean and after every stage. Attack seed "
        f"{proto.get('seed')}. Interval: Wilson on the images column (one training seed), widened to the Student t "
        f"interval over seeds when there are several. FGSM and PGD-40: `attack_details.md`.",
        f"rank: by robust accuracy at ε = {rank_eps:g}; a model's rank is 1 + the number of models whose interval "
        f"there lies wholly above its own, so models the intervals cannot separate share a rank. Rows whose clean "
        f"accuracy is below chance ({100 * CHANCE:.0f} %, ten digits) are listed last, unranked, and drawn dotted: "
        f"a model that cannot classify the split clean has no robustness to compare. note: AutoAttack's flags "
        f"(see `attack_details.md`).",
    ]
    title = f"Attack track: robust accuracy vs ε, {split_name} split, {NORMS[norm]}"
    return Table(table_name(split_name, norm), title, cols, rows, notes, figures)


def _nanmean(values) -> float:
    """Mean over the finite values (records store NaN as null); NaN when there are none."""
    v = [x for x in values if x is not None and math.isfinite(x)]
    return float(np.mean(v)) if v else math.nan


def _flag_items(flags: Dict[str, Any], split_name: str):
    f = flags.get(split_name, {})
    yield "randomness", f.get("randomness")
    yield "softmax", f.get("softmax_outputs")
    yield "zero-grad", (f.get("zero_grad_share") or 0) > 0
    yield "square>white-box", flags.get("square_beats_whitebox")
