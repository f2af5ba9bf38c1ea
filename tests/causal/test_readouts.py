import torch

from shortcutbench.causal.readouts import fit_kernel_ridge, fit_ridge, r2_score


def test_r2_matches_its_definition():
    y = torch.tensor([[1.0], [2.0], [3.0], [4.0]])
    pred = torch.tensor([[1.0], [2.5], [2.5], [4.0]])
    # SS_res = 0.5, SS_tot = 5 → 0.9 (seed 001 eqs. 23–26)
    assert float(r2_score(y, pred)) == 0.9
    assert float(r2_score(y, y.mean().expand_as(y))) == 0.0


def test_ridge_recovers_a_linear_map_and_kernel_ridge_a_nonlinear_one():
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(1500, 5, generator=gen)
    y = torch.stack([x @ torch.tensor([1.0, -2.0, 0.0, 0.5, 0.0]) + 3, torch.sin(2 * x[:, 0])], 1)
    tr, te = slice(0, 1000), slice(1000, None)
    lin = r2_score(y[te], fit_ridge(x[tr], y[tr])(x[te]))
    ker = r2_score(y[te], fit_kernel_ridge(x[tr], y[tr])(x[te]))
    assert lin[0] > 0.999 and lin[1] < 0.5
    assert ker[1] > 0.8
