"""Drop-in replacement for glm-saga 0.1.2's ``glm_saga`` (MadryLab/glm_saga, elasticnet.py).

Switch by changing one import::

    # from glm_saga.elasticnet import glm_saga
    from shortcutbench.glm.compat import glm_saga

Same arguments, same return value (``{'path': [...], 'best': ..., 'state': {...}}``, each path
entry ``{lam, lr, alpha, time, loss, metrics: {loss_tr, acc_tr, loss_val, acc_val, loss_test,
acc_test}, weight, bias}``), ``linear`` updated in place, the same λ grid (λ_max / max(α, 1e-3)
down to ε·λ_max, K = ``k`` values, λ = 0 appended when ``do_zero``), the same lr schedule and the
same stopping rules (the per-batch gradient-change rule with absolute ``tol`` or, with
``lookbehind``, the epoch-objective rule). The epochs run in the compiled ``saga_enet`` op.

Documented differences (where glm-saga 0.1.2 is buggy or inconsistent; research note §1.5):

1. The SAGA table starts at the exact residuals of the starting model, not at zero (glm-saga's
   zero table biases the first λ's early epochs).
2. ``group=True`` never divides by a zero column norm (glm-saga: NaN on all-zero columns).
3. Gaussian losses are (1/2n)Σ‖z − y‖² (glm-saga reports them divided by k, which is
   inconsistent with the gradient it uses).
4. With sample weights λ_max uses the weighted intercept-only fit (exact KKT threshold);
   glm-saga ignores the weights there.
5. Rows are visited in our own seeded random order (``seed``), not the loader's; the batch size
   is the loader's.
6. Extra keyword-only arguments: ``stopping`` (e.g. ``("gap",)`` for the duality-gap rule with
   ``gap_tol``, which certifies relative suboptimality), ``seed``. Every entry also carries
   ``gap`` (the duality-gap certificate), ``epochs``, ``nnz`` and ``converged`` (False when the λ
   stopped at ``nepochs`` before its rule fired).
7. No ``F.softmax`` dim warning; ``best`` is still the entry with the lowest *penalised* val loss
   and, as in glm-saga, the first entry when there is no ``val_loader`` (a warning says so).
"""
from __future__ import annotations

import math
import os
import time
import warnings
from typing import Dict, Optional, Sequence

import torch

from ..errors import UsageError
from . import inputs
from .objective import MIN_ALPHA, lambda_max, penalty
from .path import PathConfig, fit_path, lambda_grid


def _collect(loader, preprocess, n_ex: Optional[int], family: str):
    """All (X, y, w) of an indexed loader, placed by index; batch size of its first batch."""
    xs, ys, ws, idxs, bs = [], [], [], [], None
    with torch.no_grad():
        for batch in loader:
            if len(batch) == 3:
                X, y, idx = batch
                w = None
            elif len(batch) == 4:
                X, y, w, idx = batch
            else:
                raise UsageError(f"Loader must return (data, target, index) or (data, target, index, weight) "
                                 f"but instead got a tuple of length {len(batch)}")
            if preprocess is not None:
                X = preprocess(X)
            bs = bs or X.shape[0]
            xs.append(X.detach().cpu())
            ys.append(y.cpu())
            ws.append(None if w is None else w.cpu())
            idxs.append(torch.as_tensor(idx).cpu().long())
    idx = torch.cat(idxs)
    n = int(n_ex or (int(idx.max()) + 1))
    X = torch.cat(xs)
    out_X = torch.zeros((n,) + X.shape[1:], dtype=X.dtype)
    out_X[idx] = X
    y = torch.cat(ys)
    out_y = torch.zeros((n,) + y.shape[1:], dtype=y.dtype)
    out_y[idx] = y
    w = None
    if ws[0] is not None:
        w = torch.zeros(n, dtype=X.dtype)
        w[idx] = torch.cat(ws).to(X.dtype)
    return out_X.flatten(1), out_y, w, bs or 1


def _plain(loader, preprocess):
    xs, ys = [], []
    with torch.no_grad():
        for batch in loader:
            X = batch[0] if preprocess is None else preprocess(batch[0])
            xs.append(X.detach().cpu())
            ys.append(batch[1].cpu())
    return torch.cat(xs).flatten(1), torch.cat(ys)


def glm_saga(linear, loader, max_lr, nepochs, alpha, table_device=None, preprocess=None, group=False, verbose=None,
             state=None, n_ex=None, n_classes=None, tol=1e-4, epsilon=0.001, k=100, checkpoint=None, do_zero=True,
             lr_decay_factor=1, metadata=None, val_loader=None, test_loader=None, lookbehind=None,
             family="multinomial", encoder=None, *, stopping: Optional[Sequence[str]] = None, gap_tol: float = 1e-5,
             seed: int = 0) -> Dict[str, object]:
    if encoder is not None:
        warnings.warn("encoder argument is deprecated; please use preprocess instead", DeprecationWarning)
        preprocess = encoder
    if metadata is not None:
        n_ex = n_ex or metadata["X"]["num_examples"]
        n_classes = n_classes or metadata["y"]["num_classes"]
    X, y, w, batch_size = _collect(loader, preprocess, n_ex, family)
    dtype = linear.weight.dtype
    ncls = linear.weight.shape[0]
    # the contract of fit_path (glm/inputs.py) before any arithmetic here: one-line UsageErrors
    X = inputs.features(X).to(dtype)
    if not 0 <= alpha <= 1:
        raise UsageError(f"alpha must lie in [0, 1], got {alpha}")
    if not 0 < epsilon <= 1 or k < 1:
        raise UsageError(f"need k >= 1 and epsilon in (0, 1], got k={k}, epsilon={epsilon}")
    if family == "multinomial":
        y, _ = inputs.labels(y, X.shape[0], ncls)
    else:
        y = inputs.targets(y, X.shape[0]).to(dtype)
    w = inputs.sample_weights(w, X.shape[0])
    w = None if w is None else w.to(dtype)
    if metadata is not None:
        lam_max = (metadata["max_reg"]["group"] if group else metadata["max_reg"]["nongrouped"]) / max(MIN_ALPHA, alpha)
    else:
        lam_max = lambda_max(X, y, ncls, alpha, family, group, w)
    lams = lambda_grid(lam_max, k, epsilon, do_zero)
    lrs = [max_lr * lr_decay_factor ** (-(i / (k - 1) if k > 1 else 0.0)) for i in range(k)]
    lrs += [lrs[-1]] * (len(lams) - len(lrs))
    rules = tuple(stopping) if stopping is not None else (("lookbehind",) if lookbehind is not None else ("step",))
    val = _plain(val_loader, preprocess) if val_loader else None
    test = _plain(test_loader, preprocess) if test_loader else None
    if checkpoint is not None:
        os.makedirs(checkpoint, exist_ok=True)
    log = print if verbose else (lambda *a, **kw: None)

    W = linear.weight.detach().clone()
    b = linear.bias.detach().clone()
    path, best, best_val = [], None, math.inf
    for i, (lam, lr) in enumerate(zip(lams, lrs)):
        t0 = time.time()
        cfg = PathConfig(family=family, alpha=alpha, group=group, batch_size=batch_size, lr=float(lr),
                         max_epochs=nepochs, stopping=rules, gap_tol=gap_tol, tol=tol, lookbehind=lookbehind or 3,
                         standardize=False, dtype=str(dtype).replace("torch.", ""), screening=False, seed=seed + i)
        res = fit_path(X, y, cfg, sample_weight=w, val=val, test=test, lambdas=[lam], lam_max=lam_max,
                       n_classes=ncls, state=state, init=(W, b))
        p = res.points[0]
        state = res.state
        W, b = p.weight_std, res.points[0].bias
        pen = penalty(W, lam, alpha, group)
        m = p.metrics
        entry = {
            "lam": torch.tensor(lam), "lr": torch.tensor(lr), "alpha": alpha, "time": time.time() - t0,
            "loss": p.objective,
            "metrics": {"loss_tr": p.objective, "acc_tr": m["acc_tr"],
                        "loss_val": m["loss_val"] + pen if val else -1, "acc_val": m["acc_val"] if val else -1,
                        "loss_test": m["loss_test"] + pen if test else -1, "acc_test": m["acc_test"] if test else -1},
            "weight": W.detach().cpu().clone(), "bias": b.detach().cpu().clone(),
            "gap": p.gap, "epochs": p.epochs, "nnz": p.nnz, "converged": p.converged,
        }
        path.append(entry)
        loss_val = entry["metrics"]["loss_val"]
        if best is None or (val and loss_val < best_val):
            best_val, best = loss_val, entry
        log(f"({i}) lambda {lam:.4f}, loss {p.objective:.4f}, acc {m['acc_tr']:.4f}, nnz {p.nnz}/{W.numel()}, "
            f"gap {p.gap:.2e}, epochs {p.epochs}, time {entry['time']:.3f}")
        if checkpoint is not None:
            torch.save(entry, os.path.join(checkpoint, f"params{i}.pth"))
    if not val_loader:
        warnings.warn("glm_saga without val_loader: 'best' is the first (λ_max) entry, as in glm-saga 0.1.2",
                      UserWarning, stacklevel=2)
    with torch.no_grad():
        linear.weight.copy_(W.to(linear.weight.device))
        linear.bias.copy_(b.to(linear.bias.device))
    return {"path": path, "best": best, "state": state}
