import pytest

from shortcutbench.errors import UsageError
from shortcutbench.tracks import TRACKS, RunContext
from shortcutbench.tracks.causal import PROTOCOLS, protocol_for


def test_protocols_are_frozen_and_options_rename_them():
    ctx = RunContext(profile="full")
    assert protocol_for(ctx) is PROTOCOLS["full"]
    changed = protocol_for(RunContext(profile="full", options={"epochs": "1"}))
    assert changed.name.startswith("causal.full.v2+") and changed.epochs == 1 and not changed.ship
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


def test_simclr_features_train_once_are_stored_and_certified(tmp_path):
    """SimCLR (seed 001 §7.1) joins as a pre-trained encoder: ridge readout, a λ bound (a plain
    Sequential the certifier knows), no violations; the second run loads the stored weights."""
    track = TRACKS.get("causal")()
    opts = {"encoders": "simclr", "n_train": "300", "n_attack": "6", "epochs": "1", "pretrain_epochs": "1"}
    first = list(track.run(RunContext(profile="quick", out_dir=tmp_path, options=opts)))
    again = list(track.run(RunContext(profile="quick", out_dir=tmp_path, options=opts)))
    (m1,), (m2,) = [r.metrics for r in first], [r.metrics for r in again]
    assert m1["regressor"] == "ridge readout" and m1["lambda"] is not None and m1["lambda"] > 0
    assert sum(m1["violations"].values()) == 0
    assert m1["weights_cached"] is False and m2["weights_cached"] is True
    assert m1["r2"] == m2["r2"] and m1["robust"] == m2["robust"]  # the stored encoder is the trained one


def test_the_pretrained_body_is_what_is_stored_and_reloaded(monkeypatch, tmp_path):
    """fit_encoder copies the hook's trained weights into the stored body (not the fresh one)."""
    import torch

    from shortcutbench.causal import simclr
    from shortcutbench.causal.encoders import conv_body
    from shortcutbench.causal.fit import FitConfig, fit_encoder
    from shortcutbench.data.scenes import load_scenes

    def constant_body(train, seed, epochs):
        body = conv_body()
        with torch.no_grad():
            for p in body.parameters():
                p.fill_(0.25)
        return body, {"history": []}

    monkeypatch.setattr(simclr, "simclr_features", constant_body)
    train = load_scenes("light", 64, 0, cache=False)
    first = fit_encoder("simclr", train, FitConfig(), seed=0, pretrain_epochs=2)
    again = fit_encoder("simclr", train, FitConfig(), seed=0, pretrain_epochs=2)
    assert not first.info["cached"] and again.info["cached"]
    for fitted in (first, again):
        assert all(bool((p == 0.25).all()) for p in fitted.body.parameters())
    with pytest.raises(ValueError, match="pretrain_epochs"):
        fit_encoder("simclr", train, FitConfig(), seed=0)


def _simclr_records(gaps):
    """One record per seed: R²(θ) 0.95, APGD-CE 0 at 8/255, FGSM = APGD-CE + gap."""
    from shortcutbench.results.record import make_record

    e8 = 8 / 255
    return [make_record("causal", "theta/simclr", s, "full", "causal.full.v2",
                        {"factor": "theta", "r2": {"linear": {"theta": 0.95}}, "eps": [e8],
                         "robust": {"fgsm": [g], "apgd-ce": [0.0]}}, {}, "fp", 1.0) for s, g in enumerate(gaps)]


@pytest.mark.parametrize("gaps, verdict", [((0.30, 0.35, 0.33), "reproduced"), ((0.0, 0.01, 0.0), "refuted"),
                                           ((0.0, 0.3, 0.1), "inconclusive")])
def test_simclr_fgsm_claim_is_judged_against_plus_five_points(gaps, verdict):
    from shortcutbench.tracks.causal_render import _encoder_rows

    rows = _encoder_rows("theta", _simclr_records(gaps), "simclr")
    r2, not_robust, fgsm = rows
    assert r2[2] == "reproduced"  # 0.95 at every seed: the interval is [0.95, 0.95] ≥ 0.9
    assert not_robust[2] == "reproduced"  # APGD-CE 0 % < 5 %
    assert "overestimates" in fgsm[0] and fgsm[2].startswith(verdict)
