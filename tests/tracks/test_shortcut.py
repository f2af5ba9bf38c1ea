"""End to end: the quick shortcut profile through the CLI, records, tables and figures."""
import json

import pytest

from shortcutbench.cli import main
from shortcutbench.results import Store

TIMING_KEYS = {"train_time_s"}


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("lb")
    assert main(["run", "shortcut", "--out", str(out), "--set", "methods=erm", "--set", "sweep=0"]) == 0
    return out


def _metrics(out):
    (rec,) = Store.in_dir(out).query("shortcut")
    return {k: v for k, v in rec.metrics.items() if k not in TIMING_KEYS}, rec


def test_erm_row_and_seed_finding(run_dir):
    md = (run_dir / "shortcut.md").read_text()
    assert "| lazy_cnn.erm | 1 |" in md and "quick profile" in md
    m, rec = _metrics(run_dir)
    # seed 000 §3.3: the lazy CNN is right when colour and digit agree, lost when they do not
    assert m["easy_acc"] >= 0.9 and m["gap"] >= 0.5
    assert rec.data_fingerprint and rec.provenance["git_commit"] and rec.protocol.startswith("shortcut.quick.")
    assert rec.provenance["backend"]["ops"]["colorize"].startswith("cpu:")
    assert len(m["history"]) == 4 and {"easy_acc", "hard_curve_acc", "val_acc"} <= set(m["history"][0])
    for fig in ("lazy_cnn.erm_hard_confusion.png", "lazy_cnn.erm_curves.png"):
        assert (run_dir / "figures" / "shortcut" / fig).stat().st_size > 1000
    lines = (run_dir / "records" / "shortcut.jsonl").read_text().splitlines()
    assert len(lines) == 1 and json.loads(lines[0])["model_id"] == "lazy_cnn.erm"


def test_leaderboard_regenerates_byte_identical(run_dir):
    names = ["shortcut.md", "shortcut.csv", "shortcut_recolor_probe.md", "figures/shortcut/lazy_cnn.erm_curves.png"]
    before = {n: (run_dir / n).read_bytes() for n in names}
    for n in names:
        (run_dir / n).unlink()
    (run_dir / "records.sqlite").unlink()  # regenerate from the committed JSONL alone
    assert main(["leaderboard", "--out", str(run_dir)]) == 0
    assert {n: (run_dir / n).read_bytes() for n in names} == before


def test_same_seed_twice_gives_identical_metrics(run_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("SHORTCUTBENCH_CACHE", str(tmp_path / "fresh-cache"))  # train again from scratch
    out = tmp_path / "again"
    assert main(["run", "shortcut", "--out", str(out), "--set", "methods=erm", "--set", "sweep=0"]) == 0
    assert _metrics(out)[0] == _metrics(run_dir)[0]
