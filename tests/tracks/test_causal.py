import pytest

from shortcutbench.errors import UsageError
from shortcutbench.tracks import TRACKS, RunContext
from shortcutbench.tracks.causal import PROTOCOLS, protocol_for


def test_protocols_are_frozen_and_options_rename_them():
    ctx = RunContext(profile="full")
    assert protocol_for(ctx) is PROTOCOLS["full"]
    changed = protocol_for(RunContext(profile="full", options={"epochs": "1"}))
    assert changed.name.startswith("causal.full.v1+") and changed.epochs == 1 and not changed.ship
    # choosing tasks is a run option: the protocol stays the committed one
    assert protocol_for(RunContext(profile="full", options={"tasks": "theta"})) is PROTOCOLS["full"]


@pytest.mark.parametrize("options", [{"encoders": "nope"}, {"n_train": "0"}, {"bogus": "1"}])
def test_bad_options_are_usage_errors(options):
    with pytest.raises(UsageError):
        protocol_for(RunContext(profile="quick", options=options))


def test_quick_cut_down_run_writes_tables_without_violations(tmp_path):
    track = TRACKS.get("causal")()
    ctx = RunContext(profile="quick", out_dir=tmp_path, options={
        "encoders": "pixels,linf_cnn", "n_train": "300", "n_attack": "6", "epochs": "1"})
    records = list(track.run(ctx))
    assert [r.model_id for r in records] == ["theta/pixels", "theta/linf_cnn"]
    for r in records:
        m = r.metrics
        assert sum(m["violations"].values()) == 0
        assert set(m["r2"]) == {"linear", "kernel_ridge"} and "theta" in m["r2"]["linear"]
        assert m["eps_cert"] == pytest.approx(m["delta_star"] / m["lambda"])
    assert records[1].metrics["lambda"] <= PROTOCOLS["quick"].gain * 3.1416 / 2 + 1e-3
    tables = track.render(records, tmp_path)
    assert [t.name for t in tables] == ["causal", "causal_r2", "causal_findings"]
    assert len(tables[0].rows) == 2 and (tmp_path / "figures" / "causal" / "certified_theta.png").is_file()
