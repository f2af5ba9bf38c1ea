"""The sparse track (tracks/sparse.py): its options, the table it renders from hand-made records
(means ± SE by hand; every λ that stopped at the epoch cap before its certificate is flagged,
issue 20 point 2, for records with and without the ``capped`` flag) and one evaluate on a model
whose features are colour- or digit-selective by construction."""
import pytest
import torch
import torch.nn as nn

from shortcutbench.errors import UsageError
from shortcutbench.results.record import make_record
from shortcutbench.tracks import RunContext
from shortcutbench.tracks.sparse import PROTOCOLS, SparseTrack, _cap_cells, _capped
from shortcutbench.zoo import catalogue

CFG = {"max_epochs": 150, "gap_tol": 1e-4}


def _point(epochs, gap, objective=1.0, capped=None):
    p = {"lam": 0.1, "nnz": 3, "features_used": 2, "acc_val": 0.9, "acc_tr": 0.9, "objective": objective, "gap": gap,
         "epochs": epochs, "time_s": 0.1}
    if capped is not None:
        p["capped"] = capped
    return p


@pytest.mark.parametrize("epochs,gap,expected", [
    (150, 1e-2, True),  # at the cap, gap far above 1e-4·D
    (150, 5e-5, False),  # at the cap but certified on its last epoch
    (40, 1e-2, False),  # stopped early (by the gap rule: the record's gap is the certified one)
])
def test_capped_from_records_without_the_flag(epochs, gap, expected):
    assert _capped(_point(epochs, gap), CFG) is expected


def test_flag_wins_over_inference():
    assert _capped(_point(10, 0.0, capped=True), CFG) is True
    assert _capped(_point(150, 1.0, capped=False), CFG) is False


def test_cap_cells_count_worst_seed_and_mark_a_capped_selection():
    a = {"path": [_point(10, 0.0), _point(150, 1e-2), _point(150, 1e-2)], "selected_index": 0}
    b = {"path": [_point(10, 0.0), _point(10, 0.0), _point(150, 1e-2)], "selected_index": 2}
    assert _cap_cells([a, b], CFG) == ("2 / 3", " (capped)")
    assert _cap_cells([a], CFG) == ("2 / 3", "")


def _record(seed, path, protocol="sparse.full.v3", profile="full", model="lazy_cnn.erm", **values):
    d, k = 2, 10
    metrics = {
        "selected_index": 0, "selected_lambda": 0.1, "lambda_max": 1.0, "path_time_s": 1.0,
        "max_rel_gap": max(p["gap"] / p["objective"] for p in path), "selected_val_acc": 0.9, "best_val_acc": 0.9,
        "features_per_class_mean": 1.0, "features_used": 2, "n_features": d, "chosen_colour_share": 0.5,
        "chosen_colour_weight_share": 0.5, "all_colour_share": 0.5, "eta2_colour": [0.9, 0.1], "eta2_digit": [0.1, 0.9],
        "entry_order": [[0, 1]] * k, "path": path, "coef_path_plot_class": [[0.0, 0.1]] * len(path),
    }
    for split in ("easy", "hard"):
        for pre in ("dense", "sparse", "dense_top5", "sparse_top5"):
            metrics[f"{pre}_{split}_acc"] = 0.5
    metrics.update(values)
    proto = {"topk": 5, "plot_class": 1, "tolerance": 0.05, "path": {"alpha": 0.99, "n_lambdas": len(path), "eps": 0.01,
                                                                      **CFG}}
    return make_record("sparse", model, seed, profile, protocol, metrics, {"protocol": proto}, "fp", 1.0)


def test_render_shows_the_capped_column(tmp_path):
    recs = [_record(0, [_point(150, 2e-2), _point(150, 1e-2)]), _record(1, [_point(10, 0.0), _point(150, 5e-5)])]
    table = SparseTrack().render(recs, tmp_path)[0]
    row = dict(zip(table.columns, table.rows[0]))
    assert row["λ's at epoch cap"] == "2 / 2"
    assert row["rel. gap at selected"].endswith(" (capped)")
    assert any("150-epoch cap" in note for note in table.notes)


def test_key_figure_is_every_models_sparsity_accuracy_path(tmp_path):
    recs = [_record(0, [_point(10, 0.0), _point(10, 0.0)]), _record(1, [_point(10, 0.0), _point(10, 0.0)])]
    table = SparseTrack().render(recs, tmp_path)[0]
    assert table.figures[0] == "figures/sparse/sparsity_accuracy_paths.png"
    assert (tmp_path / table.figures[0]).stat().st_size > 1000
    assert len(table.figures) == 1 + 3  # then the model's own three


def test_default_models_are_the_whole_board_defences_included():
    names = SparseTrack().models(RunContext(profile="full"))
    assert names == catalogue.board_models()
    assert {"lazy_cnn.erm", "lazy_cnn.cf_invar", "lazy_cnn.pgd_at", "lazy_cnn.ccat", "lazy_cnn_temp.ccat_temp"} <= set(names)
    assert SparseTrack().models(RunContext(profile="full", options={"models": "lazy_cnn.erm"})) == ("lazy_cnn.erm",)


def test_options_override_the_preset_under_a_derived_name():
    """Protocol keys rename the protocol ``<preset>+key=value`` in key order; ``models`` only chooses
    what runs, so it leaves the name; ``rho`` reaches the nested data config and nothing else."""
    track = SparseTrack()
    p = track.protocol(RunContext(profile="full", options={"topk": "7", "rho": "0.5", "models": "lazy_cnn.erm"}))
    assert p.name == "sparse.full.v3+rho=0.5+topk=7"
    assert (p.topk, p.data.rho) == (7, 0.5)
    assert p.data.digits == "mnist" and p.path == PROTOCOLS["full"].path  # untouched fields
    assert track.protocol(RunContext(profile="quick", options={"models": "lazy_cnn.erm"})) is PROTOCOLS["quick"]


@pytest.mark.parametrize("key, value, fragment", [
    ("tolerance", "0", "must be in (0, 1]"),
    ("tolerance", "1.5", "must be in (0, 1]"),
    ("topk", "0", "must be > 0"),
    ("train_images", "-3", "must be > 0"),
    ("n_lambdas", "10", "allowed: eval_digits_per_class, models, rho, tolerance, topk, train_images"),
])
def test_bad_options_are_one_line_usage_errors(key, value, fragment):
    with pytest.raises(UsageError) as err:
        SparseTrack().protocol(RunContext(profile="quick", options={key: value}))
    assert fragment in str(err.value) and "\n" not in str(err.value)


def test_render_pools_seeds_as_mean_and_standard_error_and_keeps_overrides_apart(tmp_path):
    """Two seeds at 50% and 70%: mean 60%, SE = sd(ddof 1)/√2 = (0.1·√2)/√2 = 10 points. A quick
    record of a model with full records is hidden; a v2 record is not current; an override
    record is a row of its own, named by its overrides."""
    pts = [_point(10, 0.0), _point(10, 0.0)]
    recs = [_record(0, pts, dense_easy_acc=0.5, features_used=2),
            _record(1, pts, dense_easy_acc=0.7, features_used=4),
            _record(2, pts, profile="quick", dense_easy_acc=0.0),
            _record(0, pts, protocol="sparse.full.v2", model="lazy_cnn.old"),
            _record(0, pts, protocol="sparse.full.v3+rho=0.5", sparse_hard_acc=0.25)]
    table = SparseTrack().render(recs, tmp_path)[0]
    rows = {r[0]: dict(zip(table.columns, r)) for r in table.rows}
    assert sorted(rows) == ["lazy_cnn.erm", "lazy_cnn.erm [+rho=0.5]"]
    main, override = rows["lazy_cnn.erm"], rows["lazy_cnn.erm [+rho=0.5]"]
    assert (main["seeds"], main["dense easy"], main["features used"]) == ("2", "60.0 ± 10.0", "3.0 ± 1.0 / 2")
    assert (override["seeds"], override["sparse hard"], override["dense easy"]) == ("1", "25.0", "50.0")


class HandFeatures(nn.Module):
    """Seven features, selective by construction: 0–2 are the image's R, G, B shares of its total
    ink (a function of the colour alone: stroke = grayscale × colour), 3–6 the shares of the ink in
    the four quadrants (scale-free, so the same for every colour of one digit image). The dense
    head ``fc`` always says 3 (zero weights, bias 1 on class 3)."""

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(7, 10)
        with torch.no_grad():
            self.fc.weight.zero_()
            self.fc.bias.zero_()
            self.fc.bias[3] = 1.0

    def features(self, x):
        ink = x.sum((2, 3))
        gray = x.amax(1)
        quads = torch.stack([gray[:, :14, :14], gray[:, :14, 14:], gray[:, 14:, :14], gray[:, 14:, 14:]], 1).sum((2, 3))
        return torch.cat([ink / ink.sum(1, keepdim=True), quads / quads.sum(1, keepdim=True)], 1)

    def forward(self, x):
        return self.fc(self.features(x))


def test_evaluate_reads_colour_and_digit_features_as_built():
    ctx = RunContext(profile="quick", options={"train_images": "1000", "eval_digits_per_class": "5"})
    m = SparseTrack().evaluate(HandFeatures(), ctx)
    colour, digit = m["eta2_colour"], m["eta2_digit"]
    assert all(colour[j] > digit[j] for j in range(3)) and all(colour[j] < digit[j] for j in range(3, 7))
    assert m["all_colour_share"] == pytest.approx(3 / 7)
    # the constant dense head is right on exactly the class-3 tenth of both (class-balanced) splits
    for key in ("dense_easy_acc", "dense_hard_acc", "dense_top5_easy_acc", "dense_top5_hard_acc"):
        assert m[key] == pytest.approx(0.1)
    # the selected layer: the sparsest point of the path within 5 points of its best val accuracy
    path, sel = m["path"], m["selected_index"]
    best = max(p["acc_val"] for p in path)
    assert path[sel]["acc_val"] >= best - 0.05
    assert all(p["nnz"] >= path[sel]["nnz"] for p in path if p["acc_val"] >= best - 0.05)
    used = [j for j in range(7) if any(row[j] != 0 for row in m["selected_weight"])]
    assert m["features_used"] == len(used) and m["n_features"] == 7
    assert m["chosen_colour_share"] == pytest.approx(sum(j < 3 for j in used) / len(used))
    # a layer that leans on colour does better where every digit wears its own colour than where none does
    assert m["sparse_easy_acc"] > m["sparse_hard_acc"]
