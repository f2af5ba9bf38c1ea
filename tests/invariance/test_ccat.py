import math

import pytest
import torch

from shortcutbench.invariance.ccat import (power_transition, robust_error, robust_error_at, sigmoid_transition,
                                           soft_targets, tpr_threshold)


@pytest.mark.parametrize("rho", [1.0, 2.0, 10.0])
def test_power_transition_values(rho):
    eps = 0.3
    g = power_transition(torch.tensor([0.0, eps / 2, eps, 2 * eps]), eps, rho)
    expected = torch.tensor([0.0, 1 - 0.5 ** rho, 1.0, 1.0])
    torch.testing.assert_close(g, expected)


def test_sigmoid_transition_is_half_at_the_perceptual_bound():
    norm = torch.tensor([0.1, 0.1, 0.1, 0.0])
    dist = torch.tensor([0.05, 0.1, 0.4, 0.0])  # below, at, above ε_perc = 0.1; no perturbation
    g = sigmoid_transition(norm, dist, 0.1, rho=100.0)
    # ε_b = 0.1·0.1/d: 0.2, 0.1, 0.025 → σ(100·(0.1 − ε_b))
    expected = torch.sigmoid(100 * (0.1 - torch.tensor([0.2, 0.1, 0.025])))
    torch.testing.assert_close(g[:3], expected)
    assert g[1].item() == pytest.approx(0.5, abs=1e-5) and g[3] == 0.0


def test_soft_targets_rows_sum_to_one():
    t = soft_targets(torch.tensor([0, 2]), torch.tensor([0.0, 1.0]), 4)
    torch.testing.assert_close(t, torch.tensor([[1.0, 0, 0, 0], [0.25, 0.25, 0.25, 0.25]]))


def test_tpr_threshold_floor_round_rule():
    conf = torch.arange(1, 201, dtype=torch.float64) / 200  # 200 values 0.005 … 1.0
    # floor(200 · round(0.01, 2)) = 2 → sorted[2] = 0.015
    assert tpr_threshold(conf, 0.99) == pytest.approx(0.015)
    assert tpr_threshold(conf[:50], 0.99) == pytest.approx(0.005)  # floor(0.5) = 0


def test_robust_errors_on_hand_built_arrays():
    # 6 examples: (clean wrong, clean conf, adv wrong, adv conf)
    cw = torch.tensor([0, 0, 1, 0, 0, 1], dtype=torch.bool)
    cc = torch.tensor([0.9, 0.9, 0.95, 0.9, 0.5, 0.3])
    aw = torch.tensor([0, 1, 1, 1, 0, 1], dtype=torch.bool)
    ac = torch.tensor([0.9, 0.95, 0.9, 0.4, 0.6, 0.2])
    assert robust_error(cw, aw) == pytest.approx(4 / 6)
    # τ = 0.8: passing = examples 0–3 (4); errors passing: 1 (adv 0.95), 2 (clean 0.95) → 2/4;
    # example 3's adversarial error has conf 0.4 < τ (rejected), 4 and 5 pass neither
    assert robust_error_at(cw, cc, aw, ac, 0.8) == pytest.approx(2 / 4)
    assert math.isnan(robust_error_at(cw, cc, aw, ac, 0.99))
