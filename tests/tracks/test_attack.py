import dataclasses
import math

import torch

from shortcutbench.models import create_model
from shortcutbench.results.record import make_record
from shortcutbench.tracks import TRACKS, RunContext
import pytest

from shortcutbench.data import ColoredMNISTConfig
from shortcutbench.errors import UsageError
from shortcutbench.tracks.attack import (SEED_COMPARED, AttackProtocol, fair_selection, min_eps_study, model_names,
                                         protocol_for, robustness, subset)
from shortcutbench.tracks.common import colored_mnist
from shortcutbench.zoo import catalogue

TINY = AttackProtocol("attack.test", n_per_split=10, linf_eps=(0.05, 0.3), l2_eps=(1.0,), pgd_steps=3, apgd_steps=4,
                      n_targets=2, square_queries=5, n_min_eps=3, min_eps_restarts=1, min_eps_steps=3,
                      select_conf=0.0, data=ColoredMNISTConfig())


def test_subset_is_fixed_and_stratified():
    data = colored_mnist()
    idx = subset(data["hard"], 90)
    assert len(idx) == 90 and torch.equal(idx, subset(data["hard"], 90))
    assert set(data["hard"].digit[idx].tolist()) == set(range(10))


def test_protocols_attack_the_shipped_zoo_on_the_seed_data():
    for profile in ("quick", "full"):
        p = protocol_for(RunContext(profile=profile))
        assert p.data == catalogue.SEED_DATA and p.compared == SEED_COMPARED
        assert set(p.compared) <= set(catalogue.shipped_names())


def test_robustness_min_eps_and_render(tmp_path):
    torch.manual_seed(0)
    model = create_model("lazy_cnn").eval()
    data = colored_mnist()
    rob = robustness(model, TINY, data)
    rows = rob["robust"]
    for split in TINY.splits:
        for norm in ("linf", "l2"):
            accs = [r["acc"] for r in sorted((r for r in rows if r["split"] == split and r["norm"] == norm
                                              and r["attack"] == "standard"), key=lambda r: r["eps"])]
            clean = next(r["clean"] for r in rows if r["split"] == split)
            assert all(a <= clean for a in accs) and accs == sorted(accs, reverse=True)
    for split in TINY.splits:  # AutoAttack's sanity flags, per split, in every record
        assert set(rob["flags"][split]) == {"randomness", "logit_spread", "softmax_outputs", "zero_grad_share"}
    assert isinstance(rob["flags"]["square_beats_whitebox"], bool)
    split, idx = fair_selection([model], TINY, data)
    me = min_eps_study(model, TINY, data, split, idx)
    assert me["n"] == len(idx)
    assert all(e is None or math.isinf(e) or e <= TINY.eps_max for e in me["eps_min"])
    from shortcutbench.tracks.attack import PROTOCOLS

    rec = make_record("attack", "lazy_cnn.erm", 0, "quick", PROTOCOLS["quick"].name,
                      {**rob, "min_eps": me, "train_time_s": 0.0}, {"protocol": dataclasses.asdict(TINY)}, "fp", 1.0)
    old = dataclasses.replace(rec, protocol="attack.quick.v2")  # other models under the same names: not shown
    tables = TRACKS.get("attack")().render([rec, old], tmp_path)
    assert [t.name for t in tables] == ["attack", "attack_l2", "attack_hard", "attack_hard_l2", "attack_details",
                                        "attack_min_eps"]
    board = {t.name: t for t in tables}
    assert [len(board[n].rows) for n in ("attack", "attack_l2", "attack_hard", "attack_hard_l2")] == [1] * 4
    assert board["attack"].columns[-3:] == ["ε = 0.05", "ε = 0.3", "note"]  # ε as columns: the wide form
    assert len(board["attack_details"].rows) == 2 * 3
    assert all((tmp_path / f).is_file() for n in ("attack", "attack_hard_l2") for f in board[n].figures)
    # counts: the subset's size, and robust ⊆ clean-correct (an attack never makes a wrong image right);
    # not n_robust vs round(acc·n), which the track computes from the same mask (a tautology)
    assert all(r["n"] == TINY.n_per_split and r["n_robust"] <= r["n_clean"] <= r["n"] for r in rows)


def test_options_override_protocol():
    from shortcutbench.tracks.attack import protocol_for

    p = protocol_for(RunContext(options={"n_per_split": "7", "linf_eps": "0.1,0.2"}))
    assert p.n_per_split == 7 and p.linf_eps == (0.1, 0.2)


def test_models_option_chooses_shipped_zoo_models():
    assert model_names(RunContext()) == ("lazy_cnn.erm", "lazy_cnn.cf_invar", "lazy_cnn.pgd_at")  # quick: kept small
    full = model_names(RunContext(profile="full"))  # full: the board
    assert full == catalogue.board_models()
    assert {"lazy_cnn.erm", "lazy_cnn.erm_adam.e15", "lazy_cnn.irm", "lazy_cnn.pgd_at", "lazy_cnn_temp.ccat_temp"} <= set(full)
    assert len(full) == len(set(full))
    assert model_names(RunContext(options={"models": "lazy_cnn.erm"})) == ("lazy_cnn.erm",)
    saliency = model_names(RunContext(options={"models": "lazy_cnn.saliency_*"}))
    # the pattern also takes the bias-strength sweep's stroke-saliency models (lazy_cnn.saliency_stroke.rho0.9, ...)
    assert saliency[:2] == ("lazy_cnn.saliency_bg", "lazy_cnn.saliency_stroke")
    assert set(saliency[2:]) == {f"lazy_cnn.saliency_stroke.rho{r:g}" for r in catalogue.RHO_SWEEP}
    with pytest.raises(UsageError, match="nope"):
        model_names(RunContext(options={"models": "lazy_cnn.erm,nope"}))


class _Sevens(torch.nn.Module):
    """Says 7 (P ≈ 0.94) where the image is brighter than ``t`` (t = -1: always), else 0; ``gain``
    sets how sharply."""

    def __init__(self, t: float, gain: float = 25.0):
        super().__init__()
        self.t, self.gain = t, gain

    def forward(self, x):
        bright = (x.mean(dim=(1, 2, 3)) - self.t).clamp(-0.2, 0.2) * self.gain + 5  # 10 when bright, 0 when dark
        logits = torch.zeros(x.shape[0], 10) + x.flatten(1)[:, :10]  # depends on x: gradients flow
        logits[:, 7] = logits[:, 7] + bright
        logits[:, 0] = logits[:, 0] + 10 - bright
        return logits


def _quick_track(monkeypatch, compared, **changes):
    """The attack track on TINY (hard split only) with ``compared`` as the frozen compared set."""
    from shortcutbench.tracks import attack

    monkeypatch.setitem(attack.PROTOCOLS, "quick", dataclasses.replace(TINY, splits=("hard",), linf_eps=(0.05,), l2_eps=(),
                                                                       **changes))
    track = TRACKS.get("attack")()
    monkeypatch.setattr(track, "compared_models", lambda ctx, p, data: compared)
    return track


def _sevens_zoo(data):
    sevens = data["hard"].images((data["hard"].digit == 7).nonzero().squeeze(1))
    return [_Sevens(-1.0), _Sevens(float(sevens.mean(dim=(1, 2, 3)).median()))]


def test_compared_set_is_a_recorded_protocol_field_of_shipped_names():
    ctx = RunContext(options={"compared": "lazy_cnn.erm,lazy_cnn.cf_invar"})  # a recorded protocol override
    assert protocol_for(ctx).compared == ("lazy_cnn.erm", "lazy_cnn.cf_invar")
    with pytest.raises(UsageError, match="nope"):
        protocol_for(RunContext(options={"compared": "lazy_cnn.erm,nope"}))


def test_evaluate_attacks_the_reference_images(monkeypatch):
    """A model evaluated alone (a submission) gets the 7→3 study on the images selected over the
    compared set, not on its own selection: the zoo's code path and image set."""
    data = colored_mnist()
    zoo = _sevens_zoo(data)
    track = _quick_track(monkeypatch, zoo)
    ref_split, ref = fair_selection(zoo, TINY, data)
    own_split, own = fair_selection(zoo[:1], TINY, data)
    assert ref_split == own_split == "hard" and len(ref) == len(own) == TINY.n_min_eps
    assert ref.tolist() != own.tolist()  # the test can tell them apart
    got = track.evaluate(zoo[0], RunContext())["min_eps"]
    assert (got["split"], got["indices"]) == (ref_split, ref.tolist())
    assert got["n_eligible"] == got["n"] == len(ref) and len(got["eps_min"]) == len(ref)


def test_model_outside_the_compared_set_gets_its_own_mask(monkeypatch, tmp_path):
    """A model confident on only some reference images is attacked on those, its metrics are over
    those, and its row is marked outside the fair comparison; a compared model's row is fair."""
    data = colored_mnist()
    zoo = _sevens_zoo(data)
    p = dataclasses.replace(TINY, n_min_eps=12)
    track = _quick_track(monkeypatch, zoo, n_min_eps=p.n_min_eps)
    _, ref = fair_selection(zoo, p, data)
    images = data["hard"].images(ref)
    bright, t = images.mean(dim=(1, 2, 3)), float(images.mean(dim=(1, 2, 3)).median())
    stricter = _Sevens(t, gain=2000.0)  # confident on the brighter half
    # Expected mask by hand from _Sevens, not from its outputs: the first 10 pixels are black
    # background, so the logits are b for 7, 10 − b for 0 and 0 for the rest, b = 2000·(m − t) + 5
    # clamped. m ≥ t + 0.0025: b ≥ 10, P(7) ≥ e¹⁰/(e¹⁰ + 1 + 8) > 0.999; m ≤ t: b ≤ 5, P(7) < 1/2.
    assert (images.flatten(1)[:, :10] == 0).all()
    assert not ((bright > t) & (bright < t + 0.0025)).any()  # no image in between
    expect = (bright > t).tolist()
    assert 0 < sum(expect) < len(ref)  # the test can tell a mask from none
    got = track.evaluate(stricter, RunContext())
    me = got["min_eps"]
    assert me["indices"] == ref.tolist() and me["eligible"] == expect
    assert me["n_eligible"] == sum(expect) and len(me["eps_min"]) == sum(expect)
    fair = track.evaluate(zoo[1], RunContext())
    recs = [make_record("attack", name, 0, "quick", "attack.test", {**m, "train_time_s": 0.0},
                        {"protocol": dataclasses.asdict(track.protocol(RunContext())),
                         "compared_models": ["a", "b"]}, "fp", 1.0)
            for name, m in (("cmp", fair), ("other", got))]
    rows = {r[0]: r for r in next(t for t in track.render(recs, tmp_path) if t.name == "attack_min_eps").rows}
    assert rows["cmp"][3:5] == [f"{len(ref)} / {len(ref)}", "fair"]
    assert rows["other"][3:5] == [f"{sum(expect)} / {len(ref)}", "outside"]


def _cell_record(model_id: str, clean: int, robust: dict, n: int = 1000, profile: str = "full"):
    """A v4 record with given counts on the easy split, ℓ∞ (robust: ε → robust images of n)."""
    from shortcutbench.tracks.attack import PROTOCOLS

    p = dataclasses.replace(PROTOCOLS[profile], splits=("easy",), linf_eps=tuple(robust), l2_eps=())
    rows = [{"split": "easy", "norm": "linf", "eps": e, "attack": a, "acc": k / n, "clean": clean / n, "n": n,
             "n_robust": k, "n_clean": clean, "seconds": 0.0, "stages": {}}
            for e, k in robust.items() for a in ("fgsm", "pgd40", "standard")]
    metrics = {"robust": rows, "flags": {"easy": {}, "square_beats_whitebox": False},
               "min_eps": {"split": "none", "n": 0, "n_eligible": 0}, "train_time_s": 0.0}
    return make_record("attack", model_id, 0, profile, p.name, metrics, {"protocol": dataclasses.asdict(p)}, "fp", 1.0)


def test_board_ranks_with_wilson_intervals_and_sets_below_chance_apart(tmp_path):
    """One row per model: clean and per-ε cells with Wilson intervals on the n images; rank 1 + the
    models whose interval lies wholly above; a below-chance model last, unranked, with the reason."""
    from scipy.stats import binomtest

    recs = [_cell_record("a", 950, {0.1: 800, 0.3: 100}), _cell_record("b", 960, {0.1: 790, 0.3: 50}),
            _cell_record("c", 900, {0.1: 200, 0.3: 0}), _cell_record("d", 60, {0.1: 20, 0.3: 0})]
    t = next(t for t in TRACKS.get("attack")().render(recs, tmp_path) if t.name == "attack")
    assert t.columns == ["rank", "model", "profile", "seeds", "images", "clean", "ε = 0.1", "ε = 0.3", "note"]
    assert [r[:2] for r in t.rows] == [["1", "a"], ["1", "b"], ["3", "c"], ["–", "d"]]  # a, b: intervals overlap
    assert t.rows[3][-1].startswith("not ranked: clean 6.0 % below chance")
    assert all(r[4] == "1000" for r in t.rows)
    for row, k in zip(t.rows, (800, 790, 200, 20)):
        ci = binomtest(k, 1000).proportion_ci(0.95, method="wilson")
        assert row[6] == f"{k / 10:.1f} [{100 * ci.low:.1f}, {100 * ci.high:.1f}]"
    assert t.figures == ["figures/attack/robust_acc_vs_eps_easy_linf.png"]


def test_v3_records_without_counts_use_their_subset_size(tmp_path):
    """Quick-profile v3 records stored no image count: the preset's n_per_split is it."""
    rec = _cell_record("a", 90, {1.0: 40}, n=100, profile="quick")
    for r in rec.metrics["robust"]:
        del r["n"], r["n_robust"], r["n_clean"]
    t = next(t for t in TRACKS.get("attack")().render([rec], tmp_path) if t.name == "attack")
    assert t.rows[0][4] == "100" and t.rows[0][6].startswith("40.0 [")


def test_only_superseded_records_give_empty_tables_not_stale_ones(tmp_path):
    """v2 records scored other models under the same names: every board table is rewritten, empty."""
    old = dataclasses.replace(_cell_record("a", 950, {0.1: 800}), protocol="attack.full.v2")
    tables = TRACKS.get("attack")().render([old], tmp_path)
    assert [t.name for t in tables] == ["attack", "attack_l2", "attack_hard", "attack_hard_l2", "attack_details",
                                        "attack_min_eps"]
    assert all(t.rows == [] for t in tables)


def test_a_killed_run_resumes_from_its_finished_cells(monkeypatch, tmp_path):
    """A run killed in its third cell, run again at the same commit, reruns only that cell (and the
    7→3 study) and gives the uninterrupted run's record; the log is gone once the record exists."""
    from shortcutbench.results import cell_log
    from shortcutbench.tracks import attack

    data = colored_mnist()
    track = _quick_track(monkeypatch, _sevens_zoo(data))
    torch.manual_seed(0)
    model = create_model("lazy_cnn").eval()
    monkeypatch.setattr(attack, "shipped_pairs", lambda *a: [("lazy_cnn.test", 0)])
    monkeypatch.setattr(attack, "load_shipped_model",
                        lambda name, seed: (model, {"train_time_s": 0.0, "zoo_key": "k", "sha256": "s"}))
    monkeypatch.setattr(cell_log, "git_commit", lambda: "0" * 40)
    row, ran = attack._robust_row, []

    class Killed(Exception):
        pass

    def counted(model, atk, cell, *args):
        ran.append(cell[-1])
        if kill and len(ran) == 3:
            raise Killed
        return row(model, atk, cell, *args)

    monkeypatch.setattr(attack, "_robust_row", counted)
    kill = False
    whole = next(iter(track.run(RunContext(out_dir=tmp_path / "whole"))))
    assert ran == ["fgsm", "pgd40", "standard"] and "resumed" not in whole.metrics
    ran.clear()
    kill, out = True, tmp_path / "killed"
    with pytest.raises(Killed):
        next(iter(track.run(RunContext(out_dir=out))))
    assert len(list((out / cell_log.DIR / "attack").iterdir())) == 1
    ran.clear()
    kill = False
    runs = track.run(RunContext(out_dir=out))
    resumed = next(runs)
    assert ran == ["standard"] and resumed.metrics["resumed"]["cells"] == 2

    def numbers(rec):
        rows = [{k: v for k, v in r.items() if k != "seconds"} for r in rec.metrics["robust"]]
        return rows, {k: v for k, v in rec.metrics["min_eps"].items() if k != "seconds"}
    assert numbers(resumed) == numbers(whole)
    assert resumed.wall_time_s >= resumed.metrics["resumed"]["seconds"] > 0
    assert list(runs) == [] and not list((out / cell_log.DIR / "attack").iterdir())
