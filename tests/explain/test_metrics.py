"""Localisation / faithfulness metrics and the randomisation check, on hand-made cases."""
import math

import numpy as np
import pytest
import torch
import torch.nn as nn
from scipy.stats import spearmanr

from shortcutbench.errors import UsageError
from shortcutbench.explain.baselines import BASELINES, sobel_map
from shortcutbench.explain.metrics import (bg_stroke_ratio, deletion_insertion_auc, mass_inside, normalised_auc,
                                           perturbation_curves, pointing_game, spearman, stroke_mask)
from shortcutbench.explain.sanity import cascading_randomisation, parametrised_layers

from .toy_models import gap_fc_net


def _mask():
    m = torch.zeros(1, 6, 6, dtype=torch.bool)
    m[0, 1:3, 1:3] = True  # 4 stroke pixels, 32 background
    return m


def test_bg_stroke_ratio_by_hand():
    mask = _mask()
    maps = torch.where(mask, torch.tensor(0.8), torch.tensor(0.2))
    assert abs(float(bg_stroke_ratio(maps, mask)[0]) - 0.25) < 1e-6
    assert math.isnan(float(bg_stroke_ratio(torch.where(mask, 0.0, 1.0), mask)[0]))


def test_stroke_mask_threshold_uint8_and_float():
    g = torch.tensor([[[0, 127, 128, 255]]], dtype=torch.uint8)
    assert stroke_mask(g).tolist() == [[[False, False, True, True]]]
    assert stroke_mask(g.float() / 255).tolist() == [[[False, False, True, True]]]


def test_pointing_game_all_none_half_ties_tolerance():
    mask = _mask()
    inside = torch.zeros(1, 6, 6); inside[0, 2, 2] = 1  # all_in_gt
    outside = torch.zeros(1, 6, 6); outside[0, 5, 5] = 1  # none_in_gt
    assert float(pointing_game(inside, mask)[0]) == 1.0
    assert float(pointing_game(outside, mask)[0]) == 0.0
    tie = torch.zeros(1, 6, 6); tie[0, 1, 1] = 1; tie[0, 5, 5] = 1  # one tied max in, one out
    assert float(pointing_game(tie, mask)[0]) == 0.5
    near = torch.zeros(1, 6, 6); near[0, 4, 2] = 1  # 2 px below the stroke
    assert float(pointing_game(near, mask, tolerance=1)[0]) == 0.0
    assert float(pointing_game(near, mask, tolerance=2)[0]) == 1.0
    diag = torch.zeros(1, 6, 6); diag[0, 4, 4] = 1  # √8 ≈ 2.83 px from (2, 2): Euclidean tolerance
    assert float(pointing_game(diag, mask, tolerance=2)[0]) == 0.0
    assert float(pointing_game(diag, mask, tolerance=3)[0]) == 1.0
    # constant map: expected hit = stroke area share
    assert abs(float(pointing_game(torch.ones(1, 6, 6), mask)[0]) - 4 / 36) < 1e-6
    assert math.isnan(float(pointing_game(inside, torch.zeros_like(mask))[0]))  # empty mask: NaN, not True


def test_mass_inside():
    mask = _mask()
    maps = torch.zeros(1, 6, 6); maps[0, 1, 1] = 3; maps[0, 5, 5] = 1
    assert abs(float(mass_inside(maps, mask)[0]) - 0.75) < 1e-6
    with pytest.raises(UsageError):
        mass_inside(-maps, mask)


def test_normalised_auc_matches_trapezoid():
    curve = torch.tensor([[1.0, 0.5, 0.25, 0.0]])
    expected = np.trapezoid(curve[0].numpy(), dx=1) / 3  # RISE: trapezoid normalised by n steps
    assert abs(float(normalised_auc(curve)[0]) - expected) < 1e-7


class OnePixel(nn.Module):
    """Logit 0 = 10·x[0, 0, 0, 0]; probability of class 0 drops as soon as that pixel goes."""

    def forward(self, x):
        v = 10 * x[:, 0, 0, 0]
        return torch.stack([v, torch.zeros_like(v)], 1)


def test_deletion_drops_at_step_one_and_reversal_never_helps():
    x = torch.ones(1, 1, 4, 4)
    good = torch.zeros(1, 4, 4); good[0, 0, 0] = 1
    t = torch.tensor([0])
    curve = perturbation_curves(OnePixel(), x, good, t, step=1, mode="deletion")
    assert curve[0, 0] > 0.99 and curve[0, 1] < 0.51
    bad = 1 - good
    d_good = deletion_insertion_auc(OnePixel(), x, good, t, step=1)["deletion"]
    d_bad = deletion_insertion_auc(OnePixel(), x, bad, t, step=1)["deletion"]
    assert float(d_bad) >= float(d_good)


def test_spearman_matches_scipy_with_ties():
    g = torch.Generator().manual_seed(0)
    a = torch.randint(0, 4, (3, 5, 5), generator=g).float()
    b = torch.rand(3, 5, 5, generator=g)
    ours = spearman(a, b)
    for i in range(3):
        assert abs(ours[i] - spearmanr(a[i].flatten(), b[i].flatten()).statistic) < 1e-12
    assert np.isnan(spearman(torch.ones(1, 4, 4), b[:1, :4, :4])[0])


def test_baselines_ignore_the_model():
    x = torch.zeros(2, 3, 6, 6); x[:, :, :, 3:] = 1  # vertical edge
    s = sobel_map(x)
    assert s[:, :, 2:4].min() > 0 and s[:, :, :1].max() == 0
    for fn in BASELINES.values():
        torch.testing.assert_close(fn(x, 0), fn(x, 0))
        assert fn(x, 0).shape == (2, 6, 6)


def test_cascading_randomisation_decorrelates_gradcam():
    from shortcutbench.explain import attribute, to_input
    m = gap_fc_net(0)
    x = torch.rand(8, 3, 8, 8, generator=torch.Generator().manual_seed(1))
    t = m(x).argmax(1)
    res = cascading_randomisation(m, x, t, lambda mm, xx, tt: to_input(attribute("gradcam", mm, xx, tt, "2").map,
                                                                         (8, 8)))
    assert parametrised_layers(m) == ["0", "2", "6"]
    assert res["stages"] == ["6", "6+2", "6+2+0"]
    assert res["spearman"][-1] < 0.5 and abs(res["baselines"]["random"]) < 0.3
    assert res["baselines"]["constant"] is None
    assert m[6].weight.requires_grad  # the original model is untouched
