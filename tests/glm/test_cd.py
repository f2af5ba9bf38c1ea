"""The coordinate-descent path (glm/cd.py) and the automatic solver choice."""
import math

import pytest
import torch

from shortcutbench.errors import UsageError
from shortcutbench.glm import PathConfig, duality_gap, fit_path, lambda_grid, lambda_max
from shortcutbench.glm.cd import CD_MAX_N, choose


def _data(n=200, d=12, k=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(n, d, generator=g, dtype=torch.float64)
    X[:, 1] += 0.9 * X[:, 0]  # correlated columns
    W = torch.randn(k, d, generator=g, dtype=torch.float64) * (torch.rand(k, d, generator=g) < 0.4)
    y = torch.multinomial(torch.softmax(X @ W.T, 1), 1, generator=g)[:, 0]
    return X, y


@pytest.mark.parametrize("k", [2, 3])
@pytest.mark.parametrize("alpha", [0.5, 0.99])
def test_cd_path_agrees_with_saga_path(k, alpha):
    # two different algorithms, both certified to 1e-8: the same objective at every λ
    X, y = _data(k=k)
    lams = lambda_grid(lambda_max(X, y, k, alpha, "multinomial"), 12, 1e-2)
    base = PathConfig(alpha=alpha, standardize=False, dtype="float64", gap_tol=1e-8, max_epochs=20000)
    cd = fit_path(X, y, PathConfig(**{**base.__dict__, "solver": "cd"}), lambdas=lams)
    saga = fit_path(X, y, PathConfig(**{**base.__dict__, "solver": "saga"}), lambdas=lams)
    for a, b in zip(cd.points, saga.points):
        assert a.solver == "cd" and b.solver == "saga"
        assert a.converged and a.gap <= 1e-8 * (a.objective - a.gap) * (1 + 1e-9)
        assert abs(a.objective - b.objective) <= 2e-8 * b.objective
        # the point's certificate is the one objective.py computes for its (standardised) weights
        cert = duality_gap(X, y, a.weight_std, a.bias + a.weight @ cd.mean, a.lam, alpha, "multinomial")
        assert math.isclose(cert.primal, a.objective, rel_tol=1e-10) and cert.gap <= a.gap * (1 + 1e-6) + 1e-14


def test_cd_with_sample_weights_and_validation_split():
    X, y = _data(n=150)
    w = torch.rand(150, generator=torch.Generator().manual_seed(1), dtype=torch.float64) + 0.5
    res = fit_path(X, y, PathConfig(n_lambdas=6, eps=0.05, gap_tol=1e-7, solver="cd"), sample_weight=w,
                   val=(X[:50], y[:50]))
    for p in res.points:
        assert p.converged and {"loss_tr", "acc_tr", "loss_val", "acc_val"} <= set(p.metrics)
        z = X[:50].float() @ p.weight.T + p.bias  # raw-feature weights predict the raw split
        assert math.isclose(float((z.argmax(1) == y[:50]).double().mean()), p.metrics["acc_val"], abs_tol=1e-9)


def test_cd_cap_is_flagged():
    X, y = _data()
    res = fit_path(X, y, PathConfig(n_lambdas=5, eps=0.01, gap_tol=1e-12, max_epochs=1, solver="cd",
                                    dtype="float64"))
    last = res.points[-1]
    assert last.capped and last.epochs <= 1 and last.gap > 1e-12 * (last.objective - last.gap)


def test_auto_choice():
    cfg = PathConfig()
    assert choose(cfg, CD_MAX_N, [0.1], warm=False) == "cd"
    assert choose(cfg, CD_MAX_N + 1, [0.1], warm=False) == "saga"
    assert choose(PathConfig(group=True), 100, [0.1], warm=False) == "saga"
    assert choose(PathConfig(stopping=("lookbehind",)), 100, [0.1], warm=False) == "saga"
    assert choose(cfg, 100, [0.1], warm=True) == "saga"  # glm-saga's state / init warm starts
    assert choose(cfg, 100, [0.1, 0.0], warm=False) == "saga"  # λ = 0 cannot be certified


def test_cd_refuses_what_it_cannot_solve():
    with pytest.raises(UsageError, match="solver='cd' needs family='multinomial'"):
        choose(PathConfig(family="gaussian", solver="cd"), 100, [0.1], warm=False)
    with pytest.raises(UsageError, match="solver must be one of"):
        PathConfig(solver="newton")
