"""End to end: the shortcut track scores shipped weights (never trains), through the CLI,
records, tables and figures; the same weights give the same numbers."""
import json
from dataclasses import replace

import pytest

from shortcutbench.cli import main
from shortcutbench.results import Store
from shortcutbench.tracks.common import colored_mnist
from shortcutbench.zoo import catalogue as cat
from shortcutbench.zoo import shipped
from shortcutbench.zoo.runner import train_job

TIMING_KEYS = {"train_time_s"}


@pytest.fixture(scope="module")
def weights_root(tmp_path_factory):
    """A shipped 'lazy_cnn.erm' seed 0: the catalogue's ERM run cut to its first epoch (60,000 samples)."""
    root = tmp_path_factory.mktemp("weights")
    run = cat.shipped_names()["lazy_cnn.erm"][0]
    run = replace(run, train=replace(run.train, epochs=1, epoch_samples=60000), snapshots=(("lazy_cnn.erm", 1),))
    train_job(run, 0, colored_mnist(None, cat.SEED_DATA), root)
    return root


@pytest.fixture
def shipped_root(weights_root, monkeypatch):
    monkeypatch.setattr(shipped, "WEIGHTS_DIR", weights_root)
    return weights_root


def _run(out):
    assert main(["run", "shortcut", "--out", str(out), "--set", "methods=erm"]) == 0


def _metrics(out):
    (rec,) = Store.in_dir(out).query("shortcut")
    return {k: v for k, v in rec.metrics.items() if k not in TIMING_KEYS}, rec


def test_scores_the_shipped_model(shipped_root, tmp_path, capsys):
    _run(tmp_path)
    assert "not shipped, not scored" in capsys.readouterr().err  # the rest of the catalogue, named
    m, rec = _metrics(tmp_path)
    _, record = shipped.load_shipped("lazy_cnn.erm", 0, shipped_root)
    assert rec.config["weights_sha256"] == record["sha256"] and m["history"] == record["history"]
    assert m["samples"] == 938 * 64 and m["steps"] == 938 and m["group"] == "control"
    assert len(m["hard_correct_per_digit"]) == m["eval_digits"] == 1000  # quick: 100 test digits per class
    hard = sum(int(c) for c in m["hard_correct_per_digit"]) / 9000
    assert abs(hard - m["hard_acc"]) < 1e-6
    # seed 000 §3.3: after training on skewed data the lazy CNN is right when colour and digit agree
    assert m["easy_acc"] >= 0.9 and m["gap"] >= 0.5
    assert rec.protocol == "shortcut.quick.v3" and rec.data_fingerprint
    md = (tmp_path / "shortcut.md").read_text()
    assert "| erm | SGD lr 0.01 m 0.5, batch 64 | 60,032 / 938 (1) | 1 |" in md
    assert (tmp_path / "figures" / "shortcut" / "hard_acc_by_model.png").stat().st_size > 1000
    lines = (tmp_path / "records" / "shortcut.jsonl").read_text().splitlines()
    assert len(lines) == 1 and json.loads(lines[0])["model_id"] == "lazy_cnn.erm"


def test_same_weights_same_numbers_and_tables_regenerate(shipped_root, tmp_path):
    _run(tmp_path / "a")
    _run(tmp_path / "b")
    assert _metrics(tmp_path / "a")[0] == _metrics(tmp_path / "b")[0]
    names = ["shortcut.md", "shortcut.csv", "figures/shortcut/hard_acc_by_model.png"]
    out = tmp_path / "a"
    before = {n: (out / n).read_bytes() for n in names}
    for n in names:
        (out / n).unlink()
    (out / "records.sqlite").unlink()  # regenerate from the committed JSONL alone
    assert main(["leaderboard", "--out", str(out)]) == 0
    assert {n: (out / n).read_bytes() for n in names} == before


def test_tampered_weights_stop_the_track(shipped_root, tmp_path, capsys):
    path, _ = shipped.shipped_paths("lazy_cnn.erm", 0, shipped_root)
    blob = path.read_bytes()
    try:
        path.write_bytes(blob[:-1] + bytes([blob[-1] ^ 1]))
        assert main(["run", "shortcut", "--out", str(tmp_path), "--set", "methods=erm"]) == 2
        assert "SHA-256" in capsys.readouterr().err
        assert not (tmp_path / "records" / "shortcut.jsonl").exists()
    finally:
        path.write_bytes(blob)
