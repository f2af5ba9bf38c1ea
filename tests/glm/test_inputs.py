"""The path's input contract (glm/inputs.py, issue 20 point 3): every bad input is refused with a
one-line UsageError through the public entry points, before any NaN or linear-algebra error;
constant columns and classes absent under an explicit n_classes are fitted, their weights 0."""
import math
import re

import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

from shortcutbench.errors import UsageError
from shortcutbench.glm import PathConfig, duality_gap, fit_path, lambda_max

FAST = PathConfig(n_lambdas=4, eps=0.1, gap_tol=1e-6, dtype="float64")


def _data(n=120, d=5, k=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(n, d, generator=g, dtype=torch.float64)
    y = torch.arange(n) % k  # every class present
    X[:, 0] += y  # an informative column
    return X, y


def _one_line(excinfo, pattern):
    msg = str(excinfo.value)
    assert "\n" not in msg, msg
    assert re.search(pattern, msg), msg


X0, Y0 = _data()
BAD = {  # case -> (X, y, fit_path keyword arguments, config overrides, expected message)
    "d=0": (X0[:, :0], Y0, {}, {}, r"no feature columns \(shape \(120, 0\)\)"),
    "n=1": (X0[:1], Y0[:1], {}, {}, r"at least 2 rows, got shape \(1, 5\)"),
    "1-D X": (X0[:, 0], Y0, {}, {}, r"2-D \[n, d\] matrix, got shape \(120,\)"),
    "NaN in X": (X0.clone().index_put_((torch.tensor([3]), torch.tensor([1])), torch.tensor(math.nan, dtype=torch.float64)),
                 Y0, {}, {}, r"X contains 1 NaN or Inf entry"),
    "Inf in X": (X0.clone().index_put_((torch.tensor([3]), torch.tensor([1])), torch.tensor(math.inf, dtype=torch.float64)),
                 Y0, {}, {}, r"X contains 1 NaN or Inf entry"),
    "float labels": (X0, Y0.double(), {}, {}, r"integer class labels 0\.\.k-1, got dtype torch\.float64"),
    "wrong label count": (X0, Y0[:-1], {}, {}, r"y must be 120 class labels of shape \[120\], got shape \(119,\)"),
    "negative label": (X0, torch.where(Y0 == 0, -1, Y0), {}, {}, r"y must lie in 0\.\.2, got labels from -1 to 2"),
    "label beyond n_classes": (X0, Y0, {"n_classes": 2}, {}, r"y must lie in 0\.\.1, got labels from 0 to 2"),
    "single class": (X0, torch.zeros(120, dtype=torch.long), {}, {}, r"single class \(0\); a classifier needs at least two"),
    "single class under n_classes": (X0, torch.ones(120, dtype=torch.long), {"n_classes": 3}, {},
                                     r"single class \(1\)"),
    "absent class": (X0, torch.where(Y0 == 1, 2, Y0), {}, {}, r"y lacks class \[1\] of 0\.\.2; pass n_classes=3"),
    "n_classes 1": (X0, Y0, {"n_classes": 1}, {}, r"n_classes must be an integer >= 2, got 1"),
    "increasing lambdas": (X0, Y0, {"lambdas": [0.1, 0.2]}, {}, r"strictly decreasing, got lambdas\[1\] = 0\.2 >= lambdas\[0\] = 0\.1"),
    "repeated lambda": (X0, Y0, {"lambdas": [0.1, 0.1]}, {}, r"strictly decreasing"),
    "negative lambda": (X0, Y0, {"lambdas": [0.1, -0.01]}, {}, r"lambdas must be finite and >= 0"),
    "NaN lambda": (X0, Y0, {"lambdas": [math.nan]}, {}, r"lambdas must be finite and >= 0"),
    "zero lambda not last": (X0, Y0, {"lambdas": [0.1, 0.0, 0.01]}, {}, r"lambda = 0 .* only be the last"),
    "empty lambdas": (X0, Y0, {"lambdas": []}, {}, r"lambda grid is empty"),
    "negative lam_max": (X0, Y0, {"lam_max": -1.0}, {}, r"lam_max must be finite and > 0, got -1\.0"),
    "negative weight": (X0, Y0, {"sample_weight": -torch.ones(120)}, {}, r"sample_weight must be finite, >= 0"),
    "zero weights": (X0, Y0, {"sample_weight": torch.zeros(120)}, {}, r"not all zero"),
    "val columns": (X0, Y0, {"val": (X0[:, :3], Y0)}, {}, r"val X has 3 columns, the training X 5"),
    "val labels": (X0, Y0, {"val": (X0, Y0 + 1)}, {}, r"val y must lie in 0\.\.2, got labels from 1 to 3"),
    "all columns constant": (torch.ones(120, 3, dtype=torch.float64), Y0, {}, {}, r"lambda_max is 0"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_fit_path_refuses_bad_input_in_one_line(case):
    X, y, kwargs, over, pattern = BAD[case]
    with pytest.raises(UsageError) as e:
        fit_path(X, y, FAST, **kwargs)
    _one_line(e, pattern)


@pytest.mark.parametrize("alpha", [-0.1, 1.5, math.nan])
def test_alpha_outside_unit_interval(alpha):
    with pytest.raises(UsageError) as e:
        PathConfig(alpha=alpha)
    _one_line(e, r"alpha must lie in \[0, 1\]")


def _compat(X, y, n_classes=3, **kwargs):
    pytest.importorskip("glm_saga")  # the loader datasets are glm-saga's; our entry point needs no glm-saga
    from glm_saga.elasticnet import IndexedTensorDataset
    from shortcutbench.glm.compat import glm_saga

    lin = torch.nn.Linear(X.shape[1] if X.dim() == 2 else 1, n_classes).double()
    torch.nn.init.zeros_(lin.weight)
    torch.nn.init.zeros_(lin.bias)
    loader = DataLoader(IndexedTensorDataset(X, y), batch_size=32)
    args = dict(k=3, epsilon=0.1, do_zero=False, stopping=("gap",), gap_tol=1e-6)
    args.update(kwargs)
    return glm_saga(lin, loader, 0.1, 200, args.pop("alpha", 0.9), **args), lin


COMPAT_BAD = {  # through glm_saga(linear, loader, ...): (X, y, n_classes, kwargs, message)
    "float labels": (X0, Y0.double(), 3, {}, r"dtype torch\.float64"),
    "label beyond the layer": (X0, Y0, 2, {}, r"y must lie in 0\.\.1, got labels from 0 to 2"),
    "single class": (X0, torch.zeros(120, dtype=torch.long), 3, {}, r"single class \(0\)"),
    "d=0": (X0[:, :0], Y0, 3, {}, r"no feature columns"),
    "NaN in X": (X0.clone().fill_(math.nan), Y0, 3, {}, r"X contains 600 NaN or Inf entries"),
    "alpha": (X0, Y0, 3, {"alpha": 1.5}, r"alpha must lie in \[0, 1\]"),
    "epsilon": (X0, Y0, 3, {"epsilon": 2.0}, r"epsilon in \(0, 1\], got k=3, epsilon=2\.0"),
}


@pytest.mark.parametrize("case", list(COMPAT_BAD))
@pytest.mark.filterwarnings("ignore:Initializing zero-element tensors")
def test_glm_saga_compat_refuses_bad_input_in_one_line(case):
    X, y, ncls, kwargs, pattern = COMPAT_BAD[case]
    with pytest.raises(UsageError) as e:
        _compat(X, y, ncls, **kwargs)
    _one_line(e, pattern)


def test_compat_n1_is_refused():
    with pytest.raises(UsageError) as e:
        _compat(X0[:1], Y0[:1])
    _one_line(e, r"at least 2 rows")


@pytest.mark.parametrize("standardize", [False, True])
def test_constant_columns_stay_at_zero_weight(standardize):
    X, y = _data()
    X[:, 2] = 7.0  # constant, non-zero: collinear with the bias when not standardised
    X[:, 4] = 0.0
    res = fit_path(X, y, PathConfig(n_lambdas=5, eps=0.05, gap_tol=1e-7, dtype="float64", standardize=standardize))
    for p in res.points:
        assert torch.isfinite(p.weight).all() and math.isfinite(p.gap)
        assert (p.weight[:, 2] == 0).all() and (p.weight[:, 4] == 0).all()
        assert p.gap <= 1e-7 * p.objective * 1.01
    assert res.points[-1].nnz > 0  # the informative column entered


def test_absent_class_under_n_classes_is_fitted_with_zero_weights():
    X, y = _data()
    y = torch.where(y == 1, 2, y)  # classes 0 and 2 only
    res = fit_path(X, y, PathConfig(n_lambdas=5, eps=0.05, gap_tol=1e-7, dtype="float64"), n_classes=3)
    for p in res.points:
        assert torch.isfinite(p.weight).all() and torch.isfinite(p.bias).all() and math.isfinite(p.gap)
        assert (p.weight[1] == 0).all()
        assert p.gap <= 1e-7 * p.objective * 1.01
        # the absent class gets (numerically) zero probability
        assert float(torch.softmax(X @ p.weight.T + p.bias, 1)[:, 1].max()) < 1e-12
    # the same objective as the two-class problem on the present classes
    two = fit_path(X, torch.where(y == 2, 1, y), PathConfig(n_lambdas=5, eps=0.05, gap_tol=1e-7, dtype="float64"),
                   lambdas=res.lambdas)
    for a, b in zip(res.points, two.points):
        assert abs(a.objective - b.objective) <= 1e-6 * b.objective


def test_certificate_with_an_absent_class_is_finite():
    X, y = _data()
    y = torch.where(y == 1, 0, y)
    lam = 0.5 * lambda_max(X, y, 3, 0.5, "multinomial")
    cert = duality_gap(X, y, torch.zeros(3, 5, dtype=torch.float64), torch.zeros(3, dtype=torch.float64), lam, 0.5,
                       "multinomial")
    assert math.isfinite(cert.gap) and cert.gap >= 0
