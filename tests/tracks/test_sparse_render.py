"""The sparse table flags every λ that stopped at the epoch cap before its certificate (issue 20
point 2), for records carrying the ``capped`` flag and for records written before it."""
import pytest

from shortcutbench.results.record import make_record
from shortcutbench.tracks.sparse import SparseTrack, _cap_cells, _capped

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


def _record(seed, path):
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
    proto = {"topk": 5, "plot_class": 1, "tolerance": 0.05, "path": {"alpha": 0.99, "n_lambdas": len(path), "eps": 0.01,
                                                                      **CFG}}
    r = make_record("sparse", "lazy_cnn.erm", seed, "full", "sparse.full.v3", metrics,
                    {"protocol": proto}, "fp", 1.0)
    return r


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
