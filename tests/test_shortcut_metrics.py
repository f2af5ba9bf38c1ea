import pytest
import torch
import torch.nn as nn

from shortcutbench.data import PALETTE, build_colored_mnist, load_embedded
from shortcutbench.metrics import cell_accuracy, confusion, shortcut_metrics


class ColourReader(nn.Module):
    """Predicts the class whose dominant colour the stroke wears: the perfect shortcut learner.
    Stroke pixels are g·colour, so the summed RGB is proportional to the colour; the palette's
    max-normalised colours are all distinct."""

    def forward(self, x):
        s = x.sum(dim=(2, 3))
        s = s / s.max(dim=1, keepdim=True).values
        ref = PALETTE / PALETTE.max(dim=1, keepdim=True).values
        return -torch.cdist(s, ref)


@pytest.fixture(scope="module")
def data():
    return build_colored_mnist(load_embedded())


def test_colour_reader_metrics_by_hand(data):
    m = shortcut_metrics(ColourReader(), data)
    assert m["easy_acc"] == 1.0 and m["hard_acc"] == 0.0 and m["gap"] == 1.0
    assert m["aligned_acc"] == 1.0 and m["conflicting_acc"] == 0.0
    assert m["group_mean_acc"] == pytest.approx(0.1)  # 10 of 100 cells right
    assert m["worst_group_acc"] == 0.0 and m["worst_class_acc"] == 0.0
    assert m["color_following_rate"] == 1.0
    assert all(v == 1.0 for v in m["recolor_probe"].values())
    conf = torch.tensor(m["hard_confusion"])
    assert conf.sum() == 9000 and conf.diag().sum() == 0
    assert bool((conf.sum(1) == 900).all())


def test_cell_accuracy_and_confusion_by_hand(data):
    hard = data["hard"]
    pred = hard.digit.clone()
    wrong = (hard.digit == 3) & (hard.color == 5)  # one cell all wrong, predicted 5
    pred[wrong] = 5
    cells = cell_accuracy(pred, hard)
    assert float(cells[3, 5]) == 0.0
    assert torch.isnan(cells.diag()).all()
    off = cells[~torch.eye(10, dtype=torch.bool)]
    assert float(torch.nansum(off)) == 89.0
    conf = torch.tensor(confusion(pred, hard))
    assert int(conf[3, 5]) == 100 and int(conf[3, 3]) == 800
