"""The ssl track end to end on the generated toy data: records per method × readout, tables."""
import pytest

from shortcutbench.errors import UsageError
from shortcutbench.ssl.evaluate import EvalConfig
from shortcutbench.ssl.pretrain import PretrainConfig
from shortcutbench.ssl.readout import AdversarialReadoutConfig
from shortcutbench.tracks import RunContext
from shortcutbench.tracks import ssl as track

TINY = track.SslProtocol("ssl.test", seeds=2, pretrain=PretrainConfig(epochs=1, batch_size=64, train_size=128),
                         readout_train_size=256, adversarial=AdversarialReadoutConfig(lrs=(1e-4, 1e-3), epochs=1,
                                                                                      batch_size=64, attack_steps=2),
                         adversarial_train_size=64, val_size=32,
                         eval=EvalConfig(n_test=48, apgd_steps=5, apgd_short_steps=2, n_targets=1, square_queries=10),
                         probe_per_half=100)


def test_ssl_track_records_and_tables(monkeypatch, tmp_path):
    monkeypatch.setitem(track.PROTOCOLS, "quick", TINY)
    ctx = RunContext(profile="quick", options={"datasets": "toy", "methods": "supervised,linear_separated_supervised,simclr"})
    t = track.SslTrack()
    records = list(t.run(ctx))
    ids = sorted({r.model_id for r in records})
    assert ids == ["resnet_small.linear_separated_supervised.adversarial.toy",
                   "resnet_small.linear_separated_supervised.standard.toy", "resnet_small.simclr.adversarial.toy",
                   "resnet_small.simclr.standard.toy", "resnet_small.supervised.joint.toy"]
    assert len(records) == 2 * len(ids)  # two seeds
    for r in records:
        assert set(r.metrics["robust"]) == {"0.1", "0.3"} and r.metrics["n"] == 48
    tables = {tb.name: tb for tb in t.render(records, tmp_path)}
    assert set(tables) == {"ssl_toy", "ssl_toy_eps", "ssl_findings"}
    main = tables["ssl_toy"]
    assert [row[:3] for row in main.rows][0] == ["supervised", "joint", "2"]
    assert [tuple(row[:2]) for row in main.rows][1:] == [  # a method's own head, then standard, then adversarial
        ("linear_separated_supervised", "standard"), ("linear_separated_supervised", "adversarial"),
        ("simclr", "standard"), ("simclr", "adversarial")]
    assert len(main.rows) == 5 and "[" in main.rows[0][3]  # intervals
    # three of the seven methods: the claims wait for the rest, and the main table says it is partial
    (finding,) = tables["ssl_findings"].rows
    assert finding[-1] == "not yet measured"
    assert finding[2] == "no records for supervised_noaug, supervised_simclr, simsiam, barlow_twins"
    assert any(n.startswith("Incomplete") and "simsiam" in n for n in main.notes)


def test_bad_options_are_one_line_errors():
    t = track.SslTrack()
    with pytest.raises(UsageError, match="no option"):
        t.protocol_for(RunContext(options={"colour": "1"}))
    with pytest.raises(UsageError, match="unknown ssl method"):
        t.protocol_for(RunContext(options={"methods": "simclr,mocov3"}))
    with pytest.raises(UsageError, match="--cifar-dir"):
        list(t.run(RunContext(options={"datasets": "cifar10"})))


def _rec(method, readout, clean, fgsm, apgd, seed=0, seeds=1):
    from shortcutbench.results.record import make_record

    robust = {"0.1": {"fgsm": fgsm, "apgd_ce": apgd, "apgd_ce10": apgd, "standard": apgd}}
    m = {"method": method, "readout": readout, "dataset": "digits", "n": 1000, "clean": clean,
         "headline_eps": 0.1, "robust": robust}
    return make_record("ssl", f"a.{method}.{readout}.digits", seed, "full", "p", m, {"protocol": {"seeds": seeds}},
                       "fp", 0.0)


def _complete(*chosen, seeds=1):
    """Every method × readout of the track for ``seeds`` seeds: ``chosen`` records, the rest a robust-looking
    filler (clean 98 %, FGSM 40 %, APGD-CE 2 %) that agrees with every claim."""
    given = {(r.metrics["method"], r.metrics["readout"]): r for r in chosen}
    models = {}
    for method, readout in track.method_readouts():
        recs = [given.get((method, readout)) or _rec(method, readout, 980, 400, 20, seed, seeds)
                for seed in range(seeds)]
        models[recs[0].model_id] = recs
    return {"digits": models}


def test_findings_leave_out_chance_level_models_and_follow_the_intervals():
    from shortcutbench.tracks.ssl_render import findings_table

    groups = _complete(_rec("supervised", "joint", 990, 600, 300), _rec("simclr", "standard", 980, 400, 20),
                       _rec("simsiam", "standard", 90, 50, 0), _rec("barlow_twins", "adversarial", 970, 500, 30))
    rows = {row[1][:20]: row for row in findings_table(groups).rows}
    assert rows["(models left out: cl"][2] == "simsiam/standard"  # 9 % clean: not above chance
    assert rows["SSL encoders are no "][3] == "holds"  # 2.0 % [1.3, 3.1] below 30 % [27.2, 32.9]
    assert rows["FGSM overestimates r"][3] == "holds"
    assert rows["adversarial readouts"][3] == "holds"  # 3.0 % [2.1, 4.3] below 10 %


def test_findings_wait_for_every_method_and_seed():
    from shortcutbench.tracks.ssl_render import findings_table

    groups = _complete(seeds=3)
    assert all(row[-1] != "not yet measured" for row in findings_table(groups).rows)
    models = groups["digits"]
    models["a.simclr.adversarial.digits"] = models["a.simclr.adversarial.digits"][:1]  # one seed of three
    del models["a.barlow_twins.standard.digits"], models["a.barlow_twins.adversarial.digits"]
    (row,) = findings_table(groups).rows
    assert row[2:] == ["no records for barlow_twins; seeds short for simclr/adversarial (1 of 3)", "not yet measured"]


def test_seeds_that_all_score_zero_keep_the_test_sets_interval():
    from shortcutbench.results.stats import wilson_interval
    from shortcutbench.tracks.ssl_render import interval

    mean, lo, hi = interval([0, 0, 0], 1000)  # Student-t alone would be [0, 0]
    assert (mean, lo) == (0.0, 0.0) and hi == pytest.approx(wilson_interval(0, 1000)[1]) and hi > 0.003
    assert interval([7], 1000)[1:] == wilson_interval(7, 1000)  # one seed: Wilson
    mean, lo, hi = interval([100, 300, 500], 1000)  # seeds disagree: the t interval is the wider
    assert mean == pytest.approx(0.3) and lo == 0.0 and hi > 0.7


def test_adv_lr_column_shows_each_seeds_rate_when_the_seeds_differ():
    from shortcutbench.tracks.ssl_render import adv_lr_cell

    def recs(*lrs):
        out = [_rec("simclr", "adversarial", 950, 100, 0, seed=s, seeds=len(lrs)) for s in range(len(lrs))]
        for r, lr in zip(out, lrs):
            r.metrics["adv_lr"] = lr
        return out

    assert adv_lr_cell(recs(1e-6, 1e-6, 1e-6)) == "1e-06"
    assert adv_lr_cell(recs(1e-4, 1e-6, 1e-6)) == "0.0001 / 1e-06 / 1e-06"
    assert adv_lr_cell(recs(None, None)) == "–"
