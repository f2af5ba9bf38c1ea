import pytest
import torch
import torch.nn as nn

from shortcutbench.errors import UsageError
from shortcutbench.invariance.nspgd import NSPGDConfig, nspgd


class MaskedLinear(nn.Module):
    """Logits read only the pixels where ``mask`` is 1."""

    def __init__(self, n, mask, k=4, seed=0):
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        self.W = nn.Parameter(torch.randn(k, n, generator=g) * mask)

    def forward(self, x):
        return x.flatten(1) @ self.W.T


def _pairs(B=6, n=20, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(B, 1, 1, n, generator=g), torch.rand(B, 1, 1, n, generator=g)


def _mlp(n=20, seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Flatten(), nn.Linear(n, 16), nn.Tanh(), nn.Linear(16, 4))


@pytest.mark.parametrize("projection", ["halfspace", "row", "jacobian"])
def test_geometric_contraction_when_confidence_ignores_differing_pixels(projection):
    """If f reads only pixels where source and target agree, ⟨g, x_t − x⟩ = 0 exactly, nothing is
    removed, and x_k − x_t = (1 − η)^k (x_0 − x_t)."""
    n, eta, k = 20, 0.1, 7
    xs, xt = _pairs(n=n)
    mask = torch.zeros(n)
    mask[:8] = 1
    xt[..., :8] = xs[..., :8]  # agree where the model looks
    model = MaskedLinear(n, mask)
    res = nspgd(model, xs, xt, NSPGDConfig(step=eta, iters=k, delta=0.5, projection=projection))
    assert res.steps.tolist() == [k] * xs.shape[0]
    torch.testing.assert_close(res.x - xt, (1 - eta) ** k * (xs - xt), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("projection", ["halfspace", "row", "jacobian"])
def test_budget_respected_at_every_accepted_step(projection):
    xs, xt = _pairs(B=16)
    model = _mlp()
    cfg = NSPGDConfig(step=0.2, iters=15, delta=0.05, projection=projection, path_every=1)
    res = nspgd(model, xs, xt, cfg)
    assert torch.isfinite(res.x).all()
    with torch.no_grad():
        for snap in res.path:
            p = torch.softmax(model(snap), 1).gather(1, res.label[:, None])[:, 0]
            assert ((res.p0 - p) < cfg.delta).all()
    assert ((res.p0 - res.min_accepted_p) < cfg.delta).all()


class Peak(nn.Module):
    """Confidence of class 0 peaks at x[..., :8] = c: every move of those pixels lowers it."""

    def __init__(self, c):
        super().__init__()
        self.c = c

    def forward(self, x):
        z0 = -10 * ((x.flatten(1)[:, :8] - self.c) ** 2).sum(1)
        return torch.stack([z0, torch.full_like(z0, -1.0)], 1)


def test_frozen_samples_stay_bit_identical_and_all_frozen_stops():
    xs, xt = _pairs(B=6, seed=1)
    c = xs[0, 0, 0, :8].clone()
    xs[..., :8] = c  # every source sits at the peak
    xt[:3, ..., :8] = c  # targets 0-2 agree there (never freeze); 3-5 differ (freeze at step 1)
    cfg = NSPGDConfig(step=0.3, iters=10, delta=1e-6, projection="halfspace", path_every=1)
    res = nspgd(Peak(c), xs, xt, cfg)
    assert res.steps.tolist() == [10, 10, 10, 0, 0, 0]
    for snap in res.path:
        assert torch.equal(snap[3:], xs[3:])
    res = nspgd(Peak(c), xs[3:], xt[3:], cfg)
    assert res.iters_run == 1 and len(res.path) == 2  # all frozen after the first proposal


def test_zero_gradient_gives_no_nan():
    """A saturated softmax has zero confidence gradients: the projection keeps v, no 0/0."""
    xs, xt = _pairs(B=4)

    class Saturated(nn.Module):
        def forward(self, x):
            z = torch.zeros(x.shape[0], 3)
            z[:, 0] = 1e4
            return z + 0 * x.flatten(1).sum(1, keepdim=True)

    for projection in ("halfspace", "row", "jacobian"):
        res = nspgd(Saturated(), xs, xt, NSPGDConfig(step=0.5, iters=3, projection=projection))
        assert torch.isfinite(res.x).all()
        torch.testing.assert_close(res.x - xt, 0.125 * (xs - xt))


def test_initialiser_over_budget_freezes_at_start():
    xs, xt = _pairs(B=8)
    model = _mlp()
    delta = 0.02
    with torch.no_grad():
        p = torch.softmax(model(xs), 1)
        j = p.argmax(1)
        over = (p.gather(1, j[:, None])[:, 0] - torch.softmax(model(xt), 1).gather(1, j[:, None])[:, 0]) >= delta
    assert over.any()
    res = nspgd(model, xs, xt, NSPGDConfig(iters=5, delta=delta), x_init=xt)
    assert torch.equal(res.x[over], xt[over]) and (res.steps[over] == 0).all()
    assert torch.equal(res.label, j)


def test_bad_config_is_a_usage_error():
    with pytest.raises(UsageError, match="projection"):
        NSPGDConfig(projection="one_minus_c")
    with pytest.raises(UsageError, match="step"):
        NSPGDConfig(step=0)
