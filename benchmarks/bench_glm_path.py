"""Full elastic-net paths (group ``glm_path``): ours vs python-glmnet and glm-saga 0.1.2.

Protocol (research note §5): synthetic multinomial, X ~ N(0, Toeplitz(0.5)), 2% non-zero W*,
n = 5k, d = 512, k = 10, α = 0.99, standardised once (ddof 0, float64) and given to every
solver; shared grid λ_t = λ_max·10^{−3t/(K−1)}, K = 100 (``SB_PATH_K`` to shorten), no λ = 0.
Each benchmark runs once (pedantic, 1 round) and records per-λ objectives in ``extra_info``;
relative suboptimality is against the best objective any solver reached, and ours also
reports its certified duality gap. glmnet: ``LogitNet(standardize=False, n_splits=0)``;
glm-saga: paper defaults (lr 0.1, batch 256, tol 1e-4) on ``SB_GLMSAGA_LAMBDAS`` λ's of the same
grid (its time per λ is extrapolated to the path). The 50k × 2048 path is marked ``slow``.
"""
import os
import time

import numpy as np
import pytest
import torch

from shortcutbench.glm import PathConfig, fit_path, lambda_grid, lambda_max, objective

K = int(os.environ.get("SB_PATH_K", "100"))
ALPHA = 0.99


def synthetic(n, d, k=10, seed=0):
    g = torch.Generator().manual_seed(seed)
    Z = torch.randn(n, d, generator=g, dtype=torch.float64)
    X = torch.empty_like(Z)
    X[:, 0] = Z[:, 0]
    for j in range(1, d):  # AR(1) columns: corr(x_i, x_j) = 0.5^|i−j| (Toeplitz(0.5))
        X[:, j] = 0.5 * X[:, j - 1] + (0.75 ** 0.5) * Z[:, j]
    W = torch.zeros(k, d, dtype=torch.float64)
    m = torch.rand(k, d, generator=g) < 0.02
    W[m] = torch.randn(int(m.sum()), generator=g, dtype=torch.float64)
    y = torch.multinomial(torch.softmax(X @ W.T, 1), 1, generator=g)[:, 0]
    X = (X - X.mean(0)) / X.std(0, correction=0)
    return X, y


@pytest.fixture(scope="module")
def problem():
    X, y = synthetic(5000, 512)
    lm = lambda_max(X, y, 10, ALPHA, "multinomial")
    return X, y, lambda_grid(lm, 100, 1e-3)[:K]


def _objectives(X, y, coefs, lams):
    return [objective(X, y, W, b, lam, ALPHA, "multinomial") for (W, b), lam in zip(coefs, lams)]


@pytest.mark.benchmark(group="glm_path")
def bench_path_ours(benchmark, problem):
    X, y, lams = problem
    cfg = PathConfig(alpha=ALPHA, standardize=False, gap_tol=1e-5, step_scale=4.0)
    res = benchmark.pedantic(fit_path, args=(X, y, cfg), kwargs={"lambdas": lams}, rounds=1, iterations=1)
    benchmark.extra_info["objective"] = [p.objective for p in res.points]
    benchmark.extra_info["rel_gap"] = [p.gap / p.objective for p in res.points]
    assert all(p.gap >= -1e-9 for p in res.points)


@pytest.mark.benchmark(group="glm_path")
def bench_path_glmnet_baseline(benchmark, problem):
    glmnet = pytest.importorskip("glmnet")
    X, y, lams = problem
    Xn, yn = X.numpy(), y.numpy()

    def fit():
        return glmnet.LogitNet(alpha=ALPHA, lambda_path=np.array(lams), standardize=False, n_splits=0, tol=1e-7,
                               max_iter=100000).fit(Xn, yn)

    m = benchmark.pedantic(fit, rounds=1, iterations=1)
    coefs = [(torch.tensor(m.coef_path_[:, :, i]), torch.tensor(m.intercept_path_[:, i])) for i in range(m.coef_path_.shape[2])]
    benchmark.extra_info["objective"] = _objectives(X, y, coefs, lams[:len(coefs)])
    assert len(coefs) >= 1


@pytest.mark.benchmark(group="glm_path")
def bench_path_glm_saga_baseline(benchmark, problem):
    es = pytest.importorskip("glm_saga.elasticnet")
    from torch.utils.data import DataLoader

    X, y, lams = problem
    n_lams = int(os.environ.get("SB_GLMSAGA_LAMBDAS", "3"))
    Xf = X.float()
    loader = DataLoader(es.IndexedTensorDataset(Xf, y), batch_size=256, shuffle=True)
    lin = torch.nn.Linear(512, 10)

    def fit():
        torch.manual_seed(0)
        lin.weight.data.zero_()
        lin.bias.data.zero_()
        state = None
        for lam in lams[:n_lams]:
            state = es.train_saga(lin, loader, 0.1, 2000, lam, ALPHA, group=False, state=state, n_ex=5000,
                                  n_classes=10, tol=1e-4, logger=lambda *a: None)
        return lin

    t0 = time.perf_counter()
    benchmark.pedantic(fit, rounds=1, iterations=1)
    per_lambda = (time.perf_counter() - t0) / n_lams
    benchmark.extra_info["seconds_per_lambda"] = per_lambda
    benchmark.extra_info["extrapolated_path_seconds"] = per_lambda * len(lams)
    assert torch.isfinite(lin.weight).all()


@pytest.mark.slow
@pytest.mark.benchmark(group="glm_path_large")
def bench_path_ours_50k_2048(benchmark):
    X, y = synthetic(50000, 2048)
    X = X.float()
    cfg = PathConfig(alpha=ALPHA, standardize=False, gap_tol=1e-4, step_scale=4.0, max_epochs=200)
    res = benchmark.pedantic(fit_path, args=(X, y, cfg), rounds=1, iterations=1)
    benchmark.extra_info["rel_gap_max"] = max(p.gap / p.objective for p in res.points)
    assert len(res.points) == 100
