"""The seed claims of the findings table, one registered function each (:data:`.findings.CLAIMS`).

Each reads the current records of the tracks it needs (``by_track``: track → records under a
current preset), computes our statistic with a 95 % interval and applies one of the fixed rules
of :mod:`.findings`; without the records it names what it needs. Seed numbers are quoted with
their section; thresholds that turn a seed's wording into a test are stated in the row.
"""
from __future__ import annotations

import math
from dataclasses import astuple
from functools import partial
from typing import Dict, Iterable, List, Mapping, Sequence, Tuple

import numpy as np

from ..tracks.base import TRACKS, records_by_model
from ..tracks.shortcut_zoo_render import HARD_IMAGES_PER_DIGIT, _counts
from ..zoo.erm_choice import SEED_HARD
from .findings import (ALPHA, CLAIMS, COLUMNS, DOES_NOT, INCONCLUSIVE, MIN_SEEDS, NOT_YET, REPRODUCES, Finding,
                       current_by_track, exact_verdict, not_measured, ordering_verdict, records_cell,
                       threshold_verdict, with_reason)
from .record import Record
from .tables import Table
from .stats import clopper_pearson, cluster_bootstrap, fisher_exact_p, mean_se, t_interval

BASELINE = "lazy_cnn.erm"
ByTrack = Mapping[str, List[Record]]


# ------------------------------------------------------------------ helpers
def _models(by_track: ByTrack, track: str) -> Dict[str, List[Record]]:
    """model id → its current records (most thorough profile), sorted by seed."""
    return {m: sorted(v, key=lambda r: r.seed) for m, v in records_by_model(by_track.get(track, [])).items()}


def _needs(track: str, models: Sequence[str]) -> str:
    preset = TRACKS.get(track)().presets().get("full")
    return f"`{track}` records under `{getattr(preset, 'name', track)}` for {', '.join(models)}"


def _pct(v: float) -> str:
    return f"{100 * v:.1f} %"


def _ci_pct(point: float, lo: float, hi: float) -> str:
    return f"{100 * point:.1f} % [{100 * lo:.1f}, {100 * hi:.1f}]"


def _seed_t(values: Sequence[float], clamp: bool = False) -> Tuple[float, float, float]:
    """Mean over seeds and its Student-t 95 % interval (NaN bounds with one seed); shares clamped to [0, 1]."""
    m, _ = mean_se(values)
    lo, hi = t_interval(values) if len(values) >= MIN_SEEDS else (math.nan, math.nan)
    if clamp and not math.isnan(lo):
        lo, hi = max(lo, 0.0), min(hi, 1.0)
    return m, lo, hi


def _enough_seeds(n_seeds: int, verdict: str) -> str:
    """One training seed: its interval cannot hold seed-to-seed variation, so no verdict."""
    return verdict if n_seeds >= MIN_SEEDS else with_reason(INCONCLUSIVE, f"{n_seeds} seed(s), need ≥ {MIN_SEEDS}")


def _count_cell(label: str, k: int, n: int) -> str:
    lo, hi = clopper_pearson(k, n)
    return f"{label} {k}/{n} = {_ci_pct(k / n, lo, hi)}" if n else f"{label} 0/0"


def _seed_rates_cell(seed_rates: Mapping[str, float], counts: Mapping[str, Tuple[int, int]]) -> str:
    """Which of the seed's rates fall outside our Clopper–Pearson intervals (the order test alone
    would hide a magnitude far from the seed's)."""
    outside = [label for label, v in seed_rates.items() if counts[label][1]
               and not clopper_pearson(*counts[label])[0] <= v <= clopper_pearson(*counts[label])[1]]
    return ("the seed's rate lies outside our interval for " + ", ".join(outside) if outside
            else "the seed's rates lie inside our intervals")


# ------------------------------------------------------------------ seed 000 (Colored-MNIST)
NEAR_CHANCE = 0.20  # "near random (10 % baseline)", 000 §3.3, read as at most twice chance


@CLAIMS.register("000.3.3-erm-gap")
def erm_gap(by_track: ByTrack) -> List[Finding]:
    claim = "ERM at the seed's budget (SGD, 4 epochs) reads colour: near chance on the hard split"
    seed = f"hard {100 * SEED_HARD:.2f} %, Easy Val 95.70 % after 4 epochs (000 §3.3)"
    test = ("hard accuracy (90,000 images), percentile bootstrap over test digits × seeds; claim: < "
            f"{100 * NEAR_CHANCE:.0f} % (near chance: at most twice the 10 % of guessing)")
    recs = _models(by_track, "shortcut").get(BASELINE)
    if not recs:
        return [not_measured(claim, seed, test, _needs("shortcut", [BASELINE]))]
    point, lo, hi = cluster_bootstrap(_counts(recs), HARD_IMAGES_PER_DIGIT)
    where = "inside" if lo <= SEED_HARD <= hi else ("above" if SEED_HARD > hi else "below")
    ours = (f"hard {_ci_pct(point, lo, hi)}, easy {_pct(np.mean([r.metrics['easy_acc'] for r in recs]))} "
            f"({len(recs)} seeds); the seed's {100 * SEED_HARD:.1f} % lies {where} our interval")
    verdict = _enough_seeds(len(recs), threshold_verdict(lo, hi, NEAR_CHANCE, claim_above=False))
    return [Finding(claim, seed, ours, test, records_cell(recs), verdict)]


GREEN_SHARE = 0.90  # "all the digits were predicted as 1", 000 §3.5, allowing one digit in ten


@CLAIMS.register("000.3.5-recolour-green")
def recolour_green(by_track: ByTrack) -> List[Finding]:
    claim = "painted green (digit 1's colour), ERM reads held-out digits of other classes as 1"
    seed = "all of them (000 §3.5)"
    test = (f"share read as 1, per seed on the probe digits; Student t over seeds, clamped to [0, 1]; claim: > "
            f"{100 * GREEN_SHARE:.0f} % (the seed: all)")
    recs = _models(by_track, "shortcut").get(BASELINE)
    if not recs:
        return [not_measured(claim, seed, test, _needs("shortcut", [BASELINE]))]
    m, lo, hi = _seed_t([r.metrics["recolor_probe"]["green"] for r in recs], clamp=True)
    ours = (_ci_pct(m, lo, hi) if not math.isnan(lo) else _pct(m)) + f" ({len(recs)} seeds)"
    verdict = _enough_seeds(len(recs), threshold_verdict(lo, hi, GREEN_SHARE, claim_above=True))
    return [Finding(claim, seed, ours, test, records_cell(recs), verdict)]


@CLAIMS.register("000.5.5-gradcam-ratio")
def gradcam_ratio(by_track: ByTrack) -> List[Finding]:
    claim = "Grad-CAM spreads to the background when colour and shape conflict: bg/stroke conflicting > aligned"
    seed = "bg/stroke 0.90 (green 0) vs 0.44 (red 0), one image each (000 §5.5)"
    test = ("per seed: mean bg/stroke over the scored conflicting images − over the aligned ones (records carry "
            "per-seed means, not per-image ratios); paired Student t over seeds; claim: > 0")
    recs = _models(by_track, "diagnostics").get(BASELINE)
    if not recs:
        return [not_measured(claim, seed, test, _needs("diagnostics", [BASELINE]))]
    maps = (r.metrics.get("attribution", {}).get("gradcam", {}) for r in recs)
    pairs = [(g["ratio_aligned"], g["ratio_conflicting"]) for g in maps
             if g.get("ratio_aligned") is not None and g.get("ratio_conflicting") is not None]
    if not pairs:
        return [Finding(claim, seed, "– (map 0 on the stroke in every seed)", test, records_cell(recs),
                        with_reason(INCONCLUSIVE, "no finite ratio"))]
    d, lo, hi = _seed_t([c - a for a, c in pairs])
    images = recs[0].config.get("protocol", {}).get("config", {}).get("images_per_side", "?")
    ours = (f"conflicting {np.mean([c for _, c in pairs]):.2f} vs aligned {np.mean([a for a, _ in pairs]):.2f}; "
            f"Δ {d:+.2f}" + (f" [{lo:+.2f}, {hi:+.2f}]" if not math.isnan(lo) else "")
            + f" ({len(pairs)} seeds × {images} images per side)")
    verdict = _enough_seeds(len(pairs), threshold_verdict(lo, hi, 0.0, claim_above=True))
    return [Finding(claim, seed, ours, test, records_cell(recs), verdict)]


def _mitigation(model: str, label: str, seed: str, by_track: ByTrack) -> List[Finding]:
    claim = f"{label} fixes the shortcut by itself: it beats the same training without it"
    test = ("paired Δ hard vs the matched control (same optimiser family and budget), percentile bootstrap over "
            "test digits × shared seeds; claim: Δ > 0")
    models = _models(by_track, "shortcut")
    recs = models.get(model)
    if not recs:
        return [not_measured(claim, seed, test, _needs("shortcut", [model]))]
    control = recs[0].metrics.get("control")
    ctrl = models.get(control or "")
    if not ctrl:
        return [not_measured(claim, seed, test, _needs("shortcut", [control or "its matched control"]))]
    point, lo, hi = cluster_bootstrap(_counts(recs), HARD_IMAGES_PER_DIGIT)
    shared = sorted({r.seed for r in recs} & {r.seed for r in ctrl})
    a = _counts([r for r in recs if r.seed in shared])
    b = _counts([r for r in ctrl if r.seed in shared])
    d, dlo, dhi = cluster_bootstrap(a, HARD_IMAGES_PER_DIGIT, control=b)
    ours = (f"hard {_ci_pct(point, lo, hi)}; Δ {100 * d:+.1f} pp [{100 * dlo:+.1f}, {100 * dhi:+.1f}] vs "
            f"{control.split('.', 1)[1]} ({len(shared)} shared seeds)")
    verdict = _enough_seeds(len(shared), threshold_verdict(dlo, dhi, 0.0, claim_above=True))
    return [Finding(claim, seed, ours, test, records_cell(recs + ctrl), verdict)]


SEED_MITIGATIONS = (  # (claim id, zoo model, the seed's name, the seed's number)
    ("000.6.1-dann-fixa", "lazy_cnn.dann_fixa", "DANN-FixA",
     "hard 77.75 % after 15 epochs (000 §6.1), credited against ERM's 11.5 % (§3.3)"),
    ("000.6.2-saliency", "lazy_cnn.saliency_bg", "the saliency penalty with chroma masking",
     "hard 70.16 % after 10 epochs (000 §6.2)"),
    ("000.6.3-cf-invar", "lazy_cnn.cf_invar", "CF-INVAR", "hard 95.52 % after 10 epochs (000 §6.3)"),
)
for _id, _model, _label, _seed in SEED_MITIGATIONS:
    CLAIMS.register(_id)(partial(_mitigation, _model, _label, _seed))


def _successes(recs: List[Record], eps_max: float) -> Tuple[int, int]:
    """(images fooled within ε_max, images attacked) of the 7→3 study, pooled over seeds."""
    eps = [e for r in recs for e in r.metrics.get("min_eps", {}).get("eps_min", [])]
    return sum(e is not None and e <= eps_max for e in eps), len(eps)


SEED_7TO3 = {"lazy_cnn.erm": 0.20, "lazy_cnn.dann_fixa": 0.50, "lazy_cnn.saliency_bg": 0.40,
             "lazy_cnn.cf_invar": 0.60}  # 000 §7.5: success within ε ≤ 0.05 of the baseline and the three mitigations


@CLAIMS.register("000.7.5-targeted-7to3")
def targeted_7to3(by_track: ByTrack) -> List[Finding]:
    from ..tracks.attack import SEED_COMPARED

    claim = "the colour-following baseline is the hardest to fool 7→3; each seed mitigation is fooled more often"
    seed = ("success within ε ≤ 0.05 (P(3) ≥ 0.9): baseline 20 %, DANN 50 %, CF-INVAR 60 %, saliency 40 %; "
            "N = 20 (000 §7.5–7.6)")
    test = ("successes over the eligible reference 7s (pooled over seeds), Clopper–Pearson; each mitigation vs the "
            "baseline by Fisher's exact test; claim: every mitigation higher at p < 0.05")
    models = _models(by_track, "attack")
    missing = [m for m in SEED_COMPARED if m not in models]
    if missing:
        return [not_measured(claim, seed, test, _needs("attack", missing))]
    eps_max = models[BASELINE][0].config.get("protocol", {}).get("eps_max", 0.05)
    label = {m: "baseline" if m == BASELINE else m.split(".", 1)[1] for m in SEED_COMPARED}
    counts = {label[m]: _successes(models[m], eps_max) for m in SEED_COMPARED}
    kb, nb = counts["baseline"]
    cells, steps = [_count_cell("baseline", kb, nb)], []
    for m in SEED_COMPARED[1:]:
        k, n = counts[label[m]]
        p = fisher_exact_p(k, n, kb, nb) if n and nb else None
        steps.append((k / n if n else math.nan, kb / nb if nb else math.nan, p))
        cells.append(_count_cell(label[m], k, n) + (f", p = {p:.3g}" if p is not None else ""))
    cells.append(_seed_rates_cell({label[m]: v for m, v in SEED_7TO3.items() if m in label}, counts))
    recs = [r for m in SEED_COMPARED for r in models[m]]
    return [Finding(claim, seed, "; ".join(cells), test, records_cell(recs), ordering_verdict(steps))]


SAE_SITES = ("relu1", "relu2", "relu3", "gap")  # the spatial-mean sites of 000 §8.6


@CLAIMS.register("000.8.6-sae-selectivity")
def sae_selectivity(by_track: ByTrack) -> List[Finding]:
    claim = "ERM's SAE latents are more colour- than digit-selective at every layer"
    seed = "colour ≈ 0.92–0.96 vs digit ≈ 0.47–0.74 (spatial mean; 000 §8.6)"
    test = ("per layer (relu1, relu2, relu3, gap; spatial mean): best colour − best digit excess η² of an SAE latent, "
            "paired Student t over seeds; claim: > 0 at every layer")
    recs = _models(by_track, "diagnostics").get(BASELINE)
    if not recs:
        return [not_measured(claim, seed, test, _needs("diagnostics", [BASELINE]))]
    cells, verdicts = [], []
    for layer in SAE_SITES:
        sites = [r.metrics["sae"]["sites"].get(f"{layer}/spatial_mean") for r in recs]
        diffs = [s["best_colour"] - s["best_digit"] for s in sites if s]
        d, lo, hi = _seed_t(diffs)
        cells.append(f"{layer} {d:+.2f}" + (f" [{lo:+.2f}, {hi:+.2f}]" if not math.isnan(lo) else ""))
        verdicts.append(_enough_seeds(len(diffs), threshold_verdict(lo, hi, 0.0, claim_above=True)))
    if DOES_NOT in verdicts:
        verdict = DOES_NOT
    elif all(v == REPRODUCES for v in verdicts):
        verdict = REPRODUCES
    else:
        verdict = with_reason(INCONCLUSIVE, "not every layer separates from 0")
    return [Finding(claim, seed, "; ".join(cells) + f" ({len(recs)} seeds)", test, records_cell(recs), verdict)]


# ------------------------------------------------------------------ seed 001 (L-T, causal scenes)
def _lt_full(by_track: ByTrack):
    return next((r for r in by_track.get("provable", []) if r.model_id == "lt/ext-full"), None)


@CLAIMS.register("001.6.2a-lt-extended-robust")
def lt_extended_robust(by_track: ByTrack) -> List[Finding]:
    claim = "standard training on the full L-T extended set: 100 % on the set and 100 % PGD-robust on the 8 images"
    seed = "100 % on all 344,373,768 samples, 100 % robust accuracy at ε = 0.4 (001 §6.2.2)"
    test = ("exact: every extended sample classified, all 8 base images attacked (PGD, α = 0.1ε, 50 steps); no "
            "sampling; one training run, as in the seed")
    r = _lt_full(by_track)
    if r is None:
        return [not_measured(claim, seed, test, _needs("provable", ["lt/ext-full"]))]
    m, eps = r.metrics, r.config["protocol"]["attack_eps"]
    pgd = dict(zip(m["pgd_eps"], m["pgd_acc"]))
    wrong = m.get("full_ext_wrong")
    warm = (f"; warm start from {m['warm_start']}, then {m.get('train_steps', '?')} steps on the full set"
            if m.get("warm_start", "none") != "none" else "")
    ours = (f"extended set: {wrong if wrong is not None else '?'} of {m['train_set_size']:,} wrong "
            f"({100 * m.get('full_ext_acc', math.nan):.5f} %); PGD robust @ {eps:g}: "
            f"{round(8 * pgd.get(eps, math.nan))}/8{warm}")
    holds = m.get("full_ext_acc") == 1.0 and pgd.get(eps) == 1.0
    return [Finding(claim, seed, ours, test, records_cell([r]), exact_verdict(holds))]


@CLAIMS.register("001.6.2b-lt-certificate")
def lt_certificate(by_track: ByTrack) -> List[Finding]:
    claim = "that model is provably robust: no ℓ∞ perturbation ≤ ε changes any of the 8 labels (the §6.2.2 theorem)"
    seed = "theorem: 100 % on the extended set ⇒ robust at attack ε = 0.4 < dataset ε = 0.41 (001 §6.2.2)"
    test = "exact LP certificate per image (radius > ε), ℓ∞ box and box ∩ [0, 1]; no sampling; one training run"
    r = _lt_full(by_track)
    if r is None:
        return [not_measured(claim, seed, test, _needs("provable", ["lt/ext-full"]))]
    m, eps = r.metrics, r.config["protocol"]["attack_eps"]
    plain = sum(v > eps for v in m["exact_radius_plain"])
    clip = sum(v > eps for v in m["exact_radius_clip"])
    ours = (f"certified {plain}/8 (box), {clip}/8 (box ∩ [0, 1]) at ε = {eps:g}; smallest exact radius "
            f"{min(m['exact_radius_plain']):.4f} (box)")
    return [Finding(claim, seed, ours, test, records_cell([r]), exact_verdict(plain == clip == 8))]


_SSL_VERDICTS = (("holds", REPRODUCES), ("refuted", DOES_NOT), ("inconclusive", INCONCLUSIVE),
                 ("not judged", INCONCLUSIVE))


@CLAIMS.register("001.4-ssl")
def ssl(by_track: ByTrack) -> List[Finding]:
    """The ssl track's §4 claims, folded in from its own rules (ssl_findings.md)."""
    from ..tracks.ssl_render import _groups, findings_table

    claim, seed = "self-supervised encoders are no more robust than supervised ones", "001 §4.2–4.4"
    test = ("the ssl track's fixed rule (ssl_findings.md): Wilson / seed intervals at the headline ε, separated "
            "or not; models not above chance on clean data are left out")
    recs = by_track.get("ssl", [])
    groups = _groups(recs)
    table = findings_table(groups) if recs else None
    if table is None:
        return [not_measured(claim, seed, test, _needs("ssl", ["its encoders"]))]
    out = []
    for dataset, text, measured, theirs in table.rows:
        if text.startswith("(models left out"):
            continue  # bookkeeping, not a claim: the rule already excludes them
        if theirs == NOT_YET:
            needs = f"{_needs('ssl', ['its encoders'])}: {measured}"  # what the dataset's records lack
            out.append(not_measured(f"{dataset}: {claim}", seed, test, needs))
            continue
        label = next((ours for key, ours in _SSL_VERDICTS if theirs.startswith(key)), INCONCLUSIVE)
        reason = "no model above chance" if theirs.startswith("not judged") else ""
        judged = [r for model in groups.get(dataset, {}).values() for r in model]  # this dataset's alone
        out.append(Finding(f"{dataset}: {text}", seed, measured, test, records_cell(judged),
                           with_reason(label, reason)))
    return out


_CAUSAL_VERDICTS = (("reproduced", REPRODUCES), ("refuted", DOES_NOT), ("inconclusive", INCONCLUSIVE),
                    ("no verdict", INCONCLUSIVE), ("not tested", INCONCLUSIVE))


@CLAIMS.register("001.7-causal")
def causal(by_track: ByTrack) -> List[Finding]:
    """The causal track's §7 claims, folded in from its own findings rules (causal_findings.md)."""
    from ..tracks.causal_render import _findings

    claim, seed = "the causal track's §7 claims", "001 §7"
    test = ("the causal track's fixed rule (causal_findings.md): 95 % Student t over training seeds vs the claim's "
            "threshold; certificate violations counted exactly")
    models = _models(by_track, "causal")
    if not models:
        return [not_measured(claim, seed, test, _needs("causal", ["its encoders"]))]
    recs = [r for v in models.values() for r in v]
    out = []
    for text, measured, theirs in _findings(models).rows:
        label = next((ours for key, ours in _CAUSAL_VERDICTS if theirs.startswith(key)), INCONCLUSIVE)
        reason = "" if theirs.startswith(("reproduced", "refuted")) else theirs
        out.append(Finding(text, "in the claim (001 §7)", measured, test, records_cell(recs), with_reason(label, reason)))
    return out


# ------------------------------------------------------------------ seed 002 (sparse decision layers)
SPARSE_DROP = 0.05  # "small impact on accuracy": the 5 % of the selection rule (002 §3.1, App. D.1.1)


@CLAIMS.register("002.3.1-sparse-accuracy")
def sparse_accuracy(by_track: ByTrack) -> List[Finding]:
    claim = "a sparse decision layer uses far fewer features at a small cost in accuracy"
    seed = ("10–100× sparser (e.g. ~20 of 2,048 features/class on ImageNet) with a small accuracy drop "
            "(002 §3.1, Fig. 3a)")
    test = ("dense − sparse accuracy on the easy test split (in-distribution), paired Student t over seeds; "
            f"claim: < {100 * SPARSE_DROP:.0f} pp")
    recs = _models(by_track, "sparse").get(BASELINE)
    if not recs:
        return [not_measured(claim, seed, test, _needs("sparse", [BASELINE]))]
    m = [r.metrics for r in recs]
    d, lo, hi = _seed_t([x["dense_easy_acc"] - x["sparse_easy_acc"] for x in m])
    ours = (f"ERM: dense {_pct(np.mean([x['dense_easy_acc'] for x in m]))}, sparse "
            f"{_pct(np.mean([x['sparse_easy_acc'] for x in m]))}; drop {100 * d:+.1f} pp"
            + (f" [{100 * lo:+.1f}, {100 * hi:+.1f}]" if not math.isnan(lo) else "")
            + f"; {np.mean([x['features_per_class_mean'] for x in m]):.1f} features/class of {m[0]['n_features']} "
            f"({len(recs)} seeds)")
    verdict = _enough_seeds(len(recs), threshold_verdict(lo, hi, SPARSE_DROP, claim_above=False))
    return [Finding(claim, seed, ours, test, records_cell(recs), verdict)]


# ------------------------------------------------------------------ seed 004 (excessive invariance)
NSPGD_MODELS = (("Normal", "lazy_cnn.erm"), ("AT", "lazy_cnn.pgd_at"), ("CCAT", "lazy_cnn.ccat"))
SEED_NSPGD = {"Normal": 0.8858, "AT": 0.6826, "CCAT": 0.0287}  # 004 Table 1, MNIST
CONFIDENT_TAU = 0.5  # CCAT rejects by low confidence, so it must be confident on clean digits (issue 18)


def _nspgd_count(recs: List[Record]) -> Tuple[int, int]:
    """(pairs that reached their target image, pairs) under the first projection, pooled over seeds."""
    k = n = 0
    for r in recs:
        proj = (r.config.get("protocol", {}).get("projections") or ["halfspace"])[0]
        pairs = int(r.metrics["pairs"])
        k += int(round(r.metrics[proj]["success"] * pairs))
        n += pairs
    return k, n


@CLAIMS.register("004.6-nspgd-ordering")
def nspgd_ordering(by_track: ByTrack) -> List[Finding]:
    claim = "NSPGD fools a normally trained model most, adversarial training less, CCAT least"
    seed = "MNIST success: Normal 0.886 > AT 0.683 > CCAT 0.029 (004 Table 1)"
    test = ("NSPGD success over (target, source) pairs, Clopper–Pearson; Normal vs AT and AT vs CCAT by Fisher's "
            f"exact test; claim: both steps at p < 0.05; the CCAT step only on a confident CCAT "
            f"(τ@99 %TPR ≥ {CONFIDENT_TAU:g})")
    models = _models(by_track, "invariance")
    missing = [m for _, m in NSPGD_MODELS if m not in models]
    if missing:
        return [not_measured(claim, seed, test, _needs("invariance", missing))]
    counts = {label: _nspgd_count(models[m]) for label, m in NSPGD_MODELS}
    tau = float(np.mean([r.metrics["tau_99tpr"] for r in models["lazy_cnn.ccat"]]))
    rerr = float(np.mean([r.metrics["rerr_99tpr"] for r in models["lazy_cnn.ccat"]]))
    confident = tau >= CONFIDENT_TAU
    cells, steps = [_count_cell(label, *counts[label]) for label, _ in NSPGD_MODELS], []
    for (hi_label, _), (lo_label, _) in zip(NSPGD_MODELS, NSPGD_MODELS[1:]):
        (k1, n1), (k2, n2) = counts[hi_label], counts[lo_label]
        p = fisher_exact_p(k1, n1, k2, n2)
        cells.append(f"p({hi_label} vs {lo_label}) = {p:.3g}")
        steps.append((k1 / n1, k2 / n2, p if (lo_label != "CCAT" or confident) else None))
    cells.append(f"CCAT τ@99 %TPR {tau:.2f}, RErr@99 %TPR {_pct(rerr)}")
    cells.append(_seed_rates_cell(SEED_NSPGD, counts))
    verdict = ordering_verdict(steps)
    if not confident and verdict.startswith(INCONCLUSIVE):
        verdict = f"{verdict}; CCAT not confident (τ@99 %TPR {tau:.2f} < {CONFIDENT_TAU:g}), its step untested"
    recs = [r for _, m in NSPGD_MODELS for r in models[m]]
    return [Finding(claim, seed, "; ".join(cells), test, records_cell(recs), verdict)]


__all__ = ["SEED_MITIGATIONS", "NEAR_CHANCE", "GREEN_SHARE", "SPARSE_DROP", "CONFIDENT_TAU"]


# ------------------------------------------------------------------ the table (here, where every claim is registered)
def findings(records: Iterable[Record]) -> List[Finding]:
    by_track = current_by_track(records)
    return [f for claim_id in CLAIMS.list() for f in CLAIMS.get(claim_id)(by_track)]


def findings_table(records: Iterable[Record]) -> Table:
    rows = [list(astuple(f)) for f in findings(records)]
    notes = [
        "One row per seed claim the project tests. **Verdict rule:** *reproduces* when the whole 95 % interval of "
        "our statistic lies on the claim's side of the threshold named under *test*; *does not reproduce* when it "
        "lies wholly on the other side; *inconclusive* otherwise: the interval touches or holds the threshold, a "
        f"pairwise test is not significant (two-sided, p < {ALPHA:g}), or there are fewer than {MIN_SEEDS} "
        "training seeds (one seed's interval holds test-set sampling only). Claims about a whole finite set "
        "(every sample enumerated, an exact certificate) need no interval.",
        "Only records made under a track's current protocol preset count; a claim without them reads *not yet "
        "measured* and names the records it needs, never a number from an older protocol. *records*: preset, "
        "seeds and the code commit of every record behind the row.",
        "Intervals: shortcut accuracies and paired Δs: percentile bootstrap over test digits × seeds "
        "(`cluster_bootstrap`); per-seed summaries: Student t over seeds, clamped to [0, 1] for shares; counts "
        "of images or pairs: Clopper–Pearson; comparisons of counts: Fisher's exact test. Track tables: "
        "shortcut.md, attack_min_eps.md, invariance.md, diagnostics_summary.md, sparse.md, provable_findings.md, "
        "causal_findings.md, ssl_findings.md.",
    ]
    return Table("findings", "Findings: the seeds' claims, re-decided on the current records", COLUMNS, rows, notes)
