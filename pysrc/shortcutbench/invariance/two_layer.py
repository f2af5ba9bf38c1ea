"""The two-layer ReLU analysis of seed 004 §4 (the authors' ``MNIST toy example.ipynb``).

For f(x) = W2·ReLU(W1 x + b1) + b2 and a source x_s with active units S, the logits are locally
W2[:, S](W1[S] x + b1[S]) + b2. A step Δ in the null space of M = [W2[:, S]·W1[S]; W1 rows with
|pre-activation| < t] leaves the logits unchanged *as long as no other unit flips*. We project
v = x_t − x_s onto null(M) (the ``nullspace_project`` op, k = rows of M), take the single step,
re-check the activation pattern, and, if units flipped, add them to M and retry (``rounds``), then
report how far the logits and confidences moved and how close the result is to x_t.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Dict, List

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..ops.nullspace_project import nullspace_project
from .distances import l2, one_minus_ssim


class TwoLayerMLP(nn.Module):
    def __init__(self, n_in: int = 784, hidden: int = 500, n_out: int = 10):
        super().__init__()
        self.fc1 = nn.Linear(n_in, hidden)
        self.fc2 = nn.Linear(hidden, n_out)

    def forward(self, x):
        return self.fc2(F.relu(self.fc1(x.flatten(1))))


@dataclass(frozen=True)
class TwoLayerConfig:
    hidden: int = 500  # the authors' 784-500-10 checkpoint
    epochs: int = 10  # they use Adam 1e-3, batch 100, 45 epochs; we train on 5k digits
    lr: float = 1e-3
    batch_size: int = 100
    threshold: float = 0.3  # |pre-activation| below this joins M (the notebook's 0.3)
    rounds: int = 5  # re-projections after activation flips
    seed: int = 0


def train_mlp(x: torch.Tensor, y: torch.Tensor, cfg: TwoLayerConfig = TwoLayerConfig()) -> TwoLayerMLP:
    g = torch.Generator().manual_seed(cfg.seed)
    torch.manual_seed(cfg.seed)
    model = TwoLayerMLP(x[0].numel(), cfg.hidden, int(y.max()) + 1)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    for _ in range(cfg.epochs):
        for idx in torch.randperm(len(x), generator=g).split(cfg.batch_size):
            opt.zero_grad()
            F.cross_entropy(model(x[idx]), y[idx]).backward()
            opt.step()
    return model.eval()


def _constraints(model: TwoLayerMLP, x: torch.Tensor, extra: torch.Tensor, threshold: float) -> torch.Tensor:
    W1, b1, W2 = model.fc1.weight, model.fc1.bias, model.fc2.weight
    pre = W1 @ x + b1
    active = pre > 0
    rows = [W2[:, active] @ W1[active]]
    near = (pre.abs() < threshold) | extra
    rows.append(W1[near])
    return torch.cat(rows)


def null_step(model: TwoLayerMLP, x_s: torch.Tensor, x_t: torch.Tensor, cfg: TwoLayerConfig = TwoLayerConfig()
              ) -> Dict[str, object]:
    """One pair (flat images): the projected single step and what it did."""
    with torch.no_grad():
        xs, xt = x_s.flatten().double(), x_t.flatten().double()
        m = copy.deepcopy(model).double()
        pattern = (m.fc1.weight @ xs + m.fc1.bias) > 0
        extra = torch.zeros_like(pattern)
        for r in range(cfg.rounds + 1):
            M = _constraints(m, xs, extra, cfg.threshold)
            u = nullspace_project((xt - xs)[None], M[None].contiguous(), False, 1e-10)[0]
            x = xs + u
            new_pattern = (m.fc1.weight @ x + m.fc1.bias) > 0
            flipped = new_pattern != pattern
            if not flipped.any():
                break
            extra |= flipped
        z_s, z = m(xs[None])[0], m(x[None])[0]
        p_s, p = torch.softmax(z_s, 0), torch.softmax(z, 0)

        def img(v):
            return v.float().view(1, *x_s.shape) if x_s.dim() == 3 else v.float().view(1, 1, *x_s.shape[-2:])
        return {
            "rows": int(M.shape[0]), "null_dim": int(xs.numel() - torch.linalg.matrix_rank(M).item()),
            "rounds": r, "flipped_units": int(flipped.sum()), "logit_change": float((z - z_s).abs().max()),
            "conf_change": float((p - p_s).abs().max()), "pred_kept": bool(z.argmax() == z_s.argmax()),
            "l2_to_target_before": float(l2(img(xs), img(xt))), "l2_to_target_after": float(l2(img(x), img(xt))),
            "ssim_dist_after": float(one_minus_ssim(img(x), img(xt))), "x": x.float(),
        }


def analyse(model: TwoLayerMLP, xs: torch.Tensor, xt: torch.Tensor, cfg: TwoLayerConfig = TwoLayerConfig()
            ) -> List[Dict[str, object]]:
    return [null_step(model, a, b, cfg) for a, b in zip(xs, xt)]
