"""The shipped-zoo shortcut table on hand-made records: intervals cover what they should, a
mitigation's Δ is paired with its control, and a CI that holds 0 is called inconclusive."""
import numpy as np
import pytest

from shortcutbench.data import COLOR_NAMES
from shortcutbench.results.record import make_record
from shortcutbench.results.stats import cluster_bootstrap, wilson_interval
from shortcutbench.tracks.shortcut_zoo_render import render_zoo, verdict


def _record(name, method, group, seed, p, control=None, digits=2000, rng_seed=0):
    rng = np.random.default_rng([rng_seed, seed])
    counts = rng.binomial(9, p, size=digits)
    m = {"method": method, "group": group, "epochs": 15, "samples": 15 * 469 * 128, "steps": 15 * 469,
         "seed_epochs": 15.0, "history": [{"epoch": 1, "hard_curve_acc": p, "train_acc": 0.9, "val_acc": 0.9}],
         "control": control, "hard_correct_per_digit": "".join(map(str, counts)), "eval_digits": digits,
         "easy_acc": 0.99, "train_conflicting_acc": 0.5, "hard_acc": counts.sum() / (9 * digits), "recolor_probe": {c: 0.1 for c in COLOR_NAMES}}
    cfg = {"protocol": {"eval_digits_per_class": None}, "train": {"lr": 1e-3, "momentum": 0.0, "batch_size": 128},
           "hparams": {"optimizer": "adam"}, "data_source": "test"}
    r = make_record("shortcut", name, seed, "full", "shortcut.full.v4", m, cfg, "fp", 1.0)
    r.created_at = 0.0
    return r


def test_verdict_only_when_the_interval_excludes_zero():
    assert verdict(0.01, 0.05) == "beats its control"
    assert verdict(-0.05, -0.01) == "worse than its control"
    assert verdict(-0.01, 0.02).startswith("inconclusive")


def test_bootstrap_interval_covers_the_truth_and_stays_in_range():
    rng = np.random.default_rng(3)
    counts = rng.binomial(9, 0.3, size=(5, 3000))
    point, lo, hi = cluster_bootstrap(counts, 9)
    assert lo < 0.3 < hi and 0 <= lo <= point <= hi <= 1
    zero = cluster_bootstrap(np.zeros((3, 100), dtype=int), 9)
    assert zero == (0.0, 0.0, 0.0)  # never below 0 %
    lo, hi = wilson_interval(0, 90)
    assert lo == 0.0 and 0 < hi < 0.05


def test_table_rows_deltas_and_verdicts(tmp_path):
    recs = []
    for s in range(5):
        recs.append(_record("lazy_cnn.erm_adam.e15", "erm_adam", "control", s, 0.60))
        recs.append(_record("lazy_cnn.dann_fixa", "dann_fixa", "main", s, 0.75, control="lazy_cnn.erm_adam.e15"))
        recs.append(_record("lazy_cnn.cf_invar", "cf_invar", "main", s, 0.60, control="lazy_cnn.erm_adam.e15",
                            rng_seed=1))
    (table,) = render_zoo("t", recs, tmp_path / "figures" / "shortcut")
    rows = {r[0]: r for r in table.rows}
    assert rows["dann_fixa"][-1] == "beats its control" and rows["dann_fixa"][7].startswith("+15.")
    assert rows["cf_invar"][-1].startswith("inconclusive")  # same accuracy as its control
    assert rows["erm_adam.e15"][-1] == "control"
    assert rows["dann_fixa"][2] == "900,480 / 7,035 (15)"  # seed 000 §6.1: 7,035 steps of 128
    assert (tmp_path / "figures" / "shortcut" / "hard_acc_by_model.png").stat().st_size > 1000


def test_missing_control_is_said(tmp_path):
    recs = [_record("lazy_cnn.dann_fixa", "dann_fixa", "main", 0, 0.7, control="lazy_cnn.erm_adam.e15")]
    (table,) = render_zoo("t", recs, tmp_path / "figures" / "shortcut")
    assert table.rows[0][-1] == "no control shipped"


def test_one_shared_seed_gets_no_verdict(tmp_path):
    recs = [_record("lazy_cnn.erm_adam.e15", "erm_adam", "control", 0, 0.5),
            _record("lazy_cnn.dann_fixa", "dann_fixa", "main", 0, 0.9, control="lazy_cnn.erm_adam.e15")]
    (table,) = render_zoo("t", recs, tmp_path / "figures" / "shortcut")
    rows = {r[0]: r for r in table.rows}
    assert rows["dann_fixa"][-1] == "no verdict (1 seed)" and rows["dann_fixa"][7].startswith("+40.")


def test_rho_sweep_pairs_each_method_with_its_control_at_the_same_rho(tmp_path):
    # hard accuracy falls as ρ rises for ERM; DANN-FixA is 20 points above its Adam control at ρ = 0.99
    # and equal to it at ρ = 0.9: the table must pair each with the control retrained at its own ρ
    recs = []
    for s in range(2):
        recs.append(_record("lazy_cnn.erm", "erm", "control", s, 0.40))
        recs.append(_record("lazy_cnn.erm.rho0.9", "erm", "rho", s, 0.60))
        recs.append(_record("lazy_cnn.erm.rho0.99", "erm", "rho", s, 0.10))
        for rho, p_ctrl, p_dann in (("rho0.9", 0.5, 0.5), ("rho0.99", 0.2, 0.4)):
            ctrl = f"lazy_cnn.erm_adam.{rho}.e15"
            recs.append(_record(ctrl, "erm_adam", "rho", s, p_ctrl, rng_seed=2))
            recs.append(_record(f"lazy_cnn.dann_fixa.{rho}", "dann_fixa", "rho", s, p_dann, control=ctrl, rng_seed=3))
    tables = {t.name: t for t in render_zoo("t", recs, tmp_path / "figures" / "shortcut")}
    rows = {(r[0], r[1]): r for r in tables["shortcut_rho"].rows}
    erm = [float(rows[("erm", rho)][4].split()[0]) for rho in ("0.9", "0.95", "0.99")]
    assert erm[0] > erm[1] > erm[2]
    assert rows[("dann_fixa", "0.99")][6].startswith("+20.") and "erm_adam.rho0.99.e15" in rows[("dann_fixa", "0.99")][6]
    assert rows[("dann_fixa", "0.99")][-1] == "beats its control"
    assert rows[("dann_fixa", "0.9")][-1].startswith("inconclusive")
    assert rows[("erm", "0.9")][-1] == "control"
    assert (tmp_path / "figures" / "shortcut" / "hard_acc_vs_rho.png").stat().st_size > 1000


def test_no_rho_table_without_rho_records(tmp_path):
    recs = [_record("lazy_cnn.erm", "erm", "control", 0, 0.4)]
    assert "shortcut_rho" not in [t.name for t in render_zoo("t", recs, tmp_path / "figures" / "shortcut")]
