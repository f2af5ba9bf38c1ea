"""The per-epoch history every zoo run records (curves, selection rules, the ERM curve rule)."""
from __future__ import annotations

from typing import Dict

import torch

from ..data.colored_mnist import NUM_CLASSES, ColoredMNIST, ColoredSplit
from ..metrics import accuracy, predict_logits, split_accuracies

CURVE_DIGITS = 1000  # held-out digits in the per-epoch hard curve (× 9 colours)
TRAIN_CURVE_IMAGES = 5000  # training images in the per-epoch train-accuracy curve


def curve_subset(data: ColoredMNIST) -> ColoredSplit:
    """Every k-th held-out digit of the hard split with all 9 of its colours (k ≥ 3, at most ~1,000
    digits; the 90 cells equally filled): the per-epoch hard curve at a fraction of the cost of
    the full split. Final numbers in the tables use the full hard split."""
    hard = data["hard"]
    digit_pos = torch.arange(len(hard)) // (NUM_CLASSES - 1)
    n_digits = len(hard) // (NUM_CLASSES - 1)
    k = max(3, n_digits // CURVE_DIGITS)
    return hard.take(digit_pos % k == 0, "hard_curve")


def train_curve_subset(data: ColoredMNIST) -> ColoredSplit:
    """Every k-th training image (at most ~5,000): the seed's "Train" accuracy column (§3.3)."""
    train = data["train"]
    k = max(1, len(train) // TRAIN_CURVE_IMAGES)
    return train.take(torch.arange(0, len(train), k), "train_curve")


def epoch_evaluator(data: ColoredMNIST, train_curve: bool = False):
    """Per-epoch history: skewed/balanced val (selection), easy, the hard-curve subset and, with
    ``train_curve``, accuracy on a fixed training subset."""
    curve = curve_subset(data)
    train = train_curve_subset(data) if train_curve else None

    def evaluate(model) -> Dict[str, float]:
        out = split_accuracies(model, data, names=("val", "val_balanced", "easy"))
        out["hard_curve_acc"] = accuracy(predict_logits(model, curve).argmax(1), curve)
        if train is not None:
            out["train_acc"] = accuracy(predict_logits(model, train).argmax(1), train)
        return out

    return evaluate
