"""Engine rules other than plain PGD: sign-momentum (CCAT's training attack) against a loop written out by
hand, and callable objectives (the logit attack)."""
import copy

import pytest
import torch
import torch.nn.functional as F

from shortcutbench.attacks import iterate


def _by_hand(model, x0, y, start, eps, step, n_iter, mu):
    """x ← clip_[0,1](clip_ε(x + step·sign(v))), v ← μ·v + sign(∇CE); the best-loss iterate of x_0 … x_N."""
    x, v = start.clone(), torch.zeros_like(start)
    best, best_loss = x.clone(), torch.full((x.shape[0],), -float("inf"), dtype=x.dtype)
    e, s = eps.view(-1, 1, 1, 1), step.view(-1, 1, 1, 1)
    for t in range(n_iter + 1):
        xr = x.detach().requires_grad_(True)
        loss = F.cross_entropy(model(xr), y, reduction="none")
        (g,) = torch.autograd.grad(loss.sum(), xr)
        better = loss.detach() > best_loss
        best[better], best_loss = x[better], torch.where(better, loss.detach(), best_loss)
        if t < n_iter:
            v = mu * v + g.sign()
            x = torch.minimum(torch.maximum(x + s * v.sign(), x0 - e), x0 + e).clamp(0, 1)
    return best


def test_sign_momentum_matches_the_rule_written_out(tiny):
    m, x, y = tiny
    m = copy.deepcopy(m).double()
    x = x.double()
    eps = torch.full((x.shape[0],), 0.05, dtype=torch.float64)
    step = eps * 0.5
    start = (x + 0.02 * (2 * torch.rand(x.shape, generator=torch.Generator().manual_seed(3), dtype=x.dtype) - 1)).clamp(0, 1)
    out = iterate(m, x, y, start, eps, step, 6, l2=False, loss="ce", early_stop=False, sign_momentum=0.9)
    want = _by_hand(m, x, y, start, eps, step, 6, 0.9)
    torch.testing.assert_close(out.x_best, want, rtol=0, atol=1e-12)
    plain = iterate(m, x, y, start, eps, step, 6, l2=False, loss="ce", early_stop=False)
    assert not torch.equal(plain.x_best, out.x_best)  # the momentum changes the path


def test_sign_momentum_survives_early_stop_compaction(tiny):
    """With early stop the batch shrinks as samples succeed; the velocity must shrink with it, so a
    sample that never succeeds follows the same path as in a run without early stop."""
    m, x, y = tiny
    eps = torch.full((x.shape[0],), 0.003)  # 12 of 24 succeed along the way
    plain = iterate(m, x, y, x.clone(), eps, eps / 3, 8, l2=False, loss="ce", early_stop=False, sign_momentum=0.9)
    early = iterate(m, x, y, x.clone(), eps, eps / 3, 8, l2=False, loss="ce", early_stop=True, compact_frac=0.0,
                    sign_momentum=0.9)
    assert early.success.any() and not early.success.all()  # compaction happened, some rows remain
    keep = ~early.success
    torch.testing.assert_close(early.x_best[keep], plain.x_best[keep], rtol=0, atol=0)


@pytest.mark.parametrize("l2, apgd", [(True, False), (False, True)])
def test_sign_momentum_is_refused_outside_plain_linf_pgd(tiny, l2, apgd):
    m, x, y = tiny
    eps = torch.full((x.shape[0],), 0.5)
    with pytest.raises(ValueError, match="sign_momentum"):
        iterate(m, x, y, x.clone(), eps, eps, 2, l2=l2, apgd=apgd, loss="ce", sign_momentum=0.9)


def test_a_callable_objective_is_maximised_and_refuses_early_stop(tiny):
    m, x, y = tiny
    eps = torch.full((x.shape[0],), 0.05)
    with pytest.raises(ValueError, match="early_stop=False"):
        iterate(m, x, y, x.clone(), eps, eps / 4, 2, l2=False, loss=lambda z, xx: z[:, 0])
    out = iterate(m, x, y, x.clone(), eps, eps / 4, 5, l2=False, loss=lambda z, xx: z[:, 0], early_stop=False)
    with torch.no_grad():
        assert (m(out.x_best)[:, 0] >= m(x)[:, 0]).all()  # the start is a candidate: never worse
        assert (m(out.x_best)[:, 0] > m(x)[:, 0]).float().mean() > 0.9  # and logit 0 does go up
    assert (out.x_best - x).abs().max() <= 0.05 + 1e-6
