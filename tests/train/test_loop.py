from dataclasses import replace

import pytest
import torch

from shortcutbench.data import ColoredMNISTConfig, build_colored_mnist, load_embedded
from shortcutbench.errors import UsageError
from shortcutbench.models import create_model
from shortcutbench.train import METHODS, TrainConfig, fit


@pytest.fixture(scope="module")
def small():
    cfg = ColoredMNISTConfig(train_per_class=40, test_per_class=10, val_per_class=10, val_balanced_per_class=10)
    return build_colored_mnist(load_embedded(), cfg)


def _train(small, seed):
    model = create_model("lazy_cnn", seed=seed)
    return fit(model, "erm", small, TrainConfig(epochs=2, batch_size=32), seed,
               evaluate=lambda m: {"n": 1.0})


def test_same_seed_same_weights(small):
    a, b = _train(small, 3), _train(small, 3)
    for k in a.model.state_dict():
        assert torch.equal(a.model.state_dict()[k], b.model.state_dict()[k]), k
    assert [h["train_loss"] for h in a.history] == [h["train_loss"] for h in b.history]
    assert len(a.checkpoints) == 2


def test_different_seed_different_weights(small):
    a, b = _train(small, 3), _train(small, 4)
    assert not torch.equal(a.model.fc.weight, b.model.fc.weight)


def test_erm_registered_and_unknown_method_is_usage_error(small):
    assert "erm" in METHODS
    with pytest.raises(UsageError, match="unknown method 'nope'"):
        fit(create_model("lazy_cnn"), "nope", small, TrainConfig(epochs=1), 0)
    with pytest.raises(UsageError, match="no hyperparameter"):
        fit(create_model("lazy_cnn"), "erm", small, TrainConfig(epochs=1), 0, hparams={"lam": 1})


def test_history_keeps_every_scalar_a_step_reports_as_its_epoch_mean(small):
    # DANN-FixA reports its adversary's accuracy per batch; the epoch entry holds the batch mean
    res = fit(create_model("lazy_cnn", seed=0), "dann_fixa", small, TrainConfig(epochs=1, batch_size=100), 0)
    h = res.history[0]
    assert {"train_loss", "train_adv_acc", "train_adv_loss", "train_adv_conflicting"} <= set(h)
    assert 0.0 <= h["train_adv_acc"] <= 1.0
    # 400 training images in 4 batches of 100, 5% conflicting: 20 counter-examples, 5 per batch
    assert h["train_adv_conflicting"] == pytest.approx(20 / 4)
