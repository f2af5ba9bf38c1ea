"""What the ssl track measures on a classifier = frozen encoder + readout (seed 001 §4.2-4.3):
clean accuracy; robust accuracy under FGSM, APGD-CE (100 steps), APGD-CE-10 and the ``standard``
cascade at each ε of the dataset's grid; the feature-difference norm ‖f(x_adv) − f(x)‖₂ under
APGD-CE-100 at the headline ε (Tables 2-3). Accuracies are stored as counts with n, so tables
can give binomial intervals.

Colored-MNIST (seed §2.7.1: does contrastive training avoid the colour shortcut?): the readout's
clean accuracy on the hard split, and linear probes (the standard readout's recipe) for digit and
for colour on the encoder's features, fitted on hard-split images of half of the test digits and
scored on the other half, where colour says nothing about the digit. Colour share =
(colour probe − chance) / ((colour probe − chance) + (digit probe − chance)), chance = 1/10.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, Tuple

import torch
import torch.nn as nn

from ..attacks import APGD, FGSM, Cascade, standard_stages
from .readout import ReadoutConfig, features, fit_linear

CHANCE = 0.1


@dataclass(frozen=True)
class EvalConfig:
    n_test: int = 10_000
    eps: Tuple[float, ...] = ()  # empty: the dataset's grid
    headline_only: bool = False  # only the dataset's headline ε (quick profile)
    apgd_steps: int = 100
    apgd_short_steps: int = 10
    n_targets: int = 9  # standard cascade: APGD-T targets
    square_queries: int = 5000
    seed: int = 0


def attack_suite(cfg: EvalConfig, eps: float) -> Dict[str, Any]:
    return {"fgsm": FGSM(eps=eps, seed=cfg.seed),
            "apgd_ce": APGD(eps=eps, steps=cfg.apgd_steps, loss="ce", seed=cfg.seed),
            "apgd_ce10": APGD(eps=eps, steps=cfg.apgd_short_steps, loss="ce", seed=cfg.seed)}


def _correct(clf: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return clf(x).argmax(1) == y


def robustness(clf: nn.Module, x: torch.Tensor, y: torch.Tensor, cfg: EvalConfig, eps_grid, headline_eps: float
               ) -> Dict[str, Any]:
    clean = _correct(clf, x, y)
    out: Dict[str, Any] = {"n": int(len(y)), "clean": int(clean.sum()), "robust": {}}
    for eps in eps_grid:
        row: Dict[str, int] = {}
        for name, attack in attack_suite(cfg, eps).items():
            res = attack(clf, x, y)
            robust = _correct(clf, res.x_adv, y) & clean
            row[name] = int(robust.sum())
            if name == "apgd_ce":
                apgd_robust = robust
                if eps == headline_eps:
                    out["feature_norm"] = feature_difference(clf, x, res, clean)
        # the standard cascade's first stage *is* APGD-CE-100 (same seed and budget): run the rest on its survivors
        rest = Cascade(standard_stages(eps, "linf", cfg.seed, cfg.square_queries, cfg.apgd_steps, cfg.n_targets)[1:])
        rows = apgd_robust.nonzero().squeeze(1)
        row["standard"] = int(rest.evaluate(clf, x[rows], y[rows]).robust.sum()) if rows.numel() else 0
        out["robust"][f"{eps:.6g}"] = row
    return out


def feature_difference(clf: nn.Module, x: torch.Tensor, res, clean: torch.Tensor) -> float:
    """Mean ‖f(x_adv) − f(x)‖₂ over the clean-correct images (those the attack works on), x_adv the
    attack's final point: the misclassifying iterate where it succeeded, else its highest-loss one."""
    rows = clean.nonzero().squeeze(1)
    if rows.numel() == 0:
        return float("nan")
    x_adv = torch.where(res.success.view(-1, 1, 1, 1), res.x_adv, res.x_best)[rows]
    return float((features(clf, x_adv) - features(clf, x[rows])).norm(dim=1).mean())


def shortcut_probe(clf: nn.Module, hard, n_per_half: int, seed: int = 0) -> Dict[str, float]:
    """Colored-MNIST: hard-split accuracy and the digit / colour probes (see the module doc)."""
    gen = torch.Generator().manual_seed(seed)
    halves = []
    for parity in (0, 1):
        idx = (hard.source_index % 2 == parity).nonzero().squeeze(1)
        idx = idx[torch.randperm(len(idx), generator=gen)[:n_per_half]]
        x = hard.images(idx)
        halves.append((features(clf, x), hard.digit[idx], hard.color[idx], x))
    (f_fit, d_fit, c_fit, _), (f_test, d_test, c_test, x_test) = halves
    cfg = ReadoutConfig()
    digit = fit_linear(f_fit, d_fit, 10, cfg, seed)
    colour = fit_linear(f_fit, c_fit, 10, cfg, seed)
    with torch.no_grad():
        acc_d = float((digit(f_test).argmax(1) == d_test).float().mean())
        acc_c = float((colour(f_test).argmax(1) == c_test).float().mean())
        hard_acc = float((clf(x_test).argmax(1) == d_test).float().mean())
    above = max(acc_c - CHANCE, 0.0), max(acc_d - CHANCE, 0.0)
    share = above[0] / sum(above) if sum(above) > 0 else float("nan")
    return {"hard_acc": hard_acc, "hard_n": int(len(d_test)), "digit_probe": acc_d, "colour_probe": acc_c,
            "colour_share": share}
