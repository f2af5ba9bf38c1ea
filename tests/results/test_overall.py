"""The overall table reads each track's headline through Track.headline and ranks by the rule."""

from shortcutbench.results.overall import _labels, overall_rows, overall_table
from shortcutbench.results.record import make_record
from shortcutbench.tracks.attack import PROTOCOLS as ATTACK_PROTOCOLS
from shortcutbench.tracks.invariance import PROTOCOLS as INVARIANCE_PROTOCOLS

ATTACK_FULL = ATTACK_PROTOCOLS["full"].name  # the current presets: older ones are not ranked
INVARIANCE_FULL = INVARIANCE_PROTOCOLS["full"].name


def _attack(model, acc_easy_01, seed=0, protocol=ATTACK_FULL):
    robust = [{"split": s, "norm": "linf", "eps": e, "attack": a, "acc": acc_easy_01 if (s, e, a) == ("easy", 0.1, "standard") else 0.5,
               "clean": 1.0} for s in ("hard", "easy") for e in (0.05, 0.1) for a in ("fgsm", "standard")]
    return make_record("attack", model, seed, "full", protocol, {"robust": robust}, {}, "fp", 0.0)


def _invariance(model, success):
    return make_record("invariance", model, 0, "full", INVARIANCE_FULL, {"halfspace": {"success": success}},
                       {"protocol": {"projections": ["halfspace"]}}, "fp", 0.0)


def _shortcut(model, hard):
    return make_record("shortcut", model, 0, "full", "shortcut.full.v4", {"hard_acc": hard}, {}, "fp", 0.0)


def test_headline_per_track_and_ranking():
    recs = [_attack("a", 0.4), _attack("a", 0.6, seed=1), _invariance("a", 0.9), _shortcut("a", 0.2),
            _attack("b", 0.0), _invariance("b", 0.5), _shortcut("b", 0.8),
            _shortcut("c", 1.0)]  # c: one of three headline tracks, so it ranks after complete rows
    rows = {r["model"]: r for r in overall_rows(recs)}
    a = rows["a"]["tracks"]
    assert abs(a["attack"]["headline"][0] - 0.5) < 1e-12 and a["attack"]["seeds"] == 2  # mean over seeds
    assert abs(a["invariance"]["headline"][0] - 0.1) < 1e-12  # 1 − NSPGD success
    assert abs(rows["a"]["score"] - (0.5 + 0.1 + 0.2) / 3) < 1e-12
    assert abs(rows["b"]["score"] - (0.0 + 0.5 + 0.8) / 3) < 1e-12
    assert [r["model"] for r in overall_rows(recs)] == ["b", "a", "c"]
    assert not rows["c"]["complete"] and rows["c"]["covered"] == 1
    # c's score (100 %) is the highest, yet a partial row holds no rank (issue #18)
    assert [rows[m]["rank"] for m in "bac"] == [1, 2, "–"]


def test_missing_headline_value_is_not_zero():
    recs = [make_record("attack", "a", 0, "full", ATTACK_FULL, {"robust": []}, {}, "fp", 0.0), _shortcut("a", 0.3),
            _attack("b", 0.1), _shortcut("b", 0.3)]
    rows = {r["model"]: r for r in overall_rows(recs)}
    assert rows["a"]["tracks"]["attack"]["headline"] is None and rows["a"]["covered"] == 1
    assert rows["b"]["complete"] and not rows["a"]["complete"]


def test_notes_document_every_headline():
    table = overall_table([_attack("a", 0.4), _invariance("a", 0.9), _shortcut("a", 0.2)])
    assert table.columns[4:7] == ["attack: standard robust acc, easy, linf 0.1", "invariance: 1 - NSPGD success",
                                  "shortcut: hard_acc"]
    text = " ".join(table.notes)
    assert "ℓ∞ ε = 0.1 on the easy subset" in text and "1 − NSPGD success" in text and "hard-split accuracy" in text


def test_labels_from_records_else_from_the_zoo_method():
    recs = [_attack("lazy_cnn.pgd_at", 0.9), _attack("lazy_cnn.dfr", 0.1), _attack("lt/ext-full", 0.1),
            _attack("lazy_cnn.erm", 0.4), make_record("shortcut", "lazy_cnn.erm", 0, "full", "shortcut.full.v4", {"hard_acc": 0.1,
            "uses_group_labels": True, "uses_color_labels": False}, {}, "fp", 0.0)]  # the record's declaration wins
    table = overall_table(recs)
    col = table.columns.index("labels used")
    labels = {row[1]: row[col] for row in table.rows}
    assert labels == {"lazy_cnn.pgd_at": "none", "lazy_cnn.dfr": "group", "lt/ext-full": "?", "lazy_cnn.erm": "group"}


def test_labels_ignore_records_that_declare_nothing():
    def rec(track, model="lazy_cnn.cf_invar", **flags):
        return make_record(track, model, 0, "full", "p", flags, {}, "fp", 0.0)

    declared = rec("shortcut", uses_group_labels=False, uses_color_labels=True)
    assert _labels([declared, rec("diagnostics")]) == "colour"  # diagnostics records declare no flags
    assert _labels([rec("diagnostics", model="sub.unknown")]) == "?"  # no declaration, no zoo method
    assert _labels([rec("shortcut", uses_group_labels=False, uses_color_labels=False)]) == "none"


def test_records_of_an_older_preset_are_not_ranked():
    """attack.full.v2 scored other models under the same names (the embedded-data zoo)."""
    recs = [_attack("a", 0.4, protocol="attack.full.v2"), _invariance("a", 0.9), _shortcut("a", 0.2)]
    rows = {r["model"]: r for r in overall_rows(recs)}
    assert set(rows["a"]["tracks"]) == {"invariance", "shortcut"}
    assert abs(rows["a"]["score"] - (0.1 + 0.2) / 2) < 1e-12


def test_coverage_note_says_why_each_zoo_row_is_partial():
    from shortcutbench.zoo.catalogue import GROUPS, board_models

    board = board_models()
    recs = [_attack(m, 0.1) for m in board[1:]] + [_invariance(m, 0.1) for m in board] + \
           [_shortcut(m, 0.5) for m in board] + \
           [_shortcut("lazy_cnn.erm.sweep_lr0.1_m0.9", 0.4), _shortcut("lazy_cnn.erm.rho0.99", 0.0),
            make_record("provable", "lt/standard", 0, "full", "provable.full.v3", {}, {}, "fp", 0.0)]
    table = overall_table(recs)
    note = next(n for n in table.notes if n.startswith("Coverage"))
    assert f"{len(board)} board models" in note
    assert f"missing a headline track: {board[0]} (attack)." in note  # only the one without an attack record
    assert f"{GROUPS['sweep']}: 1" in note and f"{GROUPS['rho']}: 1" in note and "scored by shortcut only" in note
    assert "builds for its own study (provable; 1 row)" in note
    complete = overall_table([r for r in recs if r.model_id in board] + [_attack(board[0], 0.1)])
    assert any("Every board model has every headline track." in n for n in complete.notes)
    assert not any(n.startswith("Coverage") for n in overall_table([_attack("a", 0.4)]).notes)
