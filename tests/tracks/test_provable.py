import dataclasses
import numpy as np
import pytest
import torch

from shortcutbench.certify import LinearView
from shortcutbench.cli import main
from shortcutbench.data.lt import extended_spec, oracle_filters, toy_dataset
from shortcutbench.errors import UsageError
from shortcutbench.models.conv_maxpool import ConvMaxPool
from shortcutbench.ops.lt_extended import lt_extended
from shortcutbench.results.record import make_record
from shortcutbench.tracks import RunContext
from shortcutbench.tracks.provable import PROTOCOLS, ProvableTrack, _pgd_counterexample, protocol_for
from shortcutbench.train.extended_set import ExtendedTrainConfig, train_extended


def test_oracle_evaluation_and_render(tmp_path):
    track = ProvableTrack()
    ctx = RunContext(profile="quick")
    data = toy_dataset("lt")
    m = track.evaluate(ConvMaxPool(3).set_filters(oracle_filters(data)), ctx)
    assert m["exact_radius_plain"] == pytest.approx([0.5] * 8, abs=1e-7)
    assert sum(m["grid_wrong"]) == 0 and m["clean_acc"] == 1.0
    assert all(a == 1.0 for e, a in zip(m["pgd_eps"], m["pgd_acc"]) if e < 0.5)
    rec = make_record("provable", "lt/oracle", 0, "quick", protocol_for(ctx).name, m, {"protocol": {"attack_eps": 0.4,
                      "dataset_eps": 0.41}}, "fp", 0.0)
    older = dataclasses.replace(rec, protocol="provable.quick.v0")  # a superseded preset's record
    tables = track.render([rec, older], tmp_path)
    assert len(tables[0].rows) == 1  # shown once: only the current preset's record
    row = tables[0].rows[0]
    assert row[0] == "lt/oracle" and row[5] == "8/8" and row[-1] == "yes"
    assert (tmp_path / "figures" / "provable" / "lt_oracle_robust_acc.png").is_file()
    assert tables[0].figures[0] == "figures/provable/certified_radius_by_model.png"  # the key figure first
    assert (tmp_path / tables[0].figures[0]).stat().st_size > 1000


def test_options_are_typed_and_checked():
    p = protocol_for(RunContext(profile="quick", options={"canvas": "5", "eps": "0.3"}))
    assert p.canvas == 5 and p.dataset_eps == 0.3 and p.name.startswith("provable.quick.v2+")
    with pytest.raises(UsageError):
        protocol_for(RunContext(options={"bogus": "1"}))
    with pytest.raises(UsageError):
        protocol_for(RunContext(options={"value_sets": "nope"}))


def test_overflowing_index_space_is_a_one_line_error(tmp_path, capsys):
    rc = main(["run", "provable", "--out", str(tmp_path), "--set", "dataset=triangle_square", "--set", "value_sets=full"])
    assert rc == 2
    err = capsys.readouterr().err.strip()
    assert "overflows the int64 index space" in err and len(err.splitlines()) == 1


def test_findings_name_the_warm_start_of_the_full_set_model(tmp_path):
    """A full-set model that is already at 100% after its warm start (0 full-set steps) is reported
    as such: the evidence names the warm start and the verdict still rests on the certificates."""
    track = ProvableTrack()
    ctx = RunContext(profile="quick")
    m = track.evaluate(ConvMaxPool(3).set_filters(oracle_filters(toy_dataset("lt"))), ctx)
    m.update({"train_set": "full", "train_set_size": 344_373_768, "train_steps": 0, "reached_100": True,
              "train_acc": 1.0, "full_ext_acc": 1.0, "full_ext_wrong": 0, "warm_start": "ext-corners",
              "pgd_eps": [0.0, 0.4, 0.5, 0.43, 0.44], "pgd_acc": [1.0, 1.0, 0.0, 1.0, 0.75]})
    rec = make_record("provable", "lt/ext-full", 0, "quick", protocol_for(ctx).name, m,
                      {"protocol": {"attack_eps": 0.4, "dataset_eps": 0.41}}, "fp", 0.0)
    findings = track.render([rec], tmp_path)[1]
    (row,) = [r for r in findings.rows if r[0].startswith("full {")]
    assert row[1].startswith("warm start from ext-corners, then 100% on train set: yes (0 steps")
    assert "PGD first drop at ε = 0.44" in row[1]  # the smallest ε, not the first listed
    assert row[2] == "reproduced"


@pytest.mark.slow
def test_full_protocol_cap_lets_the_corners_model_reach_100_percent_of_the_full_set():
    """The full profile's step cap is large enough: full-batch Adam (lr 0.1) on the corners set
    climbs steadily (the minimum margin never falls after step 200: no oscillation) to 100%, and
    the model it stops at classifies every one of the 344,373,768 full-set samples correctly."""
    data = toy_dataset("lt")
    cap = PROTOCOLS["full"].max_steps
    res = train_extended(extended_spec(data, 0.41, "corners"), ExtendedTrainConfig(max_steps=cap), kernel=3)
    assert res.reached_100 and res.steps < cap
    margins = [h["min_margin"] for h in res.history[200:]]
    assert all(b >= a for a, b in zip(margins, margins[1:]))
    full = extended_spec(data, 0.41, "full")
    out = lt_extended(full.bases, full.labels, full.pixels, full.offsets, res.model.filters.detach(), None, 0,
                      full.size, False, False, False, 1)
    assert full.size == 344_373_768 and int(out.correct) == full.size and out.misclassified.numel() == 0


def test_pgd_counterexample_is_none_inside_the_radius_and_a_checked_image_beyond_it():
    """The oracle's radius is 1/2 (tests/certify): at ε = 0.4 there is nothing to find; at ε = 0.6
    the stored image lies within ε of its base image and in [0, 1], and its stored logits are the
    LP view's logits of the stored pixels (float64 numpy) with the wrong class on top."""
    data = toy_dataset("lt")
    model = ConvMaxPool(3).set_filters(oracle_filters(data))
    assert _pgd_counterexample(model, data.images, data.labels, 0.4, seed=0) is None
    ce = _pgd_counterexample(model, data.images, data.labels, 0.6, seed=0)
    i, adv = ce["image"], np.asarray(ce["x"])
    gap = np.abs(adv - data.images[i].numpy()).max()
    assert gap <= 0.6 + 1e-6 and ce["linf"] == pytest.approx(gap, abs=1e-6)
    assert adv.min() >= 0.0 and adv.max() <= 1.0
    logits = LinearView.of(oracle_filters(data), None, data.canvas).logits(adv.ravel())
    assert ce["logits"] == pytest.approx(logits.tolist(), abs=1e-5)
    assert int(np.argmax(ce["logits"])) != int(data.labels[i])
