"""Readouts of frozen features, and R² (seed 001 §7.3, eqs. 23–26; Table 5's two readouts).

Features are standardised with the training set's mean and std; targets are the factors' latents
in [−1, 1]. Ridge has a closed form; kernel ridge uses an RBF kernel with the median heuristic
for its width, fit on a fixed subset (its cost is cubic in the fit size).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Dict

import torch

from ..explain.sae import Standardiser
from ..registry import Registry

RIDGE_ALPHA = 1e-2  # relative to the mean diagonal of XᵀX/n, so one value serves every feature width
KERNEL_ALPHA = 1e-2
KERNEL_FIT = 2000  # training samples the kernel readout sees


def r2_score(y: torch.Tensor, pred: torch.Tensor) -> torch.Tensor:
    """1 − SS_res/SS_tot per column (seed 001 eqs. 23–26); negative when worse than the mean."""
    y, pred = y.double(), pred.double()
    ss_res = ((y - pred) ** 2).sum(0)
    ss_tot = ((y - y.mean(0)) ** 2).sum(0)
    return 1 - ss_res / ss_tot


@dataclass
class LinearReadout:
    """y ≈ x W + b on raw features (the standardisation is folded into W and b)."""

    weight: torch.Tensor  # [D, F]
    bias: torch.Tensor  # [F]

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return x.double() @ self.weight + self.bias


def fit_ridge(x: torch.Tensor, y: torch.Tensor, alpha: float = RIDGE_ALPHA) -> LinearReadout:
    x, y = x.double(), y.double()
    st = Standardiser.fit(x)
    xs = st(x)
    ym = y.mean(0)
    gram = xs.T @ xs / xs.shape[0]
    reg = alpha * gram.diagonal().mean() * torch.eye(gram.shape[0], dtype=gram.dtype)
    w = torch.linalg.solve(gram + reg, xs.T @ (y - ym) / xs.shape[0])
    weight = w / st.std.view(-1, 1)
    return LinearReadout(weight, ym - st.mean @ weight)


@dataclass
class KernelReadout:
    st: Standardiser
    support: torch.Tensor
    coef: torch.Tensor
    gamma: float
    offset: torch.Tensor

    def __call__(self, x: torch.Tensor, chunk: int = 2048) -> torch.Tensor:
        out = []
        for i in range(0, x.shape[0], chunk):
            k = torch.exp(-self.gamma * torch.cdist(self.st(x[i:i + chunk].double()), self.support) ** 2)
            out.append(k @ self.coef + self.offset)
        return torch.cat(out)


def fit_kernel_ridge(x: torch.Tensor, y: torch.Tensor, alpha: float = KERNEL_ALPHA, n_fit: int = KERNEL_FIT) -> KernelReadout:
    x, y = x[:n_fit].double(), y[:n_fit].double()
    st = Standardiser.fit(x)
    xs = st(x)
    d2 = torch.cdist(xs, xs) ** 2
    gamma = 1.0 / float(d2[d2 > 0].median())  # median heuristic
    k = torch.exp(-gamma * d2)
    ym = y.mean(0)
    coef = torch.linalg.solve(k + alpha * torch.eye(k.shape[0], dtype=k.dtype), y - ym)
    return KernelReadout(st, xs, coef, gamma, ym)


READOUTS: Registry[Callable[[torch.Tensor, torch.Tensor], Callable[[torch.Tensor], torch.Tensor]]] = Registry("readout")
READOUTS.register("linear")(fit_ridge)
READOUTS.register("kernel_ridge")(fit_kernel_ridge)


def readout_r2(train_x: torch.Tensor, train_y: torch.Tensor, test_x: torch.Tensor, test_y: torch.Tensor,
               names) -> Dict[str, Dict[str, float]]:
    """readout → factor → R² on the test split."""
    out = {}
    for r in READOUTS.list():
        pred = READOUTS.get(r)(train_x, train_y)(test_x)
        out[r] = {n: float(v) for n, v in zip(names, r2_score(test_y, pred))}
    return out
