import pytest
import torch
import torch.nn as nn

from shortcutbench.causal.encoders import bake, constrain_linf, shallow_body
from shortcutbench.certify.interval import interval_bounds, interval_radius, linf_lipschitz
from shortcutbench.errors import UsageError


def _net(seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Conv2d(3, 4, 3, stride=2, padding=1), nn.ReLU(), nn.AvgPool2d(2), nn.Flatten(),
                         nn.Linear(4 * 4 * 4, 8), nn.ReLU(), nn.Linear(8, 1)).eval()


def test_linear_bound_is_the_l1_norm_and_exact():
    lin = nn.Linear(6, 1)
    net = nn.Sequential(lin)
    assert linf_lipschitz(net) == pytest.approx(float(lin.weight.detach().abs().sum()))
    x = torch.full((1, 6), 0.5)
    delta = 0.1 * lin.weight.detach().sign()  # the worst direction attains the bound
    assert float(net(x + delta) - net(x)) == pytest.approx(0.1 * linf_lipschitz(net), rel=1e-5)


def test_interval_bounds_contain_sampled_outputs_and_lipschitz_bounds_them():
    net = _net()
    gen = torch.Generator().manual_seed(1)
    x = torch.rand(5, 3, 16, 16, generator=gen)
    eps = 0.05
    lo, hi = interval_bounds(net, x, torch.full((5,), eps))
    lam = linf_lipschitz(net)
    with torch.no_grad():
        f0 = net(x)
        for _ in range(20):
            xd = (x + (torch.rand(x.shape, generator=gen) * 2 - 1) * eps).clamp(0, 1)
            f = net(xd)
            assert bool(((f >= lo - 1e-5) & (f <= hi + 1e-5)).all())
            assert float((f - f0).abs().max()) <= lam * eps + 1e-5


def test_interval_radius_is_sound_and_monotone():
    net = _net(2)
    x = torch.rand(4, 3, 16, 16, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        f0 = net(x)

    def inside(lo, hi):  # stay within ±0.05 of the clean output
        return (lo.squeeze(1) > f0.squeeze(1) - 0.05) & (hi.squeeze(1) < f0.squeeze(1) + 0.05)

    r = interval_radius(net, x, inside, eps_max=0.5, steps=20)
    assert (r > 0).all()
    assert bool(inside(*interval_bounds(net, x, r.float())).all())
    assert not bool(inside(*interval_bounds(net, x, (2 * r + 0.01).float())).all())


def test_row_l1_constraint_bounds_the_network():
    body, head = shallow_body(), nn.Linear(64, 3)
    constrain_linf(body, head, gain=5.0)
    net = nn.Sequential(*body, head)
    bake(net)
    assert linf_lipschitz(net) <= 5.0 + 1e-4


def test_unknown_layer_has_no_bound():
    with pytest.raises(UsageError):
        linf_lipschitz(nn.Sequential(nn.Tanh()))
