"""Tables of the ssl track, a pure function of its records: per dataset a row per method ×
readout (clean and robust accuracies at the headline ε, feature-difference norm), APGD-CE over
the ε grid, the Colored-MNIST shortcut table and the seed's §4 claims with verdicts.

Intervals (95 %): one seed → Wilson on the test images; several seeds → the wider of Student-t over
the per-seed accuracies and Wilson on the test images, clipped to [0, 100] %. Verdicts compare
intervals; overlapping → inconclusive."""
from __future__ import annotations

import math
from itertools import groupby
from typing import Dict, List, Optional, Sequence, Tuple

from ..results.record import Record
from ..results.stats import accuracy_interval, mean_se
from ..results.tables import Table
from .base import records_by_model

ATTACKS = (("fgsm", "FGSM"), ("apgd_ce", "APGD-CE"), ("apgd_ce10", "APGD-CE-10"), ("standard", "standard"))
CHANCE = 0.1
NOT_YET = "not yet measured"  # = results.findings.NOT_YET (a layer above tracks), which reads this row
Interval = Tuple[float, float, float]  # mean, low, high (fractions)


def interval(counts: Sequence[int], n: int) -> Interval:
    """Mean accuracy over seeds of ``counts`` correct out of ``n`` test images each: one seed gets
    Wilson; several get the wider of Student-t and Wilson (seeds that agree exactly, e.g. all 0,
    still leave the test set's noise; results.stats.accuracy_interval)."""
    return accuracy_interval([c / n for c in counts], n)


def fmt(iv: Optional[Interval]) -> str:
    if iv is None or math.isnan(iv[0]):
        return "–"
    return f"{100 * iv[0]:.1f} [{100 * iv[1]:.1f}, {100 * iv[2]:.1f}]"


def _eps_key(eps: float) -> str:
    return f"{eps:.6g}"


def accuracy(recs: List[Record], attack: str, eps: Optional[float] = None) -> Optional[Interval]:
    """``attack`` = "clean" or an attack name at ε (default: the records' headline ε)."""
    m0 = recs[0].metrics
    n = m0["n"]
    if attack == "clean":
        return interval([r.metrics["clean"] for r in recs], n)
    key = _eps_key(m0["headline_eps"] if eps is None else eps)
    if any(key not in r.metrics["robust"] for r in recs):
        return None
    return interval([r.metrics["robust"][key][attack] for r in recs], n)


def _mean_sd(values: Sequence[float]) -> str:
    vals = [v for v in values if v is not None and not math.isnan(v)]
    if not vals:
        return "–"
    m, se = mean_se(vals)
    return f"{m:.2f}" + (f" ± {se:.2f}" if not math.isnan(se) else "")


def _groups(records: List[Record]) -> Dict[str, Dict[str, List[Record]]]:
    """dataset → model id → records (most thorough profile per model), rows in the track's order."""
    from .ssl import method_readouts

    row = {pair: i for i, pair in enumerate(method_readouts())}
    out: Dict[str, Dict[str, List[Record]]] = {}
    by_model = records_by_model(records)

    def rank(mid: str):
        m = by_model[mid][0].metrics
        return row.get((m["method"], m["readout"]), len(row)), mid

    for mid in sorted(by_model, key=rank):
        recs = sorted(by_model[mid], key=lambda r: r.seed)
        out.setdefault(recs[0].metrics["dataset"], {})[mid] = recs
    return out


def adv_lr_cell(recs: List[Record]) -> str:
    """The adversarial readout's validation-chosen rate: one value when every seed chose it, otherwise
    each seed's, in seed order (seeds do differ: one seed's choice must not stand for the others')."""
    shown = [f"{v:g}" if v is not None else "–" for v in (r.metrics.get("adv_lr") for r in recs)]
    return shown[0] if len(set(shown)) == 1 else " / ".join(shown)


def main_table(dataset: str, models: Dict[str, List[Record]]) -> Table:
    rows = []
    for mid, recs in models.items():
        m = recs[0].metrics
        rows.append([m["method"], m["readout"], str(len(recs)), fmt(accuracy(recs, "clean"))]
                    + [fmt(accuracy(recs, a)) for a, _ in ATTACKS]
                    + [_mean_sd([r.metrics.get("feature_norm") for r in recs]),
                       adv_lr_cell(recs)])
    any_rec = next(iter(models.values()))[0]
    p = any_rec.config["protocol"]
    eps = any_rec.metrics["headline_eps"]
    notes = [f"Protocol `{any_rec.protocol}` ({any_rec.profile} profile): encoder {any_rec.config['pretrain']['arch']}, "
             f"{any_rec.config['pretrain']['epochs']} pre-training epoch(s) (SSL methods ×{p['ssl_epoch_factor']}) on "
             f"{p['pretrain']['train_size'] or 'all'} training images; accuracies on {any_rec.metrics['n']} test images, "
             f"ℓ∞ ε = {eps:.4g}, in % with 95 % intervals (one seed: Wilson; several: the wider of Student-t over "
             "seeds and Wilson).",
             "Readouts (seed 001 §4.1-4.3): joint = the supervised model's own head; standard = linear layer on the "
             "frozen encoder, Adam lr 1e-2, 5 epochs, batch 512, no augmentation; adversarial = that layer fine-tuned "
             "on APGD-CE-10 points of crop(+flip) augmented images, lr chosen on validation from "
             f"{', '.join(f'{v:g}' for v in p['adversarial']['lrs'])} (column 'adv lr', each seed's in seed order "
             "where they differ; a tie goes to the smaller rate, so where no rate helps the adversarial readout stays "
             "at the standard one).",
             f"Attacks: FGSM; APGD-CE with {p['eval']['apgd_steps']} and {p['eval']['apgd_short_steps']} steps; "
             f"standard = APGD-CE → APGD-T ({p['eval']['n_targets']} targets) → Square "
             f"({p['eval']['square_queries']} queries), per-point worst case. ‖Δf‖₂ = mean ‖f(x_adv) − f(x)‖₂ of the "
             "encoder under APGD-CE (final point) over the clean-correct test images (mean ± SE over seeds)."]
    gaps = coverage_gaps(models)
    if gaps:
        notes.append(f"Incomplete (training in progress or a narrowed run): {gaps}.")
    cols = ["method", "readout", "seeds", "clean", *(label for _, label in ATTACKS), "‖Δf‖₂", "adv lr"]
    return Table(f"ssl_{dataset}" if dataset != "digits" else "ssl",
                 f"SSL track on {dataset}: clean and robust accuracy (%) by pre-training method and readout "
                 "(seed 001 §4)", cols, rows, notes)


def eps_table(dataset: str, models: Dict[str, List[Record]]) -> Optional[Table]:
    grid = sorted({float(k) for recs in models.values() for k in recs[0].metrics["robust"]})
    if len(grid) < 2:
        return None
    rows = [[recs[0].metrics["method"], recs[0].metrics["readout"]] + [fmt(accuracy(recs, "apgd_ce", e)) for e in grid]
            for recs in models.values()]
    return Table(f"ssl_{dataset}_eps", f"SSL track on {dataset}: APGD-CE accuracy (%) over the ε grid",
                 ["method", "readout", *(f"ε = {e:.4g}" for e in grid)], rows,
                 ["ℓ∞; 95 % intervals as in the main table. The digits' grid and why: shortcutbench/ssl/data.py."])


def shortcut_table(models: Dict[str, List[Record]]) -> Optional[Table]:
    rows = []
    for recs in models.values():
        s = [r.metrics.get("shortcut") for r in recs]
        if not all(s):
            return None
        n = s[0]["hard_n"]
        hard = interval([round(v["hard_acc"] * n) for v in s], n)
        rows.append([recs[0].metrics["method"], recs[0].metrics["readout"], str(len(recs)), fmt(hard),
                     fmt(interval([round(v["digit_probe"] * n) for v in s], n)),
                     fmt(interval([round(v["colour_probe"] * n) for v in s], n)),
                     _mean_sd([v["colour_share"] for v in s])])
    if not rows:
        return None
    return Table("ssl_colored_mnist_shortcut",
                 "SSL track on Colored-MNIST: does the encoder take the colour shortcut? (seed 001 §2.7.1)",
                 ["method", "readout", "seeds", "hard acc", "digit probe", "colour probe", "colour share"], rows,
                 ["hard acc: the classifier (encoder + readout) on test digits painted in a non-dominant colour "
                  "(training: 95 % of each digit in its dominant colour). Probes: linear layers (standard readout "
                  "recipe) predicting digit or colour from the frozen features, fitted on hard images of half of the "
                  "test digits, scored on the other half, where colour carries no digit information. colour share = "
                  "(colour − 10 %) / ((colour − 10 %) + (digit − 10 %)): 0 = features hold digit only, 1 = colour only."])


def coverage_gaps(models: Dict[str, List[Record]]) -> str:
    """What a dataset's records lack of the complete protocol: every method × readout of the track
    (``tracks.ssl.METHOD_ORDER``) with the protocol's seeds ("" when complete). The §4 claims compare
    methods, so they are judged only on the complete set, never on the encoders trained so far."""
    from .ssl import method_readouts

    have = {(r[0].metrics["method"], r[0].metrics["readout"]): len(r) for r in models.values()}
    first = next(iter(models.values()))[0]
    seeds = int(first.config.get("protocol", {}).get("seeds", 1))
    absent, short = [], []
    for method, pairs in groupby(method_readouts(), key=lambda pair: pair[0]):
        got = {readout: have.get((method, readout), 0) for _, readout in pairs}
        alike = len(set(got.values())) == 1  # then name the method, not each readout
        for readout, n in got.items():
            label = method if alike else f"{method}/{readout}"
            if n == 0:
                absent.append(label)
            elif n < seeds:
                short.append(f"{label} ({n} of {seeds})")
            if alike:
                break
    parts = ([f"no records for {', '.join(absent)}"] if absent else []) + \
            ([f"seeds short for {', '.join(short)}"] if short else [])
    return "; ".join(parts)


def _separated(a: Interval, b: Interval) -> int:
    """+1: a above b with disjoint intervals, −1: below, 0: overlapping."""
    return 1 if a[1] > b[2] else -1 if a[2] < b[1] else 0


def above_chance(recs: List[Record]) -> bool:
    """Robust accuracy says something only about a classifier that beats chance on clean data."""
    return accuracy(recs, "clean")[1] > CHANCE


def findings_table(groups: Dict[str, Dict[str, List[Record]]]) -> Optional[Table]:
    from ..ssl.methods import create_method

    rows = []
    for dataset, models in groups.items():
        gaps = coverage_gaps(models)
        if gaps:
            rows.append([dataset, "the seed's §4 claims", gaps, NOT_YET])
            continue
        at_chance = [k for k, v in models.items() if not above_chance(v)]
        models = {k: v for k, v in models.items() if k not in at_chance}
        if at_chance:
            rows.append([dataset, "(models left out: clean accuracy not above chance)",
                         ", ".join(f"{models_label(k)}" for k in at_chance), "not judged"])
        by = {(r[0].metrics["method"], r[0].metrics["readout"]): r for r in models.values()}
        ssl = {k: v for k, v in by.items() if create_method(k[0]).self_supervised and k[0] != "supervised_simclr"}
        sup = by.get(("supervised", "joint"))
        if sup and ssl:
            ref = accuracy(sup, "apgd_ce")
            cmp = {k: _separated(accuracy(v, "apgd_ce"), ref) for k, v in ssl.items() if k[1] == "standard"}
            verdict = ("refuted" if any(c > 0 for c in cmp.values()) else
                       "holds" if cmp and all(c < 0 for c in cmp.values()) else "inconclusive")
            rows.append([dataset, "SSL encoders are no more robust than supervised (§4.2, §4.4)",
                         f"APGD-CE: supervised {fmt(ref)}; " + "; ".join(
                             f"{k[0]} {fmt(accuracy(ssl[k], 'apgd_ce'))}" for k in cmp), verdict])
        over = [_separated(accuracy(v, "fgsm"), accuracy(v, "apgd_ce")) for v in models.values()]
        fg_verdict = ("not judged" if not over else "holds" if all(o > 0 for o in over) else
                      "refuted" if any(o < 0 for o in over) else "inconclusive")
        rows.append([dataset, "FGSM overestimates robustness relative to APGD-CE (§4.2 obs. 3)",
                     f"FGSM above APGD-CE with disjoint intervals for {sum(o > 0 for o in over)} of {len(over)} "
                     "models", fg_verdict])
        adv = {k: v for k, v in ssl.items() if k[1] == "adversarial"}
        if adv:
            rel = [_separated(accuracy(v, "apgd_ce"), (CHANCE, CHANCE, CHANCE)) for v in adv.values()]
            verdict = "refuted" if any(r > 0 for r in rel) else "holds" if all(r < 0 for r in rel) else "inconclusive"
            rows.append([dataset, "adversarial readouts do not rescue SSL: APGD-CE accuracy stays below chance (§4.3)",
                         "; ".join(f"{k[0]} {fmt(accuracy(v, 'apgd_ce'))}" for k, v in adv.items()), verdict])
    if not rows:
        return None
    return Table("ssl_findings", "SSL track: the thesis's §4 claims, checked (seed 001 §4)",
                 ["dataset", "claim", "what we measured (% [95 % interval])", "verdict"], rows,
                 ["Judged only on a dataset's complete set (every method × readout, the protocol's seeds); "
                  f"until then '{NOT_YET}' names what is missing.",
                  "Fixed rules at the headline ε: holds / refuted when every / some interval is separated in the "
                  "claim's / the opposite direction, inconclusive when intervals overlap. Models whose clean "
                  "accuracy interval does not clear chance are left out (their robustness means nothing). SSL = simclr, simsiam, "
                  "barlow_twins (supervised SimCLR uses labels). 'Chance' is 10 % (ten classes)."])


def models_label(model_id: str) -> str:
    """``arch.method.readout.dataset`` → ``method/readout``."""
    parts = model_id.split(".")
    return "/".join(parts[1:3]) if len(parts) >= 4 else model_id


def render(track, records: List[Record]) -> List[Table]:
    groups = _groups(records)
    tables: List[Table] = []
    for dataset, models in groups.items():
        tables.append(main_table(dataset, models))
        extra = eps_table(dataset, models)
        if extra:
            tables.append(extra)
        if dataset == "colored_mnist":
            sc = shortcut_table(models)
            if sc:
                tables.append(sc)
    f = findings_table(groups)
    if f:
        tables.append(f)
    return tables
