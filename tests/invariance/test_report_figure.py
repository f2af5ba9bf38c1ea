"""The invariance track's key figure: NSPGD success per model with Wilson intervals over pairs."""
import pytest

from shortcutbench.invariance import report
from shortcutbench.results.record import make_record
from shortcutbench.results.stats import wilson_interval


def _rec(model, seed, success, pairs=90):
    return make_record("invariance", model, seed, "full", "invariance.full.v3",
                       {"pairs": pairs, "halfspace": {"success": success}}, {}, "fp", 1.0)


def test_success_figure_pools_pairs_over_seeds(tmp_path, monkeypatch):
    seen = {}

    def capture(labels, means, lo, hi, path, *args, **kwargs):
        seen.update(labels=labels, means=means, lo=lo, hi=hi)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"png")

    monkeypatch.setattr(report.plots, "intervals", capture)
    by_model = {"erm": [_rec("erm", 0, 60 / 90), _rec("erm", 1, 30 / 90)], "pgd_at": [_rec("pgd_at", 0, 0.0)]}
    path = report._success_figure(by_model, ["erm", "pgd_at"], "halfspace", 0.1, tmp_path)
    assert path == tmp_path / "nspgd_success_by_model.png" and path.is_file()
    assert seen["labels"] == ["erm", "pgd_at"]
    assert seen["means"] == pytest.approx((0.5, 0.0))  # 90 of 180 pooled pairs; 0 of 90
    assert (seen["lo"][0], seen["hi"][0]) == pytest.approx(wilson_interval(90, 180))
    assert seen["lo"][1] == 0.0 and seen["hi"][1] > 0.0


def test_success_figure_is_drawn(tmp_path):
    path = report._success_figure({"erm": [_rec("erm", 0, 0.4)]}, ["erm"], "halfspace", 0.1, tmp_path)
    assert path.read_bytes()[:4] == b"\x89PNG"
