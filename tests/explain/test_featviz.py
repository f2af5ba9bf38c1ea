"""Activation maximisation and the microscope."""
import torch

from shortcutbench.explain.featviz import (FeatVizConfig, layer_activations, maximise, microscope, objective_value,
                                           purity, total_variation)

from .toy_models import gap_fc_net


def test_objectives_by_hand():
    a = torch.arange(2 * 2 * 9, dtype=torch.float32).view(2, 2, 3, 3)
    ch = torch.tensor([1, 0])
    torch.testing.assert_close(objective_value(a, ch, "channel_max"), torch.tensor([17.0, 26.0]))
    torch.testing.assert_close(objective_value(a, ch, "channel_mean"), torch.tensor([13.0, 22.0]))
    torch.testing.assert_close(objective_value(a, ch, "topk_mean", topk=2), torch.tensor([16.5, 25.5]))


def test_total_variation_by_hand():
    x = torch.tensor([[[[0.0, 1.0], [3.0, 3.0]]]])
    assert float(total_variation(x)[0]) == 3 + 2 + 1 + 0


def test_maximise_raises_the_objective_and_is_seeded():
    m = gap_fc_net(0)
    cfg = FeatVizConfig(steps=25, seed=1)
    x0 = torch.randn((2, 3, 8, 8), generator=torch.Generator().manual_seed(1)) * cfg.init_std
    before = objective_value(layer_activations(m, "3", x0), torch.tensor([0, 1]), "channel_mean")
    r = maximise(m, "3", [0, 1], "channel_mean", cfg, shape=(3, 8, 8))
    assert (r["objective"] > before).all()
    torch.testing.assert_close(r["images"], maximise(m, "3", [0, 1], "channel_mean", cfg, shape=(3, 8, 8))["images"])


def test_microscope_and_purity():
    acts = torch.zeros(6, 2, 1, 1)
    acts[:, 0, 0, 0] = torch.tensor([5.0, 1, 4, 0, 3, 2])
    acts[:, 1, 0, 0] = torch.tensor([0.0, 1, 2, 3, 4, 5])
    top = microscope(acts, k=3)
    assert top.tolist() == [[0, 2, 4], [5, 4, 3]]
    colour = torch.tensor([0, 1, 0, 2, 0, 2])
    torch.testing.assert_close(purity(colour, top), torch.tensor([1.0, 2 / 3]))
