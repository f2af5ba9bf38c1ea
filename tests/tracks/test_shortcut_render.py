"""The shortcut leaderboard is a pure function of records: regenerating it from the same records
gives byte-identical tables and figures; selection rules and 'epochs to 70%' on hand-made
histories."""
import filecmp
import math

import numpy as np
import pytest

from shortcutbench.data import COLOR_NAMES
from shortcutbench.results import Store, write_tables
from shortcutbench.results.record import make_record
from shortcutbench.tracks.selection import select_epoch
from shortcutbench.tracks.shortcut import ShortcutTrack
from shortcutbench.tracks.shortcut_render import epochs_to


def _history(curve, val, vb_worst):
    return [{"epoch": i + 1, "train_loss": 1.0, "val_acc": v, "val_balanced_acc": 0.5,
             "val_balanced_worst_group_acc": w, "easy_acc": 0.9, "hard_curve_acc": c}
            for i, (c, v, w) in enumerate(zip(curve, val, vb_worst))]


def _record(method, seed, hard, rho=0.95, sweep=False):
    cells = np.full((10, 10), hard)
    np.fill_diagonal(cells, np.nan)
    metrics = {
        "easy_acc": 0.95, "hard_acc": hard, "gap": 0.95 - hard, "aligned_acc": 0.95, "conflicting_acc": hard,
        "group_mean_acc": 0.5, "worst_group_acc": hard / 2, "worst_class_acc": hard / 3,
        "color_following_rate": 1 - hard, "recolor_probe": {c: 0.5 for c in COLOR_NAMES}, "recolor_probe_mean": 0.5,
        "hard_confusion": np.eye(10, dtype=int).tolist(), "hard_cell_acc": cells.tolist(),
        "hard_cell_n": (np.full((10, 10), 100) - 100 * np.eye(10, dtype=int)).tolist(),
        "history": [] if sweep else _history([0.1, hard, hard], [0.9, 0.95, 0.94], [0.0, 0.2, 0.1]),
        "hard_val_acc": hard, "train_time_s": 1.0, "epochs": 3, "method": method, "rho": rho, "sweep": sweep,
        "uses_group_labels": False, "uses_color_labels": method == "cf_invar"}
    tag = f".rho{rho}" if sweep else ""
    r = make_record("shortcut", f"lazy_cnn.{method}{tag}", seed, "full", "shortcut.full.v2", metrics,
                    {"data": {"rho": rho, "data_seed": 0}, "train": {"lr": 0.01, "epochs": 3}, "data_source": "x"},
                    "fp", 1.0)
    r.created_at = 0.0
    r.provenance = {}
    return r


def _records():
    recs = [_record("erm", s, 0.02 + 0.01 * s) for s in range(3)]
    recs += [_record("cf_invar", s, 0.9 - 0.01 * s) for s in range(3)]
    recs += [_record("erm", s, 0.05, rho=0.9, sweep=True) for s in range(2)]
    return recs


def test_regeneration_is_byte_identical(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    track = ShortcutTrack()
    Store.in_dir(a).put(_records())
    write_tables(track.render(Store.in_dir(a).query(track="shortcut"), a), a)
    # b: the same records read back from a's committed JSONL export, rendered again
    b.mkdir()
    (b / "records").mkdir()
    (b / "records" / "shortcut.jsonl").write_bytes((a / "records" / "shortcut.jsonl").read_bytes())
    write_tables(track.render(Store.in_dir(b).query(track="shortcut"), b), b)
    outputs = sorted(p.relative_to(a) for p in a.rglob("*") if p.suffix in (".md", ".csv", ".png"))
    assert any(str(p) == "shortcut.md" for p in outputs) and any(p.suffix == ".png" for p in outputs)
    for rel in outputs:
        assert filecmp.cmp(a / rel, b / rel, shallow=False), rel


def test_main_table_numbers(tmp_path):
    tables = {t.name: t for t in ShortcutTrack().render(_records(), tmp_path)}
    main = tables["shortcut"]
    rows = {r[0]: dict(zip(main.columns, r)) for r in main.rows}
    assert list(rows) == ["lazy_cnn.erm", "lazy_cnn.cf_invar"]  # sweep records stay out of the main table
    # hard = 0.9, 0.89, 0.88: mean 89.0, SE 0.01/√3·√… = 0.577 pp; t(0.975, 2) = 4.303
    assert rows["lazy_cnn.cf_invar"]["hard acc"] == "89.0 ± 0.6"
    half = 4.302652729911275 * 0.01 / math.sqrt(3) * 100
    assert rows["lazy_cnn.cf_invar"]["hard 95% CI"] == f"[{89 - half:.1f}, {89 + half:.1f}]"
    # paired: (0.9−0.02), (0.89−0.03), (0.88−0.04) = 0.88, 0.86, 0.84 → 86.0 ± 1.2
    assert rows["lazy_cnn.cf_invar"]["Δ hard vs ERM (paired)"] == "86.0 ± 1.2 (n=3)"
    assert rows["lazy_cnn.cf_invar"]["epochs to >70% hard"] == "2.0 (3/3)"
    assert rows["lazy_cnn.erm"]["epochs to >70% hard"] == "never in 3"
    assert rows["lazy_cnn.cf_invar"]["labels used"] == "colour" and rows["lazy_cnn.erm"]["labels used"] == "none"
    sweep = tables["shortcut_rho_sweep"]
    assert sweep.columns == ["method", "ρ = 0.9", "ρ = 0.95"]
    assert sweep.rows[0][:2] == ["erm", "5.0 ± 0.0 (n=2)"]
    # ERM: 5.0% at ρ = 0.9, mean(2, 3, 4)% = 3.0% at ρ = 0.95 → falls
    assert "ERM: 5.0% at ρ = 0.9, 3.0% at ρ = 0.95: falls as ρ rises." in sweep.notes
    assert "Methods swept: erm." in sweep.notes[0]


def test_erm_trend_at_the_floor_is_not_called_a_fall():
    from shortcutbench.tracks.shortcut_render import _erm_trend

    assert "cannot resolve" in _erm_trend([0.001, 0.0005, 0.0], [0.9, 0.95, 0.99])
    assert "does **not** fall" in _erm_trend([0.05, 0.08], [0.9, 0.95])


def test_selection_rules_and_epochs_to_threshold():
    h = _history([0.2, 0.75, 0.6, 0.8], [0.9, 0.97, 0.97, 0.95], [0.1, 0.0, 0.3, 0.3])
    assert select_epoch(h, "skewed_val") == 2  # tie 0.97 → earliest
    assert select_epoch(h, "balanced_val_worst_group") == 3
    assert select_epoch(h, "oracle_last") == 4
    assert epochs_to(h) == 2 and epochs_to(h, 0.9) is None
    with pytest.raises(ValueError):
        select_epoch(h, "best_test")


def test_train_conflicting_column_and_adversary_note(tmp_path):
    recs = _records()
    for r in recs:
        r.metrics["train_conflicting_acc"] = 1.0 if r.model_id == "lazy_cnn.erm" else 0.5
    dann = [_record("dann_fixa", s, 0.01) for s in range(2)]
    for r in dann:
        for h in r.metrics["history"]:
            h.update(train_adv_acc=0.95, train_adv_conflicting=6.0, train_adv_conflicting_found=0.0)
        r.metrics["history"][0]["train_adv_conflicting_found"] = 3.0  # one epoch spots half of them
    main = {t.name: t for t in ShortcutTrack().render(recs + dann, tmp_path)}["shortcut"]
    rows = {r[0]: dict(zip(main.columns, r)) for r in main.rows}
    assert rows["lazy_cnn.erm"]["train conflicting acc"] == "100.0 ± 0.0"
    assert rows["lazy_cnn.dann_fixa"]["train conflicting acc"] == "–"  # records without the field
    note = next(n for n in main.notes if n.startswith("`lazy_cnn.dann_fixa` dominance adversary"))
    assert "accuracy 95.0% against ρ = 95.0%" in note and "spots 0.0% (best epoch of any seed 50.0%)" in note


def test_adversary_note_skips_records_without_the_statistics(tmp_path):
    """A DANN-FixA zoo entry cached before the statistics were logged keeps its key: rendering a
    mix must not fail, and the note counts only the seeds that carry them."""
    dann = [_record("dann_fixa", s, 0.01) for s in range(2)]
    for h in dann[0].metrics["history"]:
        h.update(train_adv_acc=0.9, train_adv_conflicting=6.0, train_adv_conflicting_found=3.0)
    main = {t.name: t for t in ShortcutTrack().render(_records() + dann, tmp_path)}["shortcut"]
    note = next(n for n in main.notes if n.startswith("`lazy_cnn.dann_fixa` dominance adversary"))
    assert "mean over 1 seeds" in note and "accuracy 90.0%" in note
