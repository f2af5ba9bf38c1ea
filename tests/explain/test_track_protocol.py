"""The diagnostics track's choice of shipped zoo models: the board, defences included (quick: ERM and
the seed's three mitigations), seeds per the named setting."""
import pytest

from shortcutbench.errors import UsageError
from shortcutbench.tracks import RunContext
from shortcutbench.tracks.diagnostics import BASELINE, PROTOCOLS, run_pairs, run_protocol
from shortcutbench.zoo import catalogue, select


@pytest.fixture
def all_shipped(monkeypatch):
    """Every catalogue model counts as shipped: the choice, not today's weights, is under test."""
    monkeypatch.setattr(select, "is_shipped", lambda name, seed, root=None: True)


def _ids(ctx):
    return run_pairs(ctx, run_protocol(ctx))


def test_full_covers_the_board_and_its_defences_with_erm_at_every_seed(all_shipped):
    ids = _ids(RunContext(profile="full"))
    board = catalogue.board_models()
    k, seeds = PROTOCOLS["full"].mitigation_seeds, PROTOCOLS["full"].seeds
    assert {m for m, _ in ids} == set(board) and BASELINE in board  # the shortcut track's model names
    assert {"lazy_cnn.pgd_at", "lazy_cnn.ccat", "lazy_cnn_temp.ccat_temp"} <= {m for m, _ in ids}  # #18: every classifier
    assert sorted(s for m, s in ids if m == BASELINE) == list(range(seeds))
    for m in board:
        if m != BASELINE:
            assert sorted(s for mm, s in ids if mm == m) == list(range(k))
    assert len(ids) == len(set(ids)) == seeds + (len(board) - 1) * k
    # seed-major: every model's seed 0 comes before any seed 1
    assert max(i for i, (_, s) in enumerate(ids) if s == 0) < min(i for i, (_, s) in enumerate(ids) if s == 1)


def test_quick_diagnoses_erm_and_the_seeds_three_mitigations(all_shipped):
    ids = _ids(RunContext(profile="quick"))
    assert ids == [("lazy_cnn.erm", 0), ("lazy_cnn.dann_fixa", 0), ("lazy_cnn.saliency_bg", 0), ("lazy_cnn.cf_invar", 0)]
    assert set(m for m, _ in ids) < set(catalogue.board_models(("main",)))


def test_models_option_and_unshipped_models_are_skipped_with_a_note(monkeypatch, capsys):
    monkeypatch.setattr(select, "is_shipped", lambda name, seed, root=None: name != "lazy_cnn.cf_invar")
    ctx = RunContext(profile="quick", options={"models": "lazy_cnn.erm,lazy_cnn.cf_invar"})
    assert _ids(ctx) == [("lazy_cnn.erm", 0)]
    assert "lazy_cnn.cf_invar/seed0" in capsys.readouterr().err


def test_mitigation_seeds_override_is_recorded_in_the_protocol(all_shipped):
    ctx = RunContext(profile="full", seeds=3, options={"models": "lazy_cnn.erm,lazy_cnn.jtt", "mitigation_seeds": "2"})
    assert run_protocol(ctx).mitigation_seeds == 2
    assert _ids(ctx) == [("lazy_cnn.erm", 0), ("lazy_cnn.jtt", 0), ("lazy_cnn.erm", 1), ("lazy_cnn.jtt", 1),
                         ("lazy_cnn.erm", 2)]


def test_seed_from_keeps_mitigation_seeds_counted_from_seed_0(all_shipped):
    """--seed-from 1 adds seeds 1..2: the mitigation's seeds stay 0..1, so only its seed 1 is new."""
    ctx = RunContext(profile="full", seeds=3, seed_from=1,
                     options={"models": "lazy_cnn.erm,lazy_cnn.jtt", "mitigation_seeds": "2"})
    assert _ids(ctx) == [("lazy_cnn.erm", 1), ("lazy_cnn.jtt", 1), ("lazy_cnn.erm", 2)]


@pytest.mark.parametrize("bad", ["0", "-1", "two"])
def test_bad_mitigation_seeds_is_a_usage_error(bad):
    with pytest.raises(UsageError, match="mitigation_seeds"):
        run_protocol(RunContext(profile="full", options={"mitigation_seeds": bad}))


def test_unknown_model_pattern_is_a_usage_error():
    with pytest.raises(UsageError, match="nope"):
        _ids(RunContext(options={"models": "nope"}))
