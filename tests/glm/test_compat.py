"""glm-saga compatible entry point vs glm-saga 0.1.2 itself (issue 7 acceptance, small problem)."""
import contextlib
import io
import warnings

import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset


def _path(fn, X, y, tr, va, k):
    es = pytest.importorskip("glm_saga.elasticnet")
    torch.manual_seed(0)
    ld = DataLoader(es.IndexedTensorDataset(X[tr], y[tr]), batch_size=256, shuffle=True)
    lv = DataLoader(TensorDataset(X[va], y[va]), batch_size=256)
    lin = torch.nn.Linear(X.shape[1], 10)
    lin.weight.data.zero_()
    lin.bias.data.zero_()
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(lin, ld, 0.1, 2000, 0.99, k=k, epsilon=1e-2, val_loader=lv, do_zero=False, tol=1e-4)


@pytest.mark.slow
def test_compat_path_matches_glm_saga_accuracy_and_sparsity():
    es = pytest.importorskip("glm_saga.elasticnet")
    datasets = pytest.importorskip("sklearn.datasets")
    from shortcutbench.glm.compat import glm_saga

    Xd, yd = datasets.load_digits(return_X_y=True)
    X = torch.tensor(Xd, dtype=torch.float32)
    X = (X - X.mean(0)) / X.std(0).clamp_min(1e-5)
    perm = torch.randperm(len(X), generator=torch.Generator().manual_seed(0))
    tr, va = perm[:600], perm[600:]  # glm-saga itself takes minutes on all 1,400 (bench_glm_saga_compat)
    ours = _path(glm_saga, X, torch.tensor(yd), tr, va, 4)["path"]
    ref = _path(es.glm_saga, X, torch.tensor(yd), tr, va, 4)["path"]
    assert len(ours) == len(ref) == 4
    for a, b in zip(ours, ref):
        assert abs(float(a["lam"]) - float(b["lam"])) <= 1e-6 * float(b["lam"])  # same λ grid
        assert abs(a["metrics"]["acc_val"] - b["metrics"]["acc_val"]) <= 0.01
        na, nb = int((a["weight"].abs() > 1e-5).sum()), int((b["weight"].abs() > 1e-5).sum())
        assert abs(na - nb) <= 0.1 * max(nb, 1)
