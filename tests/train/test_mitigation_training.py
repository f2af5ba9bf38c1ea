"""Each method, trained briefly on a small, strongly biased Colored set, moves hard (all-
conflicting) accuracy the right way relative to ERM with the same optimiser, seed and epochs.

The digits are synthetic so the test is fast: class k is a short bar whose position encodes k
(learnable by a tiny CNN in a few epochs, but less easily than colour). The colour is on the
stroke (ρ = 0.97); ``saliency_bg`` is tested where its mask covers the shortcut, i.e. with the
colour in the background (seed 000 §6.2 penalises background gradients; there the stroke mask comes
from the grayscale digit, see ``train/saliency.py``).
"""
from dataclasses import replace
from functools import lru_cache

import pytest
import torch

from shortcutbench.data import ColoredMNISTConfig, build_colored_mnist
from shortcutbench.data.mnist import Digits
from shortcutbench.metrics import accuracy, predict_logits
from shortcutbench.models import create_model
from shortcutbench.train import TrainConfig, fit

PER_CLASS = 150


def bar_digits(per_class: int = PER_CLASS) -> Digits:
    g = torch.Generator().manual_seed(0)
    images = torch.zeros(10 * per_class, 28, 28, dtype=torch.uint8)
    labels = torch.arange(10).repeat_interleave(per_class)
    for i, k in enumerate(labels.tolist()):
        row = 4 + 2 * k + int(torch.randint(0, 2, (1,), generator=g))
        col = int(torch.randint(4, 14, (1,), generator=g))
        images[i, row:row + 2, col:col + 10] = 255
    return Digits(images, labels, "synthetic:bars")


@lru_cache(maxsize=2)
def biased(location: str = "stroke"):
    cfg = ColoredMNISTConfig(rho=0.97, color_location=location, test_per_class=8, val_per_class=4,
                             val_balanced_per_class=10, train_per_class=None)
    return build_colored_mnist(bar_digits(), cfg)


TRAIN = TrainConfig(epochs=6, batch_size=32, lr=3e-3, momentum=0.0)


@lru_cache(maxsize=None)
def hard_acc(method: str, epochs: int = 6, location: str = "stroke", hparams: tuple = ()) -> float:
    data = biased(location)
    cfg = replace(TRAIN, epochs=epochs)
    if method in ("dfr", "erm"):  # DFR trains like the ERM row (SGD); it is compared with that ERM
        cfg = replace(cfg, lr=0.01, momentum=0.9)
    model = create_model("lazy_cnn", seed=0, widths=(8, 16, 16))
    res = fit(model, method, data, cfg, seed=0, hparams=dict(hparams))
    return accuracy(predict_logits(res.model, data["hard"]).argmax(1), data["hard"])


# (method, epochs, hyperparameters, baseline): gains of > 2 points measured on this set
MOVES = [
    ("cf_invar", 6, (), "erm_adam"),
    ("saliency_stroke", 6, (), "erm_adam"),
    ("group_reweight", 6, (), "erm_adam"),
    ("group_balanced", 6, (), "erm_adam"),
    ("jtt", 7, (("id_epochs", 1), ("upweight", 5)), "erm_adam"),  # 1 identification + 6 epochs
    ("lff", 10, (), "erm_adam"),  # the biased network needs a few epochs to become biased
    ("dfr", 6, (), "erm"),
]
# Measured NOT to beat ERM on this small set (see the README): DANN-FixA (10 epochs, λ_color
# early for 3: 36.7% hard vs erm_adam 68.8%; its dominance adversary stays at the prior),
# GroupDRO (η = 0.01 barely moves the group weights in 100 steps; η = 1: 8.5% vs 51.4%), IRMv1
# (collapses to constant logits once λ = 100; λ = 10: 11.0%), and the seed's background-mask
# saliency with the colour in the background (0.0% as erm_adam, also at λ_max = 1: a per-pixel
# squared gradient leaves a cue spread coherently over many pixels almost free). Strict xfail:
# they fail loudly here the day they start to pass.
DOES_NOT_MOVE = [
    ("dann_fixa", 10, (("early_epochs", 3),), "stroke"),
    ("group_dro", 6, (), "stroke"),
    ("irm", 6, (), "stroke"),
    ("saliency_bg", 6, (), "background"),
]


@pytest.mark.parametrize("method,epochs,hparams,baseline", MOVES, ids=[m[0] for m in MOVES])
def test_method_raises_hard_accuracy(method, epochs, hparams, baseline):
    base_epochs = epochs - 1 if method == "jtt" else epochs
    assert hard_acc(method, epochs, "stroke", hparams) > hard_acc(baseline, base_epochs) + 0.02


@pytest.mark.xfail(strict=True, reason="measured: no gain over ERM on the small biased set (see README)")
@pytest.mark.parametrize("method,epochs,hparams,location", DOES_NOT_MOVE, ids=[m[0] for m in DOES_NOT_MOVE])
def test_method_without_gain_on_small_set(method, epochs, hparams, location):
    assert hard_acc(method, epochs, location, hparams) > hard_acc("erm_adam", epochs, location) + 0.02
