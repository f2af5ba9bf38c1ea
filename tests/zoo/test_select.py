"""Which shipped models a track scores: patterns resolved against the catalogue, unshipped pairs
skipped with a note."""
import pytest

from shortcutbench.errors import UsageError
from shortcutbench.zoo import catalogue, select


def test_patterns_resolve_to_catalogue_names_in_order_without_repeats():
    assert select.resolve_models("lazy_cnn.erm_adam.e15,lazy_cnn.erm_adam.e1*") == ("lazy_cnn.erm_adam.e15",
                                                                                   "lazy_cnn.erm_adam.e10")
    assert select.resolve_models("", ("lazy_cnn.erm",)) == ("lazy_cnn.erm",)
    assert select.resolve_models("all") == catalogue.board_models()


def test_unknown_pattern_is_a_one_line_usage_error():
    with pytest.raises(UsageError, match="models=lazy_cnn.nope matches no zoo model"):
        select.resolve_models("lazy_cnn.erm,lazy_cnn.nope")


def test_board_has_each_methods_matched_control_and_no_sweep_or_regime_runs():
    board = catalogue.board_models()
    groups = {catalogue.shipped_names()[n][0].group for n in board}
    assert groups == {"control", "main", "defence"}
    for name in board:
        run = catalogue.shipped_names()[name][0]
        if run.group != "control":
            assert catalogue.matched_control(run.method) in board


def test_shipped_pairs_are_seed_major_and_skip_unshipped_with_a_note(monkeypatch, capsys):
    monkeypatch.setattr(select, "is_shipped", lambda name, seed, root=None: (name, seed) != ("lazy_cnn.jtt", 1))
    pairs = select.shipped_pairs("t", ["lazy_cnn.erm", "lazy_cnn.jtt"], [0, 1, 2, 3])
    # jtt has 3 seeds in the catalogue: seed 3 is not asked for, seed 1 is missing
    assert pairs == [("lazy_cnn.erm", 0), ("lazy_cnn.jtt", 0), ("lazy_cnn.erm", 1), ("lazy_cnn.erm", 2),
                     ("lazy_cnn.jtt", 2), ("lazy_cnn.erm", 3)]
    err = capsys.readouterr().err
    assert "1 zoo model(s) not shipped" in err and "lazy_cnn.jtt/seed1" in err


def test_model_name_maps_a_method_to_its_seed_budget_model():
    assert catalogue.model_name("erm") == "lazy_cnn.erm"
    assert catalogue.model_name("erm_adam") == "lazy_cnn.erm_adam.e8"
    assert catalogue.model_name("pgd_at") == "lazy_cnn.pgd_at"
    with pytest.raises(UsageError):
        catalogue.model_name("nope")
