import math

import numpy as np
import pytest
import torch

from shortcutbench.errors import UsageError
from shortcutbench.glm import PathConfig, duality_gap, fit_path, lambda_grid, lambda_max, objective


def _data(n=300, d=10, k=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(n, d, generator=g, dtype=torch.float64)
    W = torch.randn(k, d, generator=g, dtype=torch.float64) * (torch.rand(k, d, generator=g) < 0.3)
    y = torch.multinomial(torch.softmax(X @ W.T, 1), 1, generator=g)[:, 0]
    return X, y


def test_lambda_grid_ends():
    lams = lambda_grid(2.0, 5, 1e-2)
    assert lams[0] == 2.0 and math.isclose(lams[-1], 0.02) and len(lams) == 5


@pytest.mark.parametrize("group", [False, True])
def test_lambda_max_is_exact(group):
    X, y = _data()
    cfg = PathConfig(alpha=0.9, group=group, standardize=False, dtype="float64", gap_tol=1e-9, max_epochs=3000)
    lm = lambda_max(X, y, 3, 0.9, "multinomial", group)
    above = fit_path(X, y, cfg, lambdas=[1.001 * lm])
    below = fit_path(X, y, cfg, lambdas=[0.9 * lm])
    assert above.points[0].nnz == 0
    assert below.points[0].nnz > 0


def test_gap_certifies_against_sklearn_optimum():
    sklearn = pytest.importorskip("sklearn.linear_model")
    X, y = _data(n=400, d=8, k=3)
    n, alpha = X.shape[0], 0.5
    lm = lambda_max(X, y, 3, alpha, "multinomial")
    lam = 0.1 * lm
    res = fit_path(X, y, PathConfig(alpha=alpha, standardize=False, dtype="float64", gap_tol=1e-7, max_epochs=5000),
                   lambdas=[lam])
    p = res.points[0]
    # independent reference: sklearn saga, objective C·ΣCE + ρ‖W‖₁ + (1−ρ)/2‖W‖² with C = 1/(nλ) (research note §3)
    clf = sklearn.LogisticRegression(solver="saga", l1_ratio=alpha, C=1 / (n * lam), tol=1e-12, max_iter=20000)
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf.fit(X.numpy(), y.numpy())
    p_ref = objective(X, y, torch.tensor(clf.coef_), torch.tensor(clf.intercept_), lam, alpha, "multinomial")
    assert p.gap >= 0
    assert p.objective - p_ref <= p.gap + 1e-10  # the certificate bounds the suboptimality
    assert abs(p.objective - p_ref) / p_ref < 1e-6
    # the gap of the sklearn optimum itself is ~0
    cert = duality_gap(X, y, torch.tensor(clf.coef_), torch.tensor(clf.intercept_), lam, alpha, "multinomial")
    assert cert.gap < 1e-6


def test_gaussian_matches_sklearn_elasticnet():
    sklearn = pytest.importorskip("sklearn.linear_model")
    X, _ = _data(n=200, d=6)
    g = torch.Generator().manual_seed(3)
    Y = X @ torch.randn(6, 1, generator=g, dtype=torch.float64) + 0.1 * torch.randn(200, 1, generator=g, dtype=torch.float64)
    lam, alpha = 0.05, 0.7
    res = fit_path(X, Y, PathConfig(family="gaussian", alpha=alpha, standardize=False, dtype="float64", gap_tol=1e-10,
                                    max_epochs=5000), lambdas=[lam])
    en = sklearn.ElasticNet(alpha=lam, l1_ratio=alpha, tol=1e-12, max_iter=100000).fit(X.numpy(), Y[:, 0].numpy())
    np.testing.assert_allclose(res.points[0].weight[0].numpy(), en.coef_, atol=1e-5)
    np.testing.assert_allclose(res.points[0].bias.numpy(), [en.intercept_], atol=1e-5)


def test_standardisation_is_undone_on_output():
    X, y = _data()
    Xs = X * torch.linspace(0.1, 10, X.shape[1]) + 3.0  # raw features on very different scales
    res = fit_path(Xs, y, PathConfig(n_lambdas=5, eps=0.1, dtype="float64", gap_tol=1e-8))
    p = res.points[-1]
    raw = Xs @ p.weight.T + p.bias
    std = ((Xs - res.mean) / res.std) @ p.weight_std.T + (p.bias + p.weight @ res.mean)
    torch.testing.assert_close(raw, std)
    assert res.std.sub(Xs.std(0, correction=0)).abs().max() < 1e-12  # ddof = 0


def test_group_penalty_all_zero_column_no_nan():
    X, y = _data()
    X[:, 3] = 0.0
    res = fit_path(X, y, PathConfig(group=True, n_lambdas=4, eps=0.05, gap_tol=1e-6))
    for p in res.points:
        assert torch.isfinite(p.weight).all() and (p.weight[:, 3] == 0).all()
        assert p.gap <= 1e-6 * p.objective * 1.01


def test_sample_weight_two_equals_duplicated_row():
    X, y = _data(n=100)
    w = torch.ones(100, dtype=torch.float64)
    w[:10] = 2.0
    Xd = torch.cat([X, X[:10]])
    yd = torch.cat([y, y[:10]])
    lam = 0.05
    cfg = PathConfig(standardize=False, dtype="float64", gap_tol=1e-10, max_epochs=5000)
    a = fit_path(X, y, cfg, sample_weight=w, lambdas=[lam]).points[0]
    # weights divide by n rows (glm-saga): (1/110)·Σ(110/100)·ℓ_j = (1/100)·Σ w_i ℓ_i
    b = fit_path(Xd, yd, cfg, sample_weight=torch.full((110,), 110 / 100, dtype=torch.float64), lambdas=[lam]).points[0]
    # both certified to 1e-10: the same objective; weights only to ~√(gap/(λ(1−α))) (strong convexity)
    assert abs(a.objective - b.objective) <= 2e-10 * a.objective
    torch.testing.assert_close(a.weight, b.weight, atol=1e-5, rtol=0)


def test_screening_gives_the_same_path():
    X, y = _data(d=30)
    on = fit_path(X, y, PathConfig(n_lambdas=8, eps=0.05, dtype="float64", gap_tol=1e-9, screening=True))
    off = fit_path(X, y, PathConfig(n_lambdas=8, eps=0.05, dtype="float64", gap_tol=1e-9, screening=False))
    for a, b in zip(on.points, off.points):
        assert abs(a.objective - b.objective) <= 2e-9 * b.objective + 1e-12


def test_bad_input_is_a_usage_error():
    X, y = _data()
    with pytest.raises(UsageError):
        fit_path(X[:, :0].T, y)
    with pytest.raises(UsageError):
        PathConfig(alpha=2.0)
    X[0, 0] = float("nan")
    with pytest.raises(UsageError):
        fit_path(X, y)


def test_too_long_step_backs_off_instead_of_diverging():
    # a step 32x the smoothness bound: plain SAGA blows up (objective and gap grow without end);
    # the safeguard restores the last trusted state and halves the step, so every λ still certifies
    X, y = _data(n=400, d=30, k=4)
    cfg = PathConfig(alpha=0.99, standardize=False, n_lambdas=10, eps=1e-2, gap_tol=1e-6, step_scale=32.0,
                     max_epochs=500, batch_size=16, solver="saga")
    res = fit_path(X.float(), y, cfg)
    for p in res.points:
        assert p.stopped_by == "gap" and p.gap <= 1e-6 * p.objective * 1.001, (p.lam, p.stopped_by, p.gap)
        assert torch.isfinite(p.weight).all()
    assert sum(p.backoffs for p in res.points) >= 1


def test_epoch_cap_is_flagged():
    # one epoch cannot certify 1e-9 at a λ deep in the path; the first λ (W = 0 at λ_max) certifies at once
    X, y = _data()
    res = fit_path(X, y, PathConfig(n_lambdas=3, eps=0.01, dtype="float64", gap_tol=1e-9, max_epochs=1))
    first, last = res.points[0], res.points[-1]
    assert first.converged and not first.capped and first.gap <= 1e-9 * (first.objective - first.gap)
    assert last.capped and not last.converged and last.stopped_by == "max_epochs"
    assert last.gap > 1e-9 * (last.objective - last.gap)  # the flag marks a gap above the target


def test_every_function_of_the_path_fits_on_a_screen():
    """Issue 19: glm/path.py's functions stay under 80 lines (its `_fit_path` once had 181)."""
    import ast
    from pathlib import Path

    import shortcutbench.glm.path as path_module

    tree = ast.parse(Path(path_module.__file__).read_text())
    lengths = {f"{n.name} (line {n.lineno})": n.end_lineno - n.lineno + 1 for n in ast.walk(tree)
               if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}
    assert lengths and max(lengths.values()) < 80, sorted(lengths.items(), key=lambda kv: -kv[1])[:3]
