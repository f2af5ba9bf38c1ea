"""Elastic-net path by block coordinate descent (multinomial), the solver for small and medium n.

The whole path runs in the compiled op :func:`shortcutbench.ops.enet_cd_path`: each λ runs
sweeps of :func:`shortcutbench.ops.enet_cd` (per class a Newton-type quadratic model solved by
coordinate descent, then an Armijo step: Tseng & Yun 2009; glmnet's partial Newton, Friedman,
Hastie & Tibshirani 2010 §3) on the features kept by the sequential strong rule (Tibshirani et al.
2012), as glmnet does. What differs from glmnet is the stop: the duality-gap certificate of
:mod:`.objective` — the same one the SAGA path uses, computed in the kernel — is evaluated after
the sweeps settle; a screened feature violating its KKT condition (|G_jc| > λα) re-enters, and a
gap above ``gap_tol``·D tightens the sweep tolerance tenfold and continues. So every λ is
certified to relative suboptimality ≤ ``gap_tol`` unless it reaches ``max_epochs`` sweeps, which
flags it (``PathPoint.capped``). Constant columns never enter: their optimal weight is exactly 0
(glm/inputs.py). With ``predict`` each λ starts from the linear extrapolation of the last two
solutions in log λ (the SAGA path's predictor, :func:`.path._predict`).

Which solver a path uses (:func:`choose`): CD when the problem is multinomial without the group
penalty, stops on the gap rule, starts from scratch and has n ≤ ``CD_MAX_N`` rows; SAGA otherwise
(at large n an epoch of SAGA costs about one CD sweep and fewer are needed: measured at n = 5k,
d = 512, k = 10 on the first 40 λ's of the glm_path problems, SAGA 1.5 s / 1.9 s vs CD 2.8 s /
6.3 s). ``on_point`` callbacks of a CD path run after the whole path.
"""
from __future__ import annotations

from typing import Optional, Sequence, Tuple

import torch

from ..errors import UsageError
from ..ops.enet_cd_path import enet_cd_path

CD_MAX_N = 3000  # auto: CD up to this many rows (measured: CD wins at n = 569 and 1797, SAGA at n = 5000)
FIRST_TOL = 1e-3  # the first sweep tolerance, × gap_tol × the previous λ's dual value (measured: 1e-3
# gives fewer certificate checks than 1e-1 or 1e-2 at about the same number of sweeps)
SOLVERS = ("auto", "saga", "cd")


def choose(cfg, n: int, lambdas: Sequence[float], warm: bool) -> str:
    """"cd" or "saga" for this problem (module docstring); ``cfg.solver`` "cd" where CD cannot
    solve the problem is a UsageError."""
    fits = cfg.family == "multinomial" and not cfg.group and tuple(cfg.stopping) == ("gap",) and not warm \
        and all(lam > 0 for lam in lambdas) and cfg.lr is None
    if cfg.solver == "cd" and not fits:
        raise UsageError("solver='cd' needs family='multinomial', group=False, stopping=('gap',), no lr, "
                         "no state/init warm start and lambdas > 0")
    if cfg.solver != "auto":
        return cfg.solver
    return "cd" if fits and n <= CD_MAX_N else "saga"


def cd_path(Xs: torch.Tensor, target: torch.Tensor, sw: Optional[torch.Tensor], k: int, lams: Sequence[float],
            cfg, b0: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(weights [L, k, d], biases [L, k], stats [L, 9]) of the path on the standardised features,
    float64, by the compiled ``enet_cd_path`` (stats as there). Two classes are solved in the
    binomial form (class 0 pinned at 0; research note §3: λ' = λ(1+α)/2, α' = 2α/(1+α)), half the
    work of the symmetric form and without its zig-zag between the two blocks; the returned
    weights are the symmetric two-class solution W = (−v/2, v/2), to which the certificate applies
    (ops/enet_cd.py)."""
    X = Xs.double()
    Xt = X.T.contiguous()
    d = X.shape[1]
    sw_arg = sw.double() if sw is not None else torch.empty(0, dtype=torch.float64)
    varies = (X != X[:1]).any(0)  # constant columns stay at 0
    binomial = k == 2
    W = torch.zeros(k, d, dtype=torch.float64)
    b = b0.double().clone()
    if binomial:
        b = torch.stack([b.new_zeros(()), b[1] - b[0]])
    Ws, bs, stats = enet_cd_path(Xt, target, sw_arg, varies, torch.tensor(list(lams), dtype=torch.float64), W, b,
                                 cfg.alpha, cfg.gap_tol, cfg.max_epochs, FIRST_TOL, 1 if binomial else 0,
                                 cfg.predict, cfg.screening)
    if binomial:
        v, c = Ws[:, 1] - Ws[:, 0], bs[:, 1] - bs[:, 0]
        Ws, bs = torch.stack([-v / 2, v / 2], 1), torch.stack([-c / 2, c / 2], 1)
    return Ws, bs, stats
