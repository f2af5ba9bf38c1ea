"""The ``diagnostics`` track: why a shortcut-track model fails, as numbers (seed 000 §4, §5, §8).

For every shipped zoo model of the board (seed-budget ERM, the mitigations, their controls and the
defences; ``--set models=PATTERN,…`` for others; ERM at every seed, the other models at
``DiagnosticsProtocol.mitigation_seeds`` seeds; nothing trains here) it scores attribution maps (Grad-CAM family, saliency, SmoothGrad, IG) on aligned (easy)
and conflicting (hard) images with localisation and faithfulness metrics next to model-free
baselines, runs the cascading model-randomisation check, trains sparse autoencoders on the
seed's seven sites and measures colour vs digit selectivity, interventions and ablations, and
renders the seed's two-case figure and the prototype grid. Definitions: :mod:`shortcutbench.explain`.
"""
from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Tuple

import numpy as np

from ..explain.baselines import BASELINES
from ..explain.evaluate import (DiagnosticsConfig, attribution_scores, microscope_scores, prototypes,
                                randomisation_scores, sae_scores, two_case)
from ..explain.featviz import FeatVizConfig
from ..explain.hooks import single_thread
from ..explain.sae import SAEConfig
from ..results import plots
from ..results.record import Record, make_record
from ..results.tables import Table
from ..utils.config import parse_assignments  # noqa: F401  (documented override path)
from ..data import ColoredMNISTConfig
from ..zoo import catalogue as cat
from ..zoo.select import resolve_models, shipped_pairs
from ..zoo.shipped import load_shipped_model
from .base import TRACKS, RunContext, Track, select_profile, records_by_model
from .common import colored_mnist, missing_board_note
from .options import TrackOptions, option, positive, zoo_models
from .diagnostics_cells import fmt as _fmt, mean as _mean, pooled as _pooled, ratio_text as _ratio_text


@dataclass(frozen=True)
class DiagnosticsProtocol:
    name: str
    config: DiagnosticsConfig
    featviz_seeds: int = 1  # prototypes for the first seed(s) only: they are pictures, not table numbers
    # Training seeds evaluated per mitigation method (every method of the shortcut protocol other
    # than ERM); None = all of the shortcut protocol's seeds. ERM always gets all of them. A named
    # compute-budget setting (issue 6), stored in every record's config and stated in the captions.
    mitigation_seeds: Optional[int] = None
    seeds: int = 1
    data: ColoredMNISTConfig = cat.SEED_DATA

    def seeds_for(self, name: str, seeds: List[int]) -> List[int]:
        if name == BASELINE or self.mitigation_seeds is None:
            return list(seeds)
        return [s for s in seeds if s < self.mitigation_seeds]  # seeds 0..m-1, also under --seed-from


BASELINE = "lazy_cnn.erm"
# The quick profile's models unless `--set models=...`: ERM and the seed's three mitigations, which
# keeps `make run` short; the full profile diagnoses the whole board, defences included (#18).
QUICK_MODELS = cat.SEED_STUDY
MITIGATION_SEEDS_FULL = 1  # see README "Diagnostics track": measured cost per model vs the time available

PROTOCOLS: Dict[str, DiagnosticsProtocol] = {
    # quick: fewer images, cheaper SmoothGrad/IG, 4 SAE sites with 1 epoch, 30 feature-vis steps.
    # v2 (quick) / v3 (full): the shipped seed-regime zoo on full MNIST (before: models trained here on
    # the embedded digits, under the same names).
    "quick": DiagnosticsProtocol("diagnostics.quick.v2", DiagnosticsConfig(
        images_per_side=50, smoothgrad_samples=8, ig_steps=16, randomisation_images=30,
        sae=SAEConfig(epochs=1, steps_per_epoch=100), sae_train_images=1000, sae_eval_per_cell=5,
        sae_sites=(("relu1", "spatial_mean"), ("relu2", "spatial_mean"), ("relu3", "spatial_mean"),
                   ("gap", "spatial_mean")),
        featviz=FeatVizConfig(steps=30), featviz_layers=("conv1", "relu2", "relu3", "fc"))),
    # full: the seed's settings (SAE 3 × 150 steps on 7 sites, feature vis 200 steps on 9 layers)
    # with image counts that keep 5 seeds × every method of the shortcut track in tens of minutes
    # on 2 cores: 200 + 200 scored images, 60 for randomisation, 5 per (digit, colour) cell for SAEs.
    # v2: every method of shortcut.full.v2 (zoo v2); ERM at 5 seeds, each mitigation at
    # `mitigation_seeds` seeds, the budget of one 2-core machine shared by four jobs (README).
    "full": DiagnosticsProtocol("diagnostics.full.v3", DiagnosticsConfig(
        images_per_side=200, randomisation_images=60, smoothgrad_samples=16, sae_train_images=2000,
        sae_eval_per_cell=5), mitigation_seeds=MITIGATION_SEEDS_FULL, seeds=5),
}


@dataclass(frozen=True)
class DiagnosticsOptions(TrackOptions):
    models: Optional[Tuple[str, ...]] = option("shipped models to diagnose (fnmatch; default: the board, defences included)",
                                               run=True, check=zoo_models)
    mitigation_seeds: Optional[int] = option("training seeds per mitigation (ERM gets every seed)", check=positive)


def run_protocol(ctx: RunContext) -> DiagnosticsProtocol:
    """The profile's preset; ``--set mitigation_seeds=N`` overrides the named setting (derived name)."""
    return DiagnosticsTrack().protocol(ctx)


def run_pairs(ctx: RunContext, protocol: DiagnosticsProtocol) -> List[Tuple[str, int]]:
    """Shipped (model, seed) pairs to evaluate, seed-major (every model's first seed before anyone's
    second), so a run stopped early still covers every model."""
    default = QUICK_MODELS if ctx.profile == "quick" else cat.board_models()
    names = resolve_models(DiagnosticsTrack().options(ctx).models, default)
    seeds = ctx.seed_list(protocol.seeds)
    return [(n, s) for n, s in shipped_pairs("diagnostics", names, seeds) if s in protocol.seeds_for(n, seeds)]

LOWER_IS_BETTER = {"deletion"}
QUALITY_METRICS = ("pointing", "mass", "deletion", "insertion")


@TRACKS.register("diagnostics")
class DiagnosticsTrack(Track):
    name = "diagnostics"
    accepts_submissions = False  # addresses layers by name (conv1 … relu3, gap); submissions carry no such contract yet
    title = "Diagnostics track: where the models look, and what their features encode"
    options_type = DiagnosticsOptions

    def evaluate(self, model, ctx: RunContext):
        protocol = self.protocol(ctx)
        cfg, data = protocol.config, colored_mnist(ctx.mnist_dir, protocol.data)
        model.eval()
        with single_thread():  # tiny ops: thread hand-offs cost more than they save (10× on a loaded box)
            return self._evaluate(model, data, cfg)

    @staticmethod
    def _evaluate(model, data, cfg):
        return {"attribution": attribution_scores(model, data, cfg),
                "randomisation": randomisation_scores(model, data, cfg),
                "sae": sae_scores(model, data, cfg),
                "microscope": microscope_scores(model, data, cfg),
                "two_case": two_case(model, data, cfg.layer)}

    def run(self, ctx: RunContext) -> Iterable[Record]:
        protocol = run_protocol(ctx)
        data = colored_mnist(ctx.mnist_dir, protocol.data)
        for name, seed in run_pairs(ctx, protocol):
            t0 = time.perf_counter()
            model, rec = load_shipped_model(name, seed)
            metrics = self.evaluate(model, ctx)
            if seed < protocol.featviz_seeds:
                with single_thread():
                    metrics["prototypes"] = prototypes(model, data, protocol.config)
            metrics["zoo"] = {"method": rec["method"], "train_time_s": rec["train_time_s"]}
            yield make_record(self.name, name, seed, ctx.profile, protocol.name, metrics,
                              {"protocol": asdict(protocol), "zoo_key": rec["zoo_key"], "weights_sha256": rec["sha256"],
                               "data_source": data.source}, data.fingerprint, time.perf_counter() - t0)

    # ---------------------------------------------------------------- rendering
    def render(self, records: List[Record], out_dir: Path) -> List[Table]:
        records = select_profile(self.current(records))
        by_model = records_by_model(records)
        fig_dir = Path(out_dir) / "figures" / self.name
        attr_rows, sel_rows, rand_rows, figures, notes_check = [], [], [], [], []
        for model_id, recs in sorted(by_model.items()):
            recs = sorted(recs, key=lambda r: r.seed)
            attr_rows += _attribution_rows(model_id, recs)
            sel_rows += _selectivity_rows(model_id, recs)
            rand_rows += _randomisation_rows(model_id, recs)
            notes_check += _seed_checks(model_id, recs)
            figures += _figures(model_id, recs, fig_dir)
        cfg = records[0].config["protocol"]["config"] if records else {}
        head = _head_note(records)
        attr_notes = [
            head,
            f"{cfg.get('images_per_side')} aligned (easy) and {cfg.get('images_per_side')} conflicting (hard) images "
            f"per model; CAMs at `{cfg.get('layer')}` (CAM at `{cfg.get('cam_layer')}`, the map the GAP reads), "
            "target = predicted class, maps upsampled bilinearly to 28×28 then min-max normalised (seed §5.3).",
            "bg/stroke: mean map on background / on stroke pixels, stroke = grayscale digit > 0.5 (seed §5.4); "
            f"pointing: share of the map's maxima within {cfg.get('pointing_tolerance')} px of the stroke; mass: "
            "share of the map's sum on the stroke; deletion ↓ / insertion ↑: RISE normalised-trapezoid AUC of "
            f"P(predicted class), {cfg.get('deletion_step')} pixels per step; pointing/mass/deletion/insertion "
            "pooled over aligned and conflicting images.",
            "Rows `baseline:*` are model-free maps (uniform noise, Sobel edges of the grey image, constant). "
            "`vs baselines`: ✓ when a method beats every baseline on all four of pointing, mass, deletion, "
            "insertion; otherwise ⚠ lists the metrics where some baseline is at least as good.",
        ] + notes_check
        attr = Table("diagnostics", self.title, ATTR_COLS, attr_rows, attr_notes, figures)
        sel = Table("diagnostics_selectivity", "Diagnostics track: sparse autoencoders — colour vs digit selectivity "
                    "(seed 000 §8)", SEL_COLS, sel_rows, [
                        head,
                        "SAE (seed §8.2–8.4): ReLU, 4× overcomplete, MSE + λ·E|z| (λ = 1e−3, both means over elements), "
                        "standardised inputs, Adam 1e−3, batch 512, trained on train-split features; "
                        f"{(cfg.get('sae') or {}).get('epochs')} epochs × {(cfg.get('sae') or {}).get('steps_per_epoch')} "
                        "steps. Evaluated on easy ∪ hard (every held-out digit in all 10 colours, "
                        f"{cfg.get('sae_eval_per_cell')} images per (digit, colour) cell, so digit ⟂ colour).",
                        "best colour / best digit: max over latents of η² − (K − 1)/(N − 1) (η² = between-class / "
                        "total sum of squares, null subtracted); #>0.5: latents with excess η² > 0.5. FVE = 1 − "
                        "Σ‖x − x̂‖²/Σ‖x − μ‖² (standardised units); dead: latents that never fire on the eval set; "
                        "acc spliced: accuracy with x̂ spliced into the layer (acc clean in the same row for reference).",
                        f"intervention: add α = {cfg.get('intervention_alpha')} to the top colour latent (seed §8.7); "
                        "ΔP = mean change of P(class whose dominant colour the latent prefers) on images of other "
                        f"colours. ablation: zero the top-{cfg.get('ablate_k')} colour latents on {cfg.get('ablation_images', 1000)} hard images "
                        "(seed §8.8; seed: 5.78 % predictions changed, mean confidence drop 0.0139).",
                        "microscope: mean over channels of the share of the top-8 activating eval images sharing the "
                        "channel's most common colour / digit (chance ≈ 0.27).",
                    ])
        rand = Table("diagnostics_randomisation", "Diagnostics track: cascading model-parameter randomisation "
                     "(Adebayo et al. 2018)", RAND_COLS, rand_rows, [
                         head,
                         f"{cfg.get('randomisation_images')} hard images; layers re-initialised top-down, cumulatively "
                         "(`reset_parameters`, fixed seed); cells: mean Spearman ρ (average ranks) between the trained "
                         "model's map and the randomised model's map, same target class. Baselines: ρ between the "
                         "trained model's map and a model-free map (random ≈ 0; Sobel = how much the map is an edge "
                         "detector). `falls`: ✓ when ρ after randomising every layer is below its value after the "
                         "head alone and below the Sobel baseline.",
                     ])
        from .diagnostics_summary import SUMMARY_COLS, summary_rows

        summary = Table("diagnostics_summary", "Diagnostics track: one row per diagnosed model",
                        SUMMARY_COLS, summary_rows(by_model), [
                            head,
                            "One row per diagnosed model (by default the board: `catalogue.board_models()`, "
                            "defences included), joined on model id with `shortcut.md`. acc: accuracy on the scored "
                            "aligned / conflicting images. Grad-CAM at "
                            f"`{cfg.get('layer')}` as in diagnostics.md (seed §5.4: conflicting 0.90 > aligned 0.44); "
                            "pointing and deletion pooled over both sides, with the best model-free baseline (random, "
                            "Sobel, constant) in brackets: ✓ Grad-CAM beats it, ⚠ it does not.",
                            "colour / digit: best excess η² of an SAE latent on the layer's spatial mean (seed §8.6: "
                            "colour > digit at every layer); randomisation: Grad-CAM's Spearman ρ after randomising "
                            "the head → every layer, ✓ falls when it ends below both its start and the Sobel baseline. "
                            "All methods and every baseline: diagnostics.md, diagnostics_selectivity.md, "
                            "diagnostics_randomisation.md.",
                        ] + missing_board_note(self.name, records))
        return [summary, attr, sel, rand]


def _head_note(records: List[Record]) -> str:
    """Protocol, shortcut protocol and the seed setting (ERM vs mitigations), stated in every caption."""
    if not records:
        return "No records."
    proto = records[0].config["protocol"]
    seeds = {}
    for r in records:
        seeds.setdefault(r.model_id, set()).add(r.seed)
    erm = [len(v) for m, v in seeds.items() if m.endswith(".erm")]
    others = sorted({len(v) for m, v in seeds.items() if not m.endswith(".erm")})
    k = proto.get("mitigation_seeds")
    setting = (f" Seeds: ERM {erm[0] if erm else 0}, every other method {k} (protocol setting `mitigation_seeds = {k}`, "
               "a compute-budget cut, not a result; README \"Diagnostics track\" gives the budget), so a "
               "mitigation's cells carry no ± or one over fewer seeds than ERM's." if k is not None else "")
    if others and k is None:
        setting = f" Seeds per model: ERM {erm[0] if erm else 0}, others {', '.join(map(str, others))}."
    return (f"Protocol `{records[0].protocol}` on the shipped zoo models (full-MNIST Colored-MNIST, seed budgets); "
            f"cells: mean ± SE over training seeds (ddof = 1; data seed fixed), n = seeds.{setting}")


ATTR_COLS = ["model", "n", "method", "bg/stroke aligned", "bg/stroke conflicting", "conflicting − aligned",
             "pointing ↑", "mass ↑", "deletion ↓", "insertion ↑", "IG |δ|/|ΔF|", "vs baselines"]
SEL_COLS = ["model", "n", "site", "best colour", "best digit", "colour > digit", "#>0.5 colour", "#>0.5 digit",
            "FVE", "L0", "dead", "acc clean", "acc spliced", "intervention ΔP", "ablation pred change",
            "ablation conf drop", "microscope colour / digit"]
RAND_COLS = ["model", "n", "method", "stages", "ρ per stage (head → all)", "baseline random", "baseline sobel",
             "falls"]


def _attribution_rows(model_id: str, recs: List[Record]) -> List[List[str]]:
    methods = recs[0].config["protocol"]["config"]["methods"]
    names = [k for k in list(methods) + list(BASELINES) if isinstance(recs[0].metrics["attribution"].get(k), dict)]
    per = {name: [r.metrics["attribution"][name] for r in recs] for name in names}
    base = {b: {q: _mean([_pooled(e, q) for e in per[b]]) for q in QUALITY_METRICS} for b in BASELINES if b in per}
    rows = []
    for name in names:
        es = per[name]
        is_base = name in BASELINES
        if is_base:
            verdict = "(baseline)"
        else:
            worse = []
            for q in QUALITY_METRICS:
                v = _mean([_pooled(e, q) for e in es])
                for b, bv in base.items():
                    if math.isnan(bv[q]):
                        continue
                    if (v >= bv[q]) if q in LOWER_IS_BETTER else (v <= bv[q]):
                        worse.append(f"{q}≤{b}" if q not in LOWER_IS_BETTER else f"{q}≥{b}")
            verdict = "✓" if not worse else "⚠ " + ", ".join(worse)
        diff = [e["ratio_conflicting"] - e["ratio_aligned"] for e in es
                if e.get("ratio_conflicting") is not None and e.get("ratio_aligned") is not None]
        ig = [_pooled(e, "ig_rel_delta") for e in es] if "ig_rel_delta_aligned" in es[0] else []
        rows.append([model_id, str(len(es)), ("baseline:" if is_base else "") + name,
                     _fmt([e.get("ratio_aligned") for e in es]), _fmt([e.get("ratio_conflicting") for e in es]),
                     _fmt(diff), _fmt([_pooled(e, "pointing") for e in es]), _fmt([_pooled(e, "mass") for e in es]),
                     _fmt([_pooled(e, "deletion") for e in es]), _fmt([_pooled(e, "insertion") for e in es]),
                     _fmt(ig, 4) if ig else "", verdict])
    return rows


def _selectivity_rows(model_id: str, recs: List[Record]) -> List[List[str]]:
    sites = [f"{layer}/{mode}" for layer, mode in recs[0].config["protocol"]["config"]["sae_sites"]]
    rows = []
    for site in sites:
        s = [r.metrics["sae"]["sites"][site] for r in recs]
        col, dig = [x["best_colour"] for x in s], [x["best_digit"] for x in s]
        wins = sum(c > d for c, d in zip(col, dig))
        layer = site.split("/")[0]
        micro = [r.metrics["microscope"].get(layer) for r in recs]
        micro_cell = (f"{_fmt([m['colour_purity'] for m in micro], 2)} / {_fmt([m['digit_purity'] for m in micro], 2)}"
                      if all(micro) else "–")
        rows.append([model_id, str(len(s)), site, _fmt(col), _fmt(dig), f"{wins}/{len(s)} seeds",
                     _fmt([x["n_colour_selective"] for x in s], 1), _fmt([x["n_digit_selective"] for x in s], 1),
                     _fmt([x["fve"] for x in s]), _fmt([x["l0"] for x in s], 1), _fmt([x["dead_frac"] for x in s]),
                     _fmt([r.metrics["sae"]["acc_clean"] for r in recs]), _fmt([x["acc_spliced"] for x in s]),
                     _fmt([x["intervention_dp"] for x in s]), _fmt([x["ablation_pred_change"] for x in s]),
                     _fmt([x["ablation_conf_drop_mean"] for x in s], 4), micro_cell])
    return rows


def _randomisation_rows(model_id: str, recs: List[Record]) -> List[List[str]]:
    rows = []
    for method in recs[0].metrics["randomisation"]:
        rs = [r.metrics["randomisation"][method] for r in recs]
        rho = np.array([x["spearman"] for x in rs], dtype=float)
        stages = " → ".join(s.split("+")[-1] for s in rs[0]["stages"])
        per_stage = " → ".join(f"{v:.2f}" for v in np.nanmean(rho, 0))
        sob = _mean([x["baselines"].get("sobel") for x in rs])
        last, first = np.nanmean(rho[:, -1]), np.nanmean(rho[:, 0])
        falls = "✓" if (last < first and last < sob) else "⚠ no"
        rows.append([model_id, str(len(rs)), method, stages, per_stage,
                     _fmt([x["baselines"].get("random") for x in rs]), _fmt([x["baselines"].get("sobel") for x in rs]),
                     falls])
    return rows


def _seed_checks(model_id: str, recs: List[Record]) -> List[str]:
    out = []
    g = [r.metrics["attribution"].get("gradcam") for r in recs]
    if all(g):
        a = _mean([e["ratio_aligned"] for e in g])
        c = _mean([e["ratio_conflicting"] for e in g])
        verdict = "reproduces" if c > a else "does NOT reproduce"
        out.append(f"Seed check `{model_id}` (seed §5.5: Grad-CAM bg/stroke conflicting 0.90 > aligned 0.44, one "
                   f"image each): mean over images {c:.3f} vs {a:.3f} → {verdict}. Two-case images (first seed): "
                   + ", ".join(f"{k} {_ratio_text(v['ratio'])} (pred {v['pred']}, p {v['p_pred']:.3f})"
                               for k, v in recs[0].metrics["two_case"].items()) + ".")
    sites = recs[0].metrics["sae"]["sites"]
    ok = all(np.mean([r.metrics["sae"]["sites"][s]["best_colour"] for r in recs]) >
             np.mean([r.metrics["sae"]["sites"][s]["best_digit"] for r in recs]) for s in sites)
    out.append(f"Seed check `{model_id}` (seed §8.6: colour selectivity exceeds digit selectivity at every layer): "
               f"{'reproduces' if ok else 'does NOT reproduce'} (see diagnostics_selectivity.md).")
    return out


def _figures(model_id: str, recs: List[Record], fig_dir: Path) -> List[str]:
    from ..explain.figures import prototype_grid, two_case_figure

    paths = []
    first = recs[0]
    p = fig_dir / f"{model_id}_two_case.png"
    two_case_figure(first.metrics["two_case"], p, f"{model_id} seed {first.seed}: Grad-CAM, biased vs conflicting 0")
    paths.append(p)
    if "prototypes" in first.metrics:
        p = fig_dir / f"{model_id}_prototypes.png"
        prototype_grid(first.metrics["prototypes"], p, f"{model_id} seed {first.seed}: activation maximisation",
                       first.config["protocol"]["config"]["featviz_layers"])
        paths.append(p)
    series = {}
    for method in first.metrics["randomisation"]:
        rho = np.array([r.metrics["randomisation"][method]["spearman"] for r in recs], dtype=float)
        se = rho.std(0, ddof=1) / np.sqrt(len(recs)) if len(recs) > 1 else None
        series[method] = {"x": np.arange(1, rho.shape[1] + 1), "mean": np.nanmean(rho, 0), "se": se}
    sob = _mean([r.metrics["randomisation"][m]["baselines"].get("sobel") for r in recs
                 for m in first.metrics["randomisation"]])
    p = fig_dir / f"{model_id}_randomisation.png"
    plots.curves(series, p, f"{model_id}: Spearman ρ vs layers randomised (top-down); dotted = Sobel baseline (mean)",
                 "layers randomised (head first)", "Spearman ρ", hline=sob)
    paths.append(p)
    return [str(q.relative_to(fig_dir.parent.parent)) for q in paths]
