"""The input contract of the elastic-net path (:func:`shortcutbench.glm.fit_path` and the
glm-saga compatible entry point): every bad input is refused with a one-line
:class:`~shortcutbench.errors.UsageError` (exit 2 from the CLI) before any arithmetic, so a
user never sees a NaN gap or a linear-algebra traceback.

- X: a 2-D ``[n, d]`` matrix with n ≥ 2 rows, d ≥ 1 columns, every entry finite.
- labels (multinomial): 1-D, ``n`` of them, an integer dtype (float labels are refused even when
  integral: a float target usually means a regression target passed by mistake), in 0..k−1 with
  k = ``n_classes`` when given, else k = max + 1 and every class 0..k−1 present; at least two
  classes present either way.
- gaussian targets: ``n`` rows, finite.
- sample weights: ``[n]``, finite, ≥ 0, not all zero.
- λ grid: finite, positive and strictly decreasing; λ = 0 (the unpenalised fit glm-saga's
  ``do_zero`` appends) only as the last entry.
- evaluation splits: the same number of columns as X, labels as above within 0..k−1.

Constant columns are valid input: their optimal weight is exactly 0 (the KKT gradient of a
constant column is c·Σ_i θ_i/n = 0 at the optimal bias), and the solvers leave them there.
"""
from __future__ import annotations

import math
from typing import Optional, Sequence, Tuple

import torch

from ..errors import UsageError


def features(X, name: str = "X", min_rows: int = 2) -> torch.Tensor:
    X = torch.as_tensor(X)
    if X.dim() != 2:
        raise UsageError(f"{name} must be a 2-D [n, d] matrix, got shape {tuple(X.shape)}")
    if X.shape[0] < min_rows:
        raise UsageError(f"{name} needs at least {min_rows} row{'s' if min_rows > 1 else ''}, got shape {tuple(X.shape)}")
    if X.shape[1] == 0:
        raise UsageError(f"{name} has no feature columns (shape {tuple(X.shape)})")
    if not (X.is_floating_point() or X.dtype in (torch.int8, torch.int16, torch.int32, torch.int64, torch.uint8)):
        raise UsageError(f"{name} must be real-valued, got dtype {X.dtype}")
    if X.is_floating_point() and not bool(torch.isfinite(X).all()):
        bad = int((~torch.isfinite(X)).sum())
        raise UsageError(f"{name} contains {bad} NaN or Inf entr{'y' if bad == 1 else 'ies'}")
    return X


def labels(y, n: int, n_classes: Optional[int] = None, name: str = "y", require_all: bool = True
           ) -> Tuple[torch.Tensor, int]:
    """(int64 labels, k). ``require_all``: every class of 0..k−1 present when ``n_classes`` is
    not given, and at least two present (training labels; evaluation splits skip both)."""
    y = torch.as_tensor(y)
    if y.dim() != 1 or y.shape[0] != n:
        raise UsageError(f"{name} must be {n} class labels of shape [{n}], got shape {tuple(y.shape)}")
    if y.is_floating_point() or y.is_complex() or y.dtype == torch.bool:
        raise UsageError(f"{name} must hold integer class labels 0..k-1, got dtype {y.dtype}")
    y = y.long()
    lo, hi = int(y.min()), int(y.max())
    if n_classes is not None:
        if isinstance(n_classes, bool) or int(n_classes) != n_classes or n_classes < 2:
            raise UsageError(f"n_classes must be an integer >= 2, got {n_classes!r}")
        k = int(n_classes)
    else:
        k = hi + 1
    if lo < 0 or hi >= k:
        raise UsageError(f"{name} must lie in 0..{k - 1}, got labels from {lo} to {hi}")
    if require_all:
        present = torch.bincount(y, minlength=k) > 0
        if int(present.sum()) < 2:
            raise UsageError(f"{name} has a single class ({lo}); a classifier needs at least two")
        if n_classes is None and not bool(present.all()):
            absent = (~present).nonzero()[:, 0].tolist()
            raise UsageError(f"{name} lacks class{'es' if len(absent) > 1 else ''} {absent} of 0..{k - 1}; "
                             f"pass n_classes={k} to fit them anyway (their weights stay 0)")
    return y, k


def targets(y, n: int, name: str = "y") -> torch.Tensor:
    """Gaussian targets: [n] or [n, k], finite."""
    y = torch.as_tensor(y)
    if y.dim() == 1:
        y = y[:, None]
    if y.dim() != 2 or y.shape[0] != n or y.shape[1] == 0:
        raise UsageError(f"gaussian {name} must have shape [{n}] or [{n}, k], got {tuple(y.shape)}")
    if y.is_floating_point() and not bool(torch.isfinite(y).all()):
        raise UsageError(f"{name} contains NaN or Inf")
    return y


def sample_weights(sw, n: int) -> Optional[torch.Tensor]:
    if sw is None:
        return None
    sw = torch.as_tensor(sw)
    if sw.shape != (n,):
        raise UsageError(f"sample_weight must have shape [{n}], got {tuple(sw.shape)}")
    sw = sw.double()
    if not bool(torch.isfinite(sw).all()) or bool((sw < 0).any()) or not float(sw.sum()) > 0:
        raise UsageError("sample_weight must be finite, >= 0 and not all zero")
    return sw


def lambda_path(lams: Sequence[float]) -> list:
    lams = [float(v) for v in lams]
    if not lams:
        raise UsageError("the lambda grid is empty")
    if not all(math.isfinite(v) and v >= 0 for v in lams):
        raise UsageError(f"lambdas must be finite and >= 0, got {_show(lams)}")
    if any(v == 0 for v in lams[:-1]):
        raise UsageError(f"lambda = 0 (the unpenalised fit) may only be the last of the grid, got {_show(lams)}")
    for i in range(1, len(lams)):
        if lams[i] >= lams[i - 1]:
            raise UsageError(f"lambdas must be strictly decreasing, got lambdas[{i}] = {lams[i]:.6g} >= "
                             f"lambdas[{i - 1}] = {lams[i - 1]:.6g}")
    return lams


def lambda_scale(lam_max) -> float:
    lam_max = float(lam_max)
    if not (math.isfinite(lam_max) and lam_max > 0):
        raise UsageError(f"lam_max must be finite and > 0, got {lam_max}")
    return lam_max


def split(pair, d: int, family: str, k: int, name: str) -> Tuple[torch.Tensor, torch.Tensor]:
    """An evaluation split (X, y): d columns, finite, labels within 0..k−1 (classes may be absent)."""
    try:
        Xv, yv = pair
    except (TypeError, ValueError):
        raise UsageError(f"{name} must be an (X, y) pair") from None
    Xv = features(Xv, f"{name} X", min_rows=1)
    if Xv.shape[1] != d:
        raise UsageError(f"{name} X has {Xv.shape[1]} columns, the training X {d}")
    if family == "multinomial":
        yv, _ = labels(yv, Xv.shape[0], k, f"{name} y", require_all=False)
    else:
        yv = targets(yv, Xv.shape[0], f"{name} y")
        if yv.shape[1] != k:
            raise UsageError(f"{name} y has {yv.shape[1]} targets, the training y {k}")
    return Xv, yv


def _show(lams: list) -> str:
    head = ", ".join(f"{v:.3g}" for v in lams[:4])
    return f"[{head}{', ...' if len(lams) > 4 else ''}] ({len(lams)} values)"
