import torch

from shortcutbench.data.lt import extended_spec, toy_dataset
from shortcutbench.ops.lt_extended import lt_extended
from shortcutbench.train.extended_set import ExtendedTrainConfig, train_extended, train_standard


def test_standard_training_fits_the_8_images():
    res = train_standard(toy_dataset("lt"), epochs=200)
    assert res.reached_100 and res.history[-1]["loss"] < res.history[0]["loss"]


def test_full_batch_stops_at_100_percent_of_the_set():
    spec = extended_spec(toy_dataset("lt"), 0.41, "inbound_pattern")
    res = train_extended(spec, ExtendedTrainConfig(max_steps=300))
    assert res.reached_100 and res.history[-1]["acc"] == 1.0 and res.steps < 300
    out = lt_extended(spec.bases, spec.labels, spec.pixels, spec.offsets, res.model.filters.detach(), None, 0, spec.size)
    assert int(out.correct) == spec.size and float(out.min_margin) > 0  # re-checked independently of training


def test_minibatch_mode_lowers_the_exact_loss():
    spec = extended_spec(toy_dataset("lt"), 0.41, "corners")
    res = train_extended(spec, ExtendedTrainConfig(mode="minibatch", max_steps=40, batch_size=1024, check_every=20))
    assert [h["step"] for h in res.history] == [0, 20, 40]
    assert res.history[-1]["loss"] < res.history[0]["loss"]


def test_same_seed_same_model():
    spec = extended_spec(toy_dataset("lt"), 0.41, "inbound_pattern")
    a = train_extended(spec, ExtendedTrainConfig(max_steps=5, seed=3)).model.filters.detach()
    b = train_extended(spec, ExtendedTrainConfig(max_steps=5, seed=3)).model.filters.detach()
    assert torch.equal(a, b)
