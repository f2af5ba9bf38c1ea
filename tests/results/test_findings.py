"""The findings table's verdict rules, its current-preset filter, the README block and the
leaderboard command's output. Expected values are worked out by hand in the comments."""
import math

from shortcutbench.cli import main
from shortcutbench.results import Store
from shortcutbench.results.findings import (DOES_NOT, INCONCLUSIVE, NOT_YET, README_BEGIN, README_END, REPRODUCES,
                                            exact_verdict, fill_readme, ordering_verdict, records_cell,
                                            threshold_verdict)
from shortcutbench.results.findings_claims import findings_table
from shortcutbench.results.record import make_record


def test_threshold_rule_claim_below():
    # claim "below 0.20": [0.05, 0.08] is wholly below, [0.25, 0.30] wholly above, [0.15, 0.25] holds it
    assert threshold_verdict(0.05, 0.08, 0.20, claim_above=False) == REPRODUCES
    assert threshold_verdict(0.25, 0.30, 0.20, claim_above=False) == DOES_NOT
    assert threshold_verdict(0.15, 0.25, 0.20, claim_above=False).startswith(INCONCLUSIVE)


def test_threshold_rule_claim_above_touching_and_missing():
    assert threshold_verdict(0.01, 0.2, 0.0, claim_above=True) == REPRODUCES
    assert threshold_verdict(-0.2, -0.01, 0.0, claim_above=True) == DOES_NOT
    assert threshold_verdict(0.0, 0.3, 0.0, claim_above=True).startswith(INCONCLUSIVE)  # touches: not separated
    assert threshold_verdict(math.nan, math.nan, 0.0, claim_above=True).startswith(INCONCLUSIVE)  # one seed


def test_ordering_rule():
    # each step: (rate claimed higher, rate claimed lower, two-sided p)
    assert ordering_verdict([(0.9, 0.5, 0.001), (0.5, 0.1, 0.01)]) == REPRODUCES
    assert ordering_verdict([(0.9, 0.5, 0.001), (0.1, 0.5, 0.01)]) == DOES_NOT  # second step reversed, significant
    assert ordering_verdict([(0.9, 0.5, 0.001), (0.5, 0.4, 0.3)]).startswith(INCONCLUSIVE)
    assert ordering_verdict([(0.9, 0.5, 0.001), (0.5, 0.1, None)]).startswith(INCONCLUSIVE)  # untestable step
    assert ordering_verdict([(0.9, 0.5, 0.001), (0.1, 0.5, 0.3)]).startswith(INCONCLUSIVE)  # reversed, not significant


def test_exact_rule():
    assert exact_verdict(True) == REPRODUCES and exact_verdict(False) == DOES_NOT


def _rec(track, model, protocol, metrics, seed=0, commit="abcdef0123"):
    r = make_record(track, model, seed, "full", protocol, metrics, {}, "fp", 0.0)
    r.provenance = {"git_commit": commit}
    return r


def test_records_cell_names_presets_seeds_and_dirty_commits():
    recs = [_rec("shortcut", "m", "shortcut.full.v4", {}, seed=s, commit=c)
            for s, c in ((0, "1234567aaa"), (1, "89abcdefff-dirty"))]
    cell = records_cell(recs)
    assert "shortcut.full.v4" in cell and "2 seed(s)" in cell and "1234567" in cell
    assert "89abcde-dirty" in cell and "uncommitted" in cell
    assert "uncommitted" not in records_cell(recs[:1])


def test_old_preset_records_are_not_shown():
    # shortcut.full.v3 is not a current preset (v4 is): the ERM row must not use its number
    old = [_rec("shortcut", "lazy_cnn.erm", "shortcut.full.v3", {"hard_correct_per_digit": "99", "easy_acc": 1.0},
                seed=s) for s in (0, 1)]
    table = findings_table(old)
    row = next(r for r in table.rows if r[0].startswith("ERM at the seed's budget"))
    assert row[-1].startswith(NOT_YET) and "shortcut.full.v4" in row[-1] and row[2] == "–"
    assert all(r[-1].startswith((REPRODUCES, DOES_NOT, INCONCLUSIVE, NOT_YET)) for r in table.rows)


def test_readme_block_is_replaced_between_markers(tmp_path):
    old = [_rec("shortcut", "lazy_cnn.erm", "shortcut.full.v3", {}, seed=0)]
    table = findings_table(old)
    readme = tmp_path / "README.md"
    readme.write_text(f"intro\n\n{README_BEGIN}\nstale text\n{README_END}\n\noutro\n")
    assert fill_readme(readme, table)
    text = readme.read_text()
    assert "stale text" not in text and text.startswith("intro\n") and text.endswith("outro\n")
    assert "| claim |" in text and text.count(README_END) == 1
    assert fill_readme(readme, table) and readme.read_text() == text  # idempotent
    plain = tmp_path / "OTHER.md"
    plain.write_text("no markers\n")
    assert not fill_readme(plain, table) and plain.read_text() == "no markers\n"
    assert not fill_readme(tmp_path / "missing.md", table)


def test_leaderboard_command_writes_findings_and_readme(tmp_path, capsys):
    out = tmp_path / "leaderboard"
    Store.in_dir(out).put([_rec("shortcut", "lazy_cnn.erm", "shortcut.full.v3", {}, seed=0)])
    (tmp_path / "README.md").write_text(f"{README_BEGIN}\n{README_END}\n")
    assert main(["leaderboard", "--out", str(out)]) == 0
    md = (out / "findings.md").read_text()
    assert "# Findings" in md and (out / "findings.csv").is_file()
    assert "| claim |" in (tmp_path / "README.md").read_text()
