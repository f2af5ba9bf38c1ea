"""glm-saga compatible entry point vs glm-saga 0.1.2 itself (group ``glm_saga_compat``).

Small problem: sklearn ``load_digits`` (1,797 × 64, 10 classes), standardised, 1,400 train rows
and the rest as val; both get the same call ``glm_saga(linear, loader, 0.1, 2000, 0.99, k=K,
epsilon=1e-2, val_loader=..., do_zero=False)`` (batch 256, gradient-change rule, tol 1e-4). Each
runs once; the assertion is the acceptance criterion: at every λ the val accuracy is within
1 point and the number of non-zeros (|w| > 1e-5, glm-saga's own count) within 10%.
"""
import contextlib
import io
import os
import warnings

import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

K = int(os.environ.get("SB_COMPAT_K", "10"))


@pytest.fixture(scope="module")
def digits():
    datasets = pytest.importorskip("sklearn.datasets")
    Xd, yd = datasets.load_digits(return_X_y=True)
    X = torch.tensor(Xd, dtype=torch.float32)
    X = (X - X.mean(0)) / X.std(0).clamp_min(1e-5)
    perm = torch.randperm(len(X), generator=torch.Generator().manual_seed(0))
    return X, torch.tensor(yd), perm[:1400], perm[1400:]


def _path(fn, digits):
    es = pytest.importorskip("glm_saga.elasticnet")
    X, y, tr, va = digits
    torch.manual_seed(0)
    ld = DataLoader(es.IndexedTensorDataset(X[tr], y[tr]), batch_size=256, shuffle=True)
    lv = DataLoader(TensorDataset(X[va], y[va]), batch_size=256)
    lin = torch.nn.Linear(64, 10)
    lin.weight.data.zero_()
    lin.bias.data.zero_()
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return fn(lin, ld, 0.1, 2000, 0.99, k=K, epsilon=1e-2, val_loader=lv, do_zero=False, tol=1e-4)
    finally:
        torch.set_num_threads(threads)


_BASELINE = {}


@pytest.mark.benchmark(group="glm_saga_compat")
def bench_compat_glm_saga_baseline(benchmark, digits):
    es = pytest.importorskip("glm_saga.elasticnet")
    out = benchmark.pedantic(_path, args=(es.glm_saga, digits), rounds=1, iterations=1)
    _BASELINE["path"] = out["path"]
    assert len(out["path"]) == K


@pytest.mark.benchmark(group="glm_saga_compat")
def bench_compat_ours(benchmark, digits):
    es = pytest.importorskip("glm_saga.elasticnet")
    from shortcutbench.glm.compat import glm_saga

    out = benchmark.pedantic(_path, args=(glm_saga, digits), rounds=1, iterations=1)
    ref = _BASELINE.get("path") or _path(es.glm_saga, digits)["path"]
    for a, b in zip(out["path"], ref):
        assert abs(a["metrics"]["acc_val"] - b["metrics"]["acc_val"]) <= 0.01
        na, nb = int((a["weight"].abs() > 1e-5).sum()), int((b["weight"].abs() > 1e-5).sum())
        assert abs(na - nb) <= 0.1 * max(nb, 1)
