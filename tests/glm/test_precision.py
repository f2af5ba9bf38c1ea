"""Precision of the float32 path against independent float64 references (issue 7, precision)."""
import warnings

import numpy as np
import pytest
import torch

from shortcutbench.glm import PathConfig, duality_gap, fit_path, lambda_grid, lambda_max, objective


def _problem(n=400, d=20, k=4, seed=1):
    g = torch.Generator().manual_seed(seed)
    Z = torch.randn(n, d, generator=g, dtype=torch.float64)
    X = Z.clone()
    for j in range(1, d):  # correlated columns, as in the benchmark's Toeplitz(0.5) design
        X[:, j] = 0.5 * X[:, j - 1] + 0.75 ** 0.5 * Z[:, j]
    W = torch.randn(k, d, generator=g, dtype=torch.float64) * (torch.rand(k, d, generator=g) < 0.3)
    y = torch.multinomial(torch.softmax(X @ W.T, 1), 1, generator=g)[:, 0]
    return (X - X.mean(0)) / X.std(0, correction=0), y


def test_float32_path_within_1e4th_of_certified_glmnet_reference_and_gap_bounds_it():
    glmnet = pytest.importorskip("glmnet")
    X, y = _problem()
    alpha = 0.99
    lams = lambda_grid(lambda_max(X, y, 4, alpha, "multinomial"), 30, 1e-3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = glmnet.LogitNet(alpha=alpha, lambda_path=np.array(lams), standardize=False, n_splits=0, tol=1e-12,
                            max_iter=1000000).fit(X.numpy(), y.numpy())
    ours = fit_path(X.float(), y, PathConfig(alpha=alpha, standardize=False, gap_tol=1e-4, step_scale=4.0,
                                             max_epochs=5000), lambdas=lams)
    assert m.coef_path_.shape[2] >= 25  # glmnet may drop the last λ's; compare where it has them
    for i in range(m.coef_path_.shape[2]):
        Wr, br = torch.tensor(m.coef_path_[:, :, i]), torch.tensor(m.intercept_path_[:, i])
        p_ref = objective(X, y, Wr, br, lams[i], alpha, "multinomial")
        assert duality_gap(X, y, Wr, br, lams[i], alpha, "multinomial").gap <= 1e-6 * p_ref  # a certified reference
        p = ours.points[i]
        p64 = objective(X, y, p.weight.double(), p.bias.double(), lams[i], alpha, "multinomial")
        assert p.stopped_by == "gap"
        assert (p64 - p_ref) / p_ref <= 1e-4, i
        assert p64 - p_ref <= p.gap + 1e-6 * p_ref, i  # the reported gap bounds the suboptimality
