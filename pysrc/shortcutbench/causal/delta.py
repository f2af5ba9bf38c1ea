"""Certified and empirical robustness of one task regressor under the δ* task (seed 001 §7.2).

Per sample of the attack set: the margin of the regressed value to the edge of its class's region,
the Lipschitz radius margin/λ (λ: the global ℓ∞ bound), the IBP radius, and their maximum — the
certified radius. Then FGSM, APGD-CE (100 steps) and APGD-CE-10 on the composed classifier
(regressor + fixed head) at every ε of the grid and at the model's global ε_cert = δ*/λ. A
*violation* is an attack success at an ε below the sample's certified radius: it must never happen.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, Sequence

import torch
import torch.nn as nn

from ..attacks import APGD, FGSM
from ..certify.interval import interval_radius, linf_lipschitz
from ..errors import UsageError
from .task import IntervalTask

# name → attack factory(eps, seed); seed 001 §7.3 reports FGSM, APGD (100 steps) and APGD-10
ATTACKS = {
    "fgsm": lambda eps, seed: FGSM(eps=eps, seed=seed),
    "apgd-ce": lambda eps, seed: APGD(eps=eps, seed=seed, steps=100, loss="ce"),
    "apgd-ce-10": lambda eps, seed: APGD(eps=eps, seed=seed, steps=10, loss="ce"),
}


@dataclass(frozen=True)
class DeltaConfig:
    eps_grid: Sequence[float]
    ibp_eps_max: float = 0.25
    ibp_steps: int = 16
    seed: int = 0


def certified_radii(regressor: nn.Sequential, task: IntervalTask, x: torch.Tensor, y: torch.Tensor,
                    cfg: DeltaConfig) -> Dict[str, Any]:
    head = task.head()
    with torch.no_grad():
        f = regressor(x).squeeze(1)
    margin = head.margin(f, y).double()
    try:
        lam = linf_lipschitz(regressor)
    except UsageError:  # a layer without a bound (e.g. a plugged-in ResNet): no certificate
        return {"lambda": None, "margin": margin, "r_lip": torch.zeros_like(margin), "r_ibp": torch.zeros_like(margin)}
    r_lip = margin.clamp_min(0) / lam
    lo_b = head.boundaries.double()

    def inside(lo: torch.Tensor, hi: torch.Tensor) -> torch.Tensor:
        # the output interval stays within class y's region (−∞, b_1), (b_k, b_{k+1}) or (b_{K−1}, ∞)
        lo, hi = lo.squeeze(1).double(), hi.squeeze(1).double()
        left = torch.cat([torch.tensor([-float("inf")], dtype=torch.float64), lo_b])[y]
        right = torch.cat([lo_b, torch.tensor([float("inf")], dtype=torch.float64)])[y]
        return (lo > left) & (hi < right)

    r_ibp = interval_radius(regressor, x, inside, cfg.ibp_eps_max, cfg.ibp_steps)
    return {"lambda": lam, "margin": margin, "r_lip": r_lip, "r_ibp": r_ibp}


def delta_metrics(regressor: nn.Sequential, task: IntervalTask, x: torch.Tensor, y: torch.Tensor,
                  cfg: DeltaConfig) -> Dict[str, Any]:
    cert = certified_radii(regressor, task, x, y, cfg)
    r_cert = torch.maximum(cert["r_lip"], cert["r_ibp"])
    eps_cert = task.delta_star / cert["lambda"] if cert["lambda"] else 0.0
    grid = sorted(set(float(e) for e in cfg.eps_grid) | ({eps_cert} if eps_cert > 0 else set()))
    clf = nn.Sequential(regressor, task.head()).eval()
    robust, violations = {}, {}
    for name, make in ATTACKS.items():
        accs, bad = [], 0
        for eps in grid:
            res = make(eps, cfg.seed)(clf, x, y)
            success = res.success
            # a success must be a real flip inside the ε-box (checked, not assumed)
            with torch.no_grad():
                flipped = clf(res.x_adv).argmax(1) != y
            dist = (res.x_adv - x).abs().flatten(1).amax(1)
            success = success & flipped & (dist <= eps + 1e-6)
            bad += int((success & (r_cert.float() > eps)).sum())
            accs.append(1.0 - float(success.float().mean()))
        robust[name] = accs
        violations[name] = bad
    return {"delta_star": task.delta_star, "lambda": cert["lambda"], "eps_cert": eps_cert, "eps": grid,
            "n": int(y.numel()), "clean_correct": int((cert["margin"] > 0).sum()),
            "clean_acc": float((cert["margin"] > 0).float().mean()), "robust": robust, "violations": violations,
            "r_lip": cert["r_lip"].tolist(), "r_ibp": cert["r_ibp"].tolist(), "margin": cert["margin"].tolist()}

