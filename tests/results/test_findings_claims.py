"""Each seed claim of the findings table, on synthetic records built so that the verdict and the
numbers can be worked out by hand (derivations in the comments), never read from the code."""
import pytest

from shortcutbench.results import findings_claims as fc
from shortcutbench.results.findings import DOES_NOT, INCONCLUSIVE, NOT_YET, REPRODUCES
from shortcutbench.results.record import make_record
from shortcutbench.results.stats import clopper_pearson, fisher_exact_p
from shortcutbench.tracks.attack import PROTOCOLS as ATTACK_PROTOCOLS
from shortcutbench.tracks.invariance import PROTOCOLS as INVARIANCE_PROTOCOLS
from shortcutbench.tracks.provable import PROTOCOLS as PROVABLE_PROTOCOLS

ERM = "lazy_cnn.erm"


def _rec(track, model, protocol, metrics, seed=0, config=None):
    return make_record(track, model, seed, "full", protocol, metrics, config or {}, "fp", 0.0)


def _shortcut(model, per_digit, seed, control=None, **extra):
    """per_digit: correct hard images (of 9) for each held-out digit, as the record stores them."""
    metrics = {"hard_correct_per_digit": "".join(map(str, per_digit)), "easy_acc": 0.99, "control": control, **extra}
    return _rec("shortcut", model, "shortcut.full.v4", metrics, seed)


def _verdict(findings):
    assert len(findings) == 1
    return findings[0].verdict


# ------------------------------------------------------------------ stats helpers added for the table
def test_clopper_pearson_by_hand():
    # 0/8: upper = 1 − 0.025^(1/8) = 1 − exp(ln 0.025 / 8) = 1 − exp(−0.46111) = 0.36942
    lo, hi = clopper_pearson(0, 8)
    assert lo == 0.0 and hi == pytest.approx(0.36942, abs=1e-5)
    lo, hi = clopper_pearson(8, 8)  # symmetric: lower = 0.025^(1/8) = 0.63058
    assert hi == 1.0 and lo == pytest.approx(0.63058, abs=1e-5)


def test_fisher_exact_by_hand():
    # [[3, 0], [0, 3]]: P(X = 3) = C(3,3)C(3,0)/C(6,3) = 1/20; the other tail X = 0 equally likely → p = 0.1
    assert fisher_exact_p(3, 3, 0, 3) == pytest.approx(0.1)
    # 12/12 vs 6/12: N = 24, 18 successes, 12 drawn. P(X = 12) = C(18,12)/C(24,12) = 18564/2704156 and the
    # opposite tail X = 6 (C(18,6)·C(6,6)) is as likely; X = 7 (31824·6/2704156 = 0.0706) is more likely
    assert fisher_exact_p(12, 12, 6, 12) == pytest.approx(2 * 18564 / 2704156)


# ------------------------------------------------------------------ seed 000 §3.3: ERM gap
def test_erm_gap_reproduces_when_near_chance():
    # every digit 1 of 9 in both seeds: every resample gives 1/9 = 11.1 %, interval [11.1, 11.1] < 20 %
    recs = [_shortcut(ERM, [1] * 40, s) for s in (0, 1)]
    f = fc.erm_gap({"shortcut": recs})[0]
    assert f.verdict == REPRODUCES and "11.1 % [11.1, 11.1]" in f.ours
    assert "lies inside" not in f.ours  # the seed's 11.52 % is not in [11.1, 11.1]


def test_erm_gap_does_not_reproduce_when_shape_is_read():
    recs = [_shortcut(ERM, [3] * 40, s) for s in (0, 1)]  # 3/9 = 33.3 % everywhere: wholly above 20 %
    assert _verdict(fc.erm_gap({"shortcut": recs})) == DOES_NOT


def test_erm_gap_inconclusive_when_interval_holds_threshold():
    # 8 digits at 2/9 and 2 at 1/9: point (8·2 + 2)/(10·9) = 18/90 = 20 %, the threshold itself; the
    # resampled means spread on both sides of it
    recs = [_shortcut(ERM, [2] * 8 + [1] * 2, s) for s in (0, 1)]
    assert _verdict(fc.erm_gap({"shortcut": recs})).startswith(INCONCLUSIVE)


def test_erm_gap_one_seed_is_inconclusive():
    assert _verdict(fc.erm_gap({"shortcut": [_shortcut(ERM, [1] * 40, 0)]})).startswith(INCONCLUSIVE)


def test_erm_gap_without_records_is_not_measured():
    f = fc.erm_gap({})[0]
    assert f.verdict.startswith(NOT_YET) and "shortcut.full.v4" in f.verdict and f.ours == "–"


# ------------------------------------------------------------------ seed 000 §6: mitigations vs control
CTRL = "lazy_cnn.erm_adam.e15"


def _mitigation_records(model_digits, control_digits):
    return ([_shortcut("lazy_cnn.cf_invar", model_digits, s, control=CTRL) for s in (0, 1)]
            + [_shortcut(CTRL, control_digits, s) for s in (0, 1)])


def test_mitigation_beats_control():
    # 5/9 vs 3/9 on every digit and seed: Δ = 2/9 = +22.2 pp exactly, interval [+22.2, +22.2] > 0
    f = fc._mitigation("lazy_cnn.cf_invar", "CF-INVAR", "seed", {"shortcut": _mitigation_records([5] * 30, [3] * 30)})[0]
    assert f.verdict == REPRODUCES and "+22.2 pp [+22.2, +22.2]" in f.ours and "2 shared seeds" in f.ours


def test_mitigation_worse_than_control():
    recs = _mitigation_records([3] * 30, [5] * 30)  # Δ = −22.2 pp everywhere
    assert _verdict(fc._mitigation("lazy_cnn.cf_invar", "CF-INVAR", "seed", {"shortcut": recs})) == DOES_NOT


def test_mitigation_inconclusive_when_delta_holds_zero():
    # per digit the difference is +1 or −1 (of 9), alternating: Δ = 0, resamples on both sides
    recs = _mitigation_records([4, 5] * 15, [5, 4] * 15)
    verdict = _verdict(fc._mitigation("lazy_cnn.cf_invar", "CF-INVAR", "seed", {"shortcut": recs}))
    assert verdict.startswith(INCONCLUSIVE)


def test_mitigation_without_its_control_is_not_measured():
    recs = [_shortcut("lazy_cnn.cf_invar", [5] * 30, s, control=CTRL) for s in (0, 1)]
    f = fc._mitigation("lazy_cnn.cf_invar", "CF-INVAR", "seed", {"shortcut": recs})[0]
    assert f.verdict.startswith(NOT_YET) and CTRL in f.verdict


def test_the_three_seed_mitigations_are_registered():
    from shortcutbench.results.findings import CLAIMS

    assert {"000.6.1-dann-fixa", "000.6.2-saliency", "000.6.3-cf-invar"} <= set(CLAIMS.list())


# ------------------------------------------------------------------ seed 000 §3.5: recolour to green
def _green(values):
    return {"shortcut": [_shortcut(ERM, [1] * 10, s, recolor_probe={"green": v}) for s, v in enumerate(values)]}


def test_recolour_green_rules():
    # [0.95, 0.96, 0.97]: mean 0.96, sd 0.01, se 0.00577, t(0.975, 2) = 4.303 → [0.935, 0.985] > 0.90
    f = fc.recolour_green(_green([0.95, 0.96, 0.97]))[0]
    assert f.verdict == REPRODUCES and "96.0 % [93.5, 98.5]" in f.ours
    # [0.5, 0.6, 0.7]: mean 0.6, se 0.0577 → [0.352, 0.848] < 0.90
    assert _verdict(fc.recolour_green(_green([0.5, 0.6, 0.7]))) == DOES_NOT
    # [0.85, 0.90, 0.95]: mean 0.90 = the threshold → holds it
    assert _verdict(fc.recolour_green(_green([0.85, 0.90, 0.95]))).startswith(INCONCLUSIVE)


# ------------------------------------------------------------------ seed 000 §5.5 and §8.6: diagnostics
def _diag(ratios, sites=None):
    recs = []
    for s, (a, c) in enumerate(ratios):
        sae = {f"{layer}/spatial_mean": {"best_colour": col, "best_digit": dig}
               for layer, (col, dig) in (sites[s] if sites else {}).items()}
        recs.append(_rec("diagnostics", ERM, "diagnostics.full.v3",
                         {"attribution": {"gradcam": {"ratio_aligned": a, "ratio_conflicting": c}}, "sae": {"sites": sae}},
                         s, {"protocol": {"config": {"images_per_side": 200}}}))
    return {"diagnostics": recs}


def test_gradcam_ratio_rules():
    # conflicting − aligned = 0.5 in every seed: sd 0, interval [0.5, 0.5] > 0
    f = fc.gradcam_ratio(_diag([(0.4, 0.9), (0.5, 1.0), (0.45, 0.95)]))[0]
    assert f.verdict == REPRODUCES and "Δ +0.50 [+0.50, +0.50]" in f.ours
    assert _verdict(fc.gradcam_ratio(_diag([(0.9, 0.4), (1.0, 0.5)]))) == DOES_NOT
    # differences +0.1 and −0.1: mean 0, interval ±12.7·0.1 holds 0
    assert _verdict(fc.gradcam_ratio(_diag([(0.4, 0.5), (0.5, 0.4)]))).startswith(INCONCLUSIVE)


def _sae(diffs_per_seed):
    """diffs_per_seed: per seed, colour − digit at relu1, relu2, relu3, gap (digit fixed at 0.3)."""
    sites = [{layer: (0.3 + d, 0.3) for layer, d in zip(fc.SAE_SITES, diffs)} for diffs in diffs_per_seed]
    return _diag([(0.4, 0.5)] * len(sites), sites)


def test_sae_selectivity_rules():
    assert _verdict(fc.sae_selectivity(_sae([[0.5] * 4, [0.5] * 4]))) == REPRODUCES  # +0.5 everywhere, sd 0
    # gap at −0.2 in both seeds: that layer is wholly below 0
    assert _verdict(fc.sae_selectivity(_sae([[0.5, 0.5, 0.5, -0.2]] * 2))) == DOES_NOT
    # gap at +0.1 / −0.1: holds 0, the others separate
    verdict = _verdict(fc.sae_selectivity(_sae([[0.5, 0.5, 0.5, 0.1], [0.5, 0.5, 0.5, -0.1]])))
    assert verdict.startswith(INCONCLUSIVE)


# ------------------------------------------------------------------ seed 000 §7: targeted 7→3
ATTACK_FULL = ATTACK_PROTOCOLS["full"].name


def _attack(successes):
    """successes: model → (fooled, attacked) among the eligible reference 7s; a failure is stored as null."""
    return {"attack": [_rec("attack", m, ATTACK_FULL, {"min_eps": {"eps_min": [0.01] * k + [None] * (n - k)}},
                            0, {"protocol": {"eps_max": 0.05}})
                       for m, (k, n) in successes.items()]}


def test_targeted_7to3_rules():
    from shortcutbench.tracks.attack import SEED_COMPARED

    base, *mitigations = SEED_COMPARED
    # 0/20 vs 20/20: p = 2/C(40, 20) ≈ 1.5e-11 for every mitigation, each higher → reproduces
    f = fc.targeted_7to3(_attack({base: (0, 20), **{m: (20, 20) for m in mitigations}}))[0]
    assert f.verdict == REPRODUCES and "baseline 0/20 = 0.0 %" in f.ours
    assert _verdict(fc.targeted_7to3(_attack({base: (20, 20), **{m: (0, 20) for m in mitigations}}))) == DOES_NOT
    # 0/3 vs 3/3: p = 0.1 (hand-derived above): not separated
    verdict = _verdict(fc.targeted_7to3(_attack({base: (0, 3), **{m: (3, 3) for m in mitigations}})))
    assert verdict.startswith(INCONCLUSIVE)
    missing = fc.targeted_7to3(_attack({base: (0, 20)}))[0]
    assert missing.verdict.startswith(NOT_YET) and ATTACK_FULL in missing.verdict


def test_7to3_counts_only_successes_within_eps_max():
    recs = [_rec("attack", ERM, ATTACK_FULL, {"min_eps": {"eps_min": [0.01, 0.06, None, 0.05]}})]
    assert fc._successes(recs, 0.05) == (2, 4)  # 0.01 and 0.05 are within 0.05; 0.06 and null are not


# ------------------------------------------------------------------ seed 001 §6.2: L-T extended set
def _lt(radius_plain, radius_clip, full_acc=1.0, pgd_at_04=1.0):
    m = {"exact_radius_plain": radius_plain, "exact_radius_clip": radius_clip, "full_ext_acc": full_acc,
         "full_ext_wrong": 0 if full_acc == 1.0 else 5, "train_set_size": 344373768,
         "pgd_eps": [0.0, 0.4], "pgd_acc": [1.0, pgd_at_04]}
    return {"provable": [_rec("provable", "lt/ext-full", PROVABLE_PROTOCOLS["full"].name, m, 0, {"protocol": {"attack_eps": 0.4}})]}


def test_lt_rows_are_exact():
    ok = _lt([0.41] * 8, [0.45] * 8)
    assert _verdict(fc.lt_extended_robust(ok)) == REPRODUCES and _verdict(fc.lt_certificate(ok)) == REPRODUCES
    one_short = _lt([0.41] * 7 + [0.39], [0.45] * 8)  # one image's exact radius 0.39 ≤ 0.4: not certified
    assert _verdict(fc.lt_certificate(one_short)) == DOES_NOT
    assert _verdict(fc.lt_extended_robust(_lt([0.41] * 8, [0.45] * 8, full_acc=0.9999))) == DOES_NOT
    assert _verdict(fc.lt_extended_robust(_lt([0.41] * 8, [0.45] * 8, pgd_at_04=0.875))) == DOES_NOT
    assert _verdict(fc.lt_certificate({})).startswith(NOT_YET)


# ------------------------------------------------------------------ seed 002 §3.1: sparse layers
def _sparse(drops):
    return {"sparse": [_rec("sparse", ERM, "sparse.full.v3", {"dense_easy_acc": 0.99, "sparse_easy_acc": 0.99 - d,
                                                              "features_per_class_mean": 2.0, "n_features": 64}, s)
                       for s, d in enumerate(drops)]}


def test_sparse_accuracy_rules():
    # drops 1, 2, 3 pp: mean 2 pp, se 0.577 pp, ×4.303 → [−0.5, +4.5] pp < 5 pp
    f = fc.sparse_accuracy(_sparse([0.01, 0.02, 0.03]))[0]
    assert f.verdict == REPRODUCES and "+2.0 pp [-0.5, +4.5]" in f.ours
    assert _verdict(fc.sparse_accuracy(_sparse([0.10, 0.11, 0.12]))) == DOES_NOT  # [7.5, 12.5] pp > 5
    assert _verdict(fc.sparse_accuracy(_sparse([0.04, 0.05, 0.06]))).startswith(INCONCLUSIVE)  # centred on 5


# ------------------------------------------------------------------ seed 004 Table 1: NSPGD ordering
def _nspgd(rates, tau):
    """rates: NSPGD success of (Normal, AT, CCAT) over 12 pairs each."""
    recs = []
    for (_, model), rate in zip(fc.NSPGD_MODELS, rates):
        recs.append(_rec("invariance", model, INVARIANCE_PROTOCOLS["full"].name,
                         {"pairs": 12, "halfspace": {"success": rate}, "tau_99tpr": tau, "rerr_99tpr": 0.1},
                         0, {"protocol": {"projections": ["halfspace"]}}))
    return {"invariance": recs}


def test_nspgd_ordering_rules():
    # 12/12 > 6/12 > 0/12: each step p = 2·18564/2704156 = 0.0137 < 0.05 (derived in test_fisher_exact_by_hand)
    f = fc.nspgd_ordering(_nspgd((1.0, 0.5, 0.0), tau=0.9))[0]
    assert f.verdict == REPRODUCES and "Normal 12/12" in f.ours and "p(Normal vs AT) = 0.0137" in f.ours
    assert _verdict(fc.nspgd_ordering(_nspgd((0.0, 0.5, 1.0), tau=0.9))) == DOES_NOT  # both steps reversed
    # the same counts on a CCAT whose clean confidence is near uniform: its step is untested
    verdict = _verdict(fc.nspgd_ordering(_nspgd((1.0, 0.5, 0.0), tau=0.11)))
    assert verdict.startswith(INCONCLUSIVE) and "CCAT not confident" in verdict
    # a reversed first step is still a refutation without a working CCAT
    assert _verdict(fc.nspgd_ordering(_nspgd((0.0, 0.5, 0.0), tau=0.11))) == DOES_NOT


# ------------------------------------------------------------------ seed 001 §7: the causal track, folded in
def test_causal_rows_keep_their_verdicts(monkeypatch):
    from shortcutbench.results.tables import Table
    from shortcutbench.tracks import causal_render

    theirs = ["reproduced", "refuted", "inconclusive (interval straddles the threshold)",
              "no verdict (one seed, no interval)", "not tested (no working constrained regressor)"]
    rows = [[f"claim {i}", f"measured {i}", v] for i, v in enumerate(theirs)]
    monkeypatch.setattr(causal_render, "_findings", lambda models: Table("causal_findings", "t", ["a", "b", "c"], rows))
    recs = [_rec("causal", "theta/supervised_cnn", "causal.full.v1", {}, 0)]
    got = [f.verdict for f in fc.causal({"causal": recs})]
    assert got[:2] == [REPRODUCES, DOES_NOT]
    assert all(v.startswith(INCONCLUSIVE) for v in got[2:5]) and "no working constrained regressor" in got[4]
    assert fc.causal({})[0].verdict.startswith(NOT_YET)


# ------------------------------------------------------------------ seed 001 §4: the ssl track, folded in
def test_ssl_rows_keep_their_verdicts(monkeypatch):
    from shortcutbench.results.tables import Table
    from shortcutbench.tracks import ssl_render

    rows = [["cifar10", "(models left out: clean accuracy not above chance)", "x/standard", "not judged"],
            ["cifar10", "claim a", "m", "holds"], ["cifar10", "claim b", "m", "refuted"],
            ["cifar10", "claim c", "m", "inconclusive"], ["cifar10", "claim d", "m", "not judged"],
            ["digits", "the seed's §4 claims", "no records for simsiam", NOT_YET]]
    monkeypatch.setattr(ssl_render, "_groups", lambda recs: {"cifar10": {}})
    monkeypatch.setattr(ssl_render, "findings_table", lambda groups: Table("ssl_findings", "t", ["a"] * 4, rows))
    got = fc.ssl({"ssl": [_rec("ssl", "enc.simclr.standard.cifar10", "ssl.full.v1", {}, 0)]})
    assert [f.claim for f in got][:4] == ["cifar10: claim a", "cifar10: claim b", "cifar10: claim c",
                                          "cifar10: claim d"]
    assert [f.verdict.split(":")[0] for f in got][:4] == [REPRODUCES, DOES_NOT, INCONCLUSIVE, INCONCLUSIVE]
    waiting = got[4]  # an incomplete dataset: no verdict, and what it needs
    assert waiting.claim.startswith("digits: ") and waiting.verdict.startswith(NOT_YET) and waiting.ours == "–"
    assert "no records for simsiam" in waiting.verdict
    assert ssl_render.NOT_YET == NOT_YET  # the track's own word for it is the one the mapping reads
    assert fc.ssl({})[0].verdict.startswith(NOT_YET) and "ssl.full.v1" in fc.ssl({})[0].verdict


def test_ssl_records_cell_names_only_the_judged_datasets_records(monkeypatch):
    from dataclasses import replace

    from shortcutbench.results.tables import Table
    from shortcutbench.tracks import ssl_render

    def rec(model, seed, commit):
        r = _rec("ssl", model, "ssl.full.v1", {}, seed)
        return replace(r, provenance={**r.provenance, "git_commit": commit})

    digits = [rec("enc.simclr.standard.digits", k, "aaaaaaa1") for k in range(3)]
    colour = [rec("enc.simclr.standard.colored_mnist", k, "bbbbbbb2") for k in range(2)]
    groups = {"digits": {"enc.simclr.standard.digits": digits},
              "colored_mnist": {"enc.simclr.standard.colored_mnist": colour}}
    rows = [["digits", "claim a", "m", "holds"], ["colored_mnist", "claim a", "m", "holds"]]
    monkeypatch.setattr(ssl_render, "_groups", lambda recs: groups)
    monkeypatch.setattr(ssl_render, "findings_table", lambda groups: Table("ssl_findings", "t", ["a"] * 4, rows))
    got = {f.claim.split(":")[0]: f.records for f in fc.ssl({"ssl": digits + colour})}
    # digits: 3 seeds of one model, one commit; the Colored-MNIST records (2 seeds, another commit)
    # must not leak into its provenance, nor the reverse
    assert "3 seed(s)" in got["digits"] and "aaaaaaa" in got["digits"] and "bbbbbbb" not in got["digits"]
    assert "2 seed(s)" in got["colored_mnist"] and "aaaaaaa" not in got["colored_mnist"]


def test_count_rows_say_where_the_seeds_rates_fall():
    # NSPGD 12/12, 6/12, 0/12: CP intervals [0.735, 1], [0.211, 0.789], [0, 0.265] (0.025^(1/12) = 0.735);
    # the seed's 0.886 and 0.683 fall inside the first two, its 0.029 inside the third
    f = fc.nspgd_ordering(_nspgd((1.0, 0.5, 0.0), tau=0.9))[0]
    assert "the seed's rates lie inside our intervals" in f.ours
    # 0/12, 0/12, 0/12: upper bound 1 − 0.735 = 0.265 < 0.683 and < 0.886
    f = fc.nspgd_ordering(_nspgd((0.0, 0.0, 0.0), tau=0.9))[0]
    assert "outside our interval for Normal, AT" in f.ours
