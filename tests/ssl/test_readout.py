import pytest
import torch

from shortcutbench.ssl.data import SSL_DATA, subset
from shortcutbench.ssl.pretrain import PretrainConfig, pretrain
from shortcutbench.ssl.readout import (AdversarialReadoutConfig, ReadoutConfig, ReadoutModel, features,
                                       fit_adversarial, fit_linear)


@pytest.fixture(scope="module")
def encoder_and_data():
    toy = SSL_DATA.get("toy")()
    enc = pretrain("supervised", toy, PretrainConfig(epochs=3, batch_size=64, train_size=256), seed=0).model
    return enc, toy


def test_fit_linear_separates_separable_features():
    g = torch.Generator().manual_seed(0)
    y = torch.arange(6000) % 3  # 12 Adam steps an epoch at batch 512
    f = torch.randn(6000, 4, generator=g) * 0.1 + torch.nn.functional.one_hot(y, 4).float() * 3
    fc = fit_linear(f, y, 3, ReadoutConfig(), seed=0)
    assert (fc(f).argmax(1) == y).float().mean() == 1.0


def test_readout_model_freezes_the_encoder(encoder_and_data):
    enc, toy = encoder_and_data
    x, y, _ = subset(toy["train"], 256)
    fc = fit_linear(features(enc, x), y, 10, ReadoutConfig(), seed=0)
    clf = ReadoutModel(enc, fc).train()
    assert not clf.encoder.training and all(not p.requires_grad for p in clf.encoder.parameters())
    xt, _, _ = subset(toy["test"], 16)
    assert torch.equal(clf(xt), fc(enc.features(xt)))


def test_adversarial_readout_tries_each_rate_and_keeps_the_best(encoder_and_data):
    enc, toy = encoder_and_data
    x, y, _ = subset(toy["train"], 128)
    xv, yv, _ = subset(toy["val"], 64)
    start = fit_linear(features(enc, x), y, 10, ReadoutConfig(), seed=0)
    before = start.weight.detach().clone()
    cfg = AdversarialReadoutConfig(lrs=(1e-6, 1e-2), epochs=1, batch_size=64, attack_steps=3)
    fc, val = fit_adversarial(enc, start, x, y, xv, yv, 0.1, toy.supervised, cfg, seed=0)
    assert set(val) == {"1e-06", "0.01"} and all(0 <= v <= 1 for v in val.values())
    assert torch.equal(start.weight, before)  # the standard readout is not modified
    best = max(val, key=val.get)
    moved = (fc.weight - before).abs().max().item()
    assert moved > 0 and (moved < 1e-4) == (best == "1e-06")


def test_adversarial_readout_tie_goes_to_the_smaller_rate(encoder_and_data):
    # two tiny rates barely move the readout: the same images survive, a tie; Adam moves a weight by
    # about lr a step (2 steps here), so the 1e-6 readout moves < 5e-6 and the 1e-5 one more
    enc, toy = encoder_and_data
    x, y, _ = subset(toy["train"], 128)
    xv, yv, _ = subset(toy["val"], 64)
    start = fit_linear(features(enc, x), y, 10, ReadoutConfig(), seed=0)
    cfg = AdversarialReadoutConfig(lrs=(1e-6, 1e-5), epochs=1, batch_size=64, attack_steps=3)
    fc, val = fit_adversarial(enc, start, x, y, xv, yv, 0.1, toy.supervised, cfg, seed=0)
    assert val["1e-06"] == val["1e-05"]
    assert 0 < (fc.weight - start.weight).abs().max().item() < 5e-6
