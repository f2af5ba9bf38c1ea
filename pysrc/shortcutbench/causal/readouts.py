"""Readouts of frozen features, and R² (seed 001 §7.3, eqs. 23–26; Table 5's two readouts).

Features are standardised with the training set's mean and std; targets are the factors' latents
in [−1, 1]. Ridge has a closed form; kernel ridge uses an RBF kernel with the median heuristic
for its width, fit on a fixed subset (its cost is cubic in the fit size).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, Tuple

import torch

from ..explain.sae import Standardiser

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
    xf = xs.float()  # the n×D² products in single precision (the dominant cost for pixel features), the solve in double
    gram = (xf.T @ xf).double() / xs.shape[0]
    reg = alpha * gram.diagonal().mean() * torch.eye(gram.shape[0], dtype=gram.dtype)
    w = torch.linalg.solve(gram + reg, (xf.T @ (y - ym).float()).double() / xs.shape[0])
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


def readout_report(train_x: torch.Tensor, train_y: torch.Tensor, train_labels: torch.Tensor, test_x: torch.Tensor,
                   test_y: torch.Tensor, test_labels: torch.Tensor, names, classes: int
                   ) -> Tuple[Dict[str, Any], LinearReadout]:
    """R² of every factor (linear and kernel-ridge readouts), the class accuracy of a linear readout
    of the one-hot class (Table 5's object accuracy), and the linear readout of the factors. One
    ridge solve serves the factors and the class."""
    onehot = torch.nn.functional.one_hot(train_labels, classes).double()
    nf = train_y.shape[1]
    ridge = fit_ridge(train_x, torch.cat([train_y.double(), onehot], 1))
    pred = ridge(test_x)
    kernel = fit_kernel_ridge(train_x, train_y)(test_x)
    r2 = {"linear": dict(zip(names, r2_score(test_y, pred[:, :nf]).tolist())),
          "kernel_ridge": dict(zip(names, r2_score(test_y, kernel).tolist()))}
    acc = float((pred[:, nf:].argmax(1) == test_labels).double().mean())
    return {"r2": r2, "class_acc": acc}, LinearReadout(ridge.weight[:, :nf], ridge.bias[:nf])
