import pytest
import torch
import torch.nn as nn

from shortcutbench.errors import UsageError
from shortcutbench.invariance.logit_attack import (LogitAttackConfig, centred_logit_gap, logit_attack,
                                                   total_variation)


def test_centred_gap_ignores_constant_shifts():
    z = torch.randn(4, 10)
    assert centred_logit_gap(z + 3.7, z).abs().max() < 1e-5
    assert (centred_logit_gap(z + torch.randn(4, 10), z) > 0).all()


def test_total_variation_closed_form():
    d = torch.zeros(1, 1, 3, 3)
    d[..., 1, 1] = 1.0  # a single bright pixel: 4 unit jumps
    assert total_variation(d).item() == 4.0
    assert total_variation(torch.ones(2, 3, 5, 5)).abs().max() == 0


def test_attack_moves_target_logits_towards_source_up_to_a_shift():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(48, 16), nn.Tanh(), nn.Linear(16, 5))
    g = torch.Generator().manual_seed(1)
    xs, xt = torch.rand(6, 3, 4, 4, generator=g), torch.rand(6, 3, 4, 4, generator=g)
    out = logit_attack(model, xs, xt, LogitAttackConfig(iters=40, step=0.02, tv_weight=0.0))
    with torch.no_grad():
        before = centred_logit_gap(model(xt), model(xs))
        after = centred_logit_gap(model(out), model(xs))
    assert (after < before).all() and out.min() >= 0 and out.max() <= 1
    with pytest.raises(UsageError):
        LogitAttackConfig(start="middle")


def test_attack_is_signed_descent_returning_the_lowest_loss_iterate():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(48, 16), nn.Tanh(), nn.Linear(16, 5)).double()
    g = torch.Generator().manual_seed(2)
    xs, xt = torch.rand(4, 3, 4, 4, generator=g, dtype=torch.float64), torch.rand(4, 3, 4, 4, generator=g, dtype=torch.float64)
    cfg = LogitAttackConfig(iters=15, step=0.01, softmax_weight=2.0, tv_weight=0.005)
    with torch.no_grad():
        z_s = model(xs)

    def loss(x):  # L of the module docstring, written out
        z = model(x)
        return (centred_logit_gap(z, z_s) + cfg.softmax_weight * ((z.softmax(1) - z_s.softmax(1)) ** 2).sum(1)
                + cfg.tv_weight * total_variation(x - xt))

    x, best, best_l = xt.clone(), xt.clone(), torch.full((4,), float("inf"), dtype=torch.float64)
    for t in range(cfg.iters + 1):
        xr = x.detach().requires_grad_(True)
        lv = loss(xr)
        (grad,) = torch.autograd.grad(lv.sum(), xr)
        lower = lv.detach() < best_l
        best[lower], best_l = x[lower], torch.where(lower, lv.detach(), best_l)
        if t < cfg.iters:
            x = (x - cfg.step * grad.sign()).clamp(0, 1)
    out = logit_attack(model, xs, xt, cfg)
    torch.testing.assert_close(out, best, rtol=0, atol=1e-12)
    moved = (out != xt).flatten(1).any(1)
    not_last = (out != x).flatten(1).any(1)
    assert moved.all() and not_last.any()  # the case tells the lowest iterate from the start and the last one
