"""Trajectory check against torchattacks' APGD (a mirror of AutoAttack's autopgd_base.py): given the
same start point, APGD is deterministic, so the final robust flags and best losses must agree
(research/adversarial.md §6, trajectory match). Skipped when torchattacks is not installed."""
import copy

import pytest
import torch

from shortcutbench.attacks import APGD

torchattacks = pytest.importorskip("torchattacks")


@pytest.mark.parametrize("loss", ["ce", "dlr"])
def test_same_start_same_result(tiny, loss):
    m, x, y = tiny
    m = copy.deepcopy(m).double()  # the fixture is shared
    x = x.double()
    eps, steps = 0.004, 30
    ta = torchattacks.APGD(m, norm="Linf", eps=eps, steps=steps, n_restarts=1, seed=0, loss=loss)
    torch.manual_seed(123)
    _, acc_ta, loss_ta, _ = ta.attack_single_run(x, y)
    torch.manual_seed(123)  # the same start as torchattacks draws it
    t = 2 * torch.rand(x.shape) - 1
    start = (x + eps * t / t.flatten(1).abs().amax(1).view(-1, 1, 1, 1)).clamp(0, 1)
    ours = APGD(eps=eps, steps=steps, loss=loss)(m, x, y, x_init=start)
    robust_ours = ~ours.success
    assert torch.equal(robust_ours, acc_ta.bool()), (robust_ours, acc_ta)
    assert 0 < int(robust_ours.sum()) < len(y)
    torch.testing.assert_close(ours.best_loss[robust_ours], loss_ta[robust_ours].to(torch.float64), rtol=1e-5,
                               atol=1e-6)
