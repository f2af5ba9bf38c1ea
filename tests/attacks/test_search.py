import pytest
import torch

from shortcutbench.attacks import MinEpsSearch, success_curve



class Linear2(torch.nn.Module):
    """Binary linear classifier z = w·x + b as logits [0, z] (class 1 iff z > 0)."""

    def __init__(self, w, b):
        super().__init__()
        self.w, self.b = w, b

    def forward(self, x):
        z = x.flatten(1) @ self.w + self.b
        return torch.stack([torch.zeros_like(z), z], 1)


def _linear_problem(n=16, d=3 * 6 * 6, seed=0):
    g = torch.Generator().manual_seed(seed)
    w = torch.randn(d, generator=g, dtype=torch.float64)
    x = 0.3 + 0.4 * torch.rand(n, d, generator=g, dtype=torch.float64)  # away from the box edges
    b = -(x @ w) + 0.4 * torch.randn(n, generator=g, dtype=torch.float64)  # margins ~ N(0, 0.4²)
    b = b.mean()  # one bias for the model; margins then vary per sample
    z = x @ w + b
    keep = z.abs() > 0.05
    return Linear2(w, b), x[keep].view(-1, 3, 6, 6), (z[keep] > 0).long(), z[keep], w


@pytest.mark.parametrize("norm", ["linf", "l2"])
def test_search_recovers_closed_form_eps_on_linear_model(norm):
    model, x, y, z, w = _linear_problem()
    dual = w.abs().sum() if norm == "linf" else w.norm()
    eps_star = z.abs() / dual  # ε* = |w·x + b| / ‖w‖₁ (ℓ∞) or / ‖w‖₂ (ℓ2)
    assert (eps_star * (1 if norm == "l2" else 1) < 0.3).all()
    res = MinEpsSearch(norm=norm, eps_max=float(eps_star.max()) * 1.5, steps=14, iters=20, restarts=1,
                       level_iters=10).run(model, x, y)
    assert res.success.all()
    rel = res.eps_min / eps_star
    assert (rel >= 1 - 1e-6).all() and (rel <= 1.01).all(), rel


def test_targeted_search_reaches_confidence_and_is_monotone(tiny):
    base, x, y = tiny

    class Sharp(torch.nn.Module):  # confident logits, so P(t) ≥ 0.9 is reachable
        def forward(self, v):
            return 30 * base(v)
    m = Sharp()
    t = (y + 1) % 10
    res = MinEpsSearch(eps_max=0.2, kappa=0.9, steps=6, iters=20, restarts=1, level_iters=10).run(m, x, y, t)
    ok = res.success
    assert ok.any()
    with torch.no_grad():
        p = m(res.x_adv[ok]).softmax(1)
    assert (p.argmax(1) == t[ok]).all() and (p.gather(1, t[ok][:, None]) >= 0.9).all()
    d = (res.x_adv[ok] - x[ok]).flatten(1).abs().amax(1)
    assert (d <= res.eps_min[ok] + 1e-6).all()
    curve = success_curve(res.eps_min, [0.0, 0.05, 0.1, 0.2])
    assert curve == sorted(curve) and curve[-1] == pytest.approx(ok.float().mean().item())
