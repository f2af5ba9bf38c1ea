"""Colored-MNIST metrics (seed 000 §3; definitions after research/shortcut.md §3).

Every aggregate says what it averages over:
- ``easy_acc`` / ``hard_acc``: accuracy over the images of the split (both splits are
  class-balanced; the hard split's 90 conflicting cells hold equal counts);
- ``aligned_acc``: unweighted mean over the 10 aligned (digit, dominant colour) cells (easy split);
- ``conflicting_acc``: unweighted mean over the 90 conflicting cells (hard split);
- ``group_mean_acc``: unweighted mean over all 100 cells (easy ∪ hard);
- ``worst_group_acc``: minimum over the 90 conflicting cells;
- ``worst_class_acc``: minimum over digits of hard-split accuracy;
- ``color_following_rate``: share of hard images predicted as the class whose dominant colour
  they wear (colour c is digit c's dominant colour);
- ``recolor_probe[c]``: share of held-out digits of classes ≠ c that, painted in colour c, are
  predicted as class c (seed §3.5: "every digit recoloured green went to class 1").
"""
from __future__ import annotations

from typing import Dict, List, Optional

import torch
import torch.nn as nn

from .data.colored_mnist import COLOR_NAMES, NUM_CLASSES, ColoredMNIST, ColoredSplit


@torch.no_grad()
def predict_logits(model: nn.Module, split: ColoredSplit, batch_size: int = 1000) -> torch.Tensor:
    was_training = model.training
    model.eval()
    from .utils.distributed import shard_map  # under `--distributed` each process does every world-th batch

    out = shard_map(lambda idx: model(split.images(idx)), torch.arange(len(split)).split(batch_size))
    model.train(was_training)
    return torch.cat(out) if out else torch.empty(0, NUM_CLASSES)


def accuracy(pred: torch.Tensor, split: ColoredSplit) -> float:
    return float((pred == split.digit).float().mean())


def cell_accuracy(pred: torch.Tensor, split: ColoredSplit) -> torch.Tensor:
    """[10, 10] accuracy per (digit, colour) cell; NaN where a cell is empty."""
    correct = (pred == split.digit).double()
    n = torch.bincount(split.group, minlength=100).double()
    hits = torch.bincount(split.group, weights=correct, minlength=100)
    return (hits / n).reshape(NUM_CLASSES, NUM_CLASSES)


def confusion(pred: torch.Tensor, split: ColoredSplit) -> List[List[int]]:
    m = torch.bincount(split.digit * NUM_CLASSES + pred, minlength=100).reshape(NUM_CLASSES, NUM_CLASSES)
    return m.tolist()


def split_accuracies(model: nn.Module, data: ColoredMNIST, names=("val", "val_balanced", "hard_val", "easy", "hard")
                     ) -> Dict[str, float]:
    """Per-epoch evaluation: accuracy on each split plus the worst-group accuracies that the
    selection rules read (balanced-val worst group over its 100 cells)."""
    out: Dict[str, float] = {}
    for name in names:
        split = data[name]
        pred = predict_logits(model, split).argmax(1)
        out[f"{name}_acc"] = accuracy(pred, split)
        if name == "val_balanced":
            cells = cell_accuracy(pred, split)
            out["val_balanced_worst_group_acc"] = float(cells[~torch.isnan(cells)].min())
    return out


def per_digit_correct(pred: torch.Tensor, hard: ColoredSplit) -> str:
    """Correct images (0–9) of each held-out digit of the hard split (its 9 colours are consecutive),
    as one character per digit: what test-set resampling (bootstrap over digits) needs."""
    counts = (pred == hard.digit).view(-1, NUM_CLASSES - 1).sum(1)
    return "".join(map(str, counts.tolist()))


def shortcut_metrics(model: nn.Module, data: ColoredMNIST, probe_digits: Optional[int] = None) -> Dict[str, object]:
    """``probe_digits``: the recolour probe on that many held-out digits (default: all)."""
    easy, hard = data["easy"], data["hard"]
    pe = predict_logits(model, easy).argmax(1)
    ph = predict_logits(model, hard).argmax(1)
    cells_easy = cell_accuracy(pe, easy)
    cells_hard = cell_accuracy(ph, hard)
    aligned = cells_easy.diag()
    off = ~torch.eye(NUM_CLASSES, dtype=torch.bool)
    conflicting = cells_hard[off]
    per_class_hard = torch.stack([(ph[hard.digit == d] == d).float().mean() for d in range(NUM_CLASSES)])
    all_cells = torch.where(off, cells_hard, cells_easy)
    probe = {}
    step = 1 if probe_digits is None else max(1, -(-len(easy) // probe_digits))
    probe_set = easy if step == 1 else easy.take(torch.arange(0, len(easy), step), "probe")  # every class
    for c in range(NUM_CLASSES):
        others = probe_set.digit != c
        recol = probe_set.recolored(c)
        pc = predict_logits(model, recol).argmax(1)
        probe[COLOR_NAMES[c]] = float((pc[others] == c).float().mean())
    easy_acc, hard_acc = accuracy(pe, easy), accuracy(ph, hard)
    return {
        "easy_acc": easy_acc,
        "hard_acc": hard_acc,
        "gap": easy_acc - hard_acc,
        "aligned_acc": float(aligned.mean()),
        "conflicting_acc": float(conflicting.mean()),
        "group_mean_acc": float(all_cells.mean()),
        "worst_group_acc": float(conflicting.min()),
        "worst_class_acc": float(per_class_hard.min()),
        "color_following_rate": float((ph == hard.color).float().mean()),
        "recolor_probe": probe,
        "recolor_probe_mean": float(sum(probe.values()) / NUM_CLASSES),
        "hard_confusion": confusion(ph, hard),
        "hard_cell_acc": cells_hard.tolist(),
        "hard_cell_n": torch.bincount(hard.group, minlength=100).reshape(10, 10).tolist(),
        "hard_correct_per_digit": per_digit_correct(ph, hard),
    }
