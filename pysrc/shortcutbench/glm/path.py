"""Elastic-net regularisation path by minibatch SAGA (seed 002 §2.1 and Appendix A).

The path follows Friedman, Hastie & Tibshirani (2010) as the seed does: λ_t = λ_max·ε^{t/(K−1)},
t = 0..K−1 (K = 100, ε = 1e-3 by default), each λ warm-started from the previous solution *and*
the previous SAGA state (the residual table and its averages do not depend on λ). Each λ runs
:func:`shortcutbench.ops.saga_enet` epochs until a stopping rule fires:

- ``"gap"`` (default): the duality gap (:mod:`.objective`) is ≤ ``gap_tol``·D, which certifies
  relative suboptimality (P − P*)/P* ≤ ``gap_tol``;
- ``"step"``: glm-saga's gradient-change rule, ‖Δ(W, b)‖₂ ≤ ``tol`` for one minibatch;
- ``"lookbehind"``: glm-saga's rule, no improvement of the epoch objective by ``tol`` for
  ``lookbehind`` epochs.

What makes it fast beyond the compiled epoch: the table starts at the exact residuals of the
intercept-only model (glm-saga starts at zero, which biases the first λ's epochs); the step size
comes from the minibatch expected smoothness (Gazagnadou, Gower & Salmon 2019, cited by the
seed) instead of a fixed lr; and with the gap rule the sequential strong rule (Tibshirani et
al. 2012) screens out features that stay at zero. Screened features are checked against the KKT
condition |G_jc| ≤ λα at every gap evaluation and re-enter when they violate it, so the
certificate always covers all features.

Standardisation (``standardize=True``): once, on the training rows, to mean 0 and variance 1 with
the 1/n variance (ddof = 0, glmnet's convention; glm-saga's NormalizedRepresentation uses n − 1);
zero-variance features keep scale 1. λ applies to the standardised coefficients (glmnet's
``standardize=True`` semantics); returned weights and bias act on the *raw* features.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field, replace
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import torch

from ..errors import UsageError
from ..ops.saga_enet import saga_enet
from .objective import MIN_ALPHA, Certificate, data_loss, duality_gap, lambda_max, penalty

STOPPING_RULES = ("gap", "step", "lookbehind")


@dataclass(frozen=True)
class PathConfig:
    family: str = "multinomial"
    alpha: float = 0.99  # seed App. A.1 / DebuggableDeepNetworks default
    n_lambdas: int = 100  # K (seed App. A)
    eps: float = 1e-3  # λ_min = ε·λ_max (seed App. A)
    group: bool = False
    batch_size: int = 64
    lr: Optional[float] = None  # None: step_scale / L(B), the minibatch expected smoothness
    step_scale: float = 1.0
    max_epochs: int = 2000  # glm-saga's paper default cap per λ
    stopping: Tuple[str, ...] = ("gap",)
    gap_tol: float = 1e-5  # relative: gap ≤ gap_tol·D certifies (P − P*)/P* ≤ gap_tol
    check_every: int = 1  # epochs between gap evaluations
    tol: float = 1e-4  # glm-saga's absolute tol for the "step" and "lookbehind" rules
    lookbehind: int = 3
    standardize: bool = True
    dtype: str = "float32"  # or "float64" (a string so the config serialises into records)
    screening: bool = True  # strong-rule screening (only with the gap rule, which checks KKT)
    do_zero: bool = False  # glm-saga appends λ = 0 by default; unbounded on separable data
    seed: int = 0
    num_threads: Optional[int] = 1  # minibatch GEMMs are small: threads cost more than they give (measured)
    zero_init_state: bool = False  # glm-saga: table and averages start at 0 (biased first epochs)

    def __post_init__(self):
        if self.family not in ("multinomial", "gaussian"):
            raise UsageError(f"family must be multinomial or gaussian, got {self.family!r}")
        if not 0 <= self.alpha <= 1:
            raise UsageError(f"alpha must lie in [0, 1], got {self.alpha}")
        if self.n_lambdas < 1 or not 0 < self.eps <= 1:
            raise UsageError(f"need n_lambdas >= 1 and 0 < eps <= 1, got {self.n_lambdas}, {self.eps}")
        if self.dtype not in ("float32", "float64"):
            raise UsageError(f"dtype must be float32 or float64, got {self.dtype!r}")
        bad = [r for r in self.stopping if r not in STOPPING_RULES]
        if bad or not self.stopping:
            raise UsageError(f"stopping rules must be a non-empty subset of {STOPPING_RULES}, got {self.stopping}")
        if self.batch_size < 1 or self.max_epochs < 1:
            raise UsageError(f"batch_size and max_epochs must be >= 1, got {self.batch_size}, {self.max_epochs}")


@dataclass
class PathPoint:
    lam: float
    weight: torch.Tensor  # [k, d] on raw features
    bias: torch.Tensor  # [k]
    objective: float  # P_λ on the (standardised) training problem, float64
    gap: float  # duality gap certificate (nan at λ = 0)
    epochs: int
    lr: float
    nnz_per_class: List[int]
    metrics: Dict[str, float]  # loss_tr/acc_tr/loss_val/acc_val/loss_test/acc_test (data loss, no penalty)
    time_s: float
    stopped_by: str
    weight_std: torch.Tensor = field(repr=False, default=None)  # [k, d] on standardised features

    @property
    def nnz(self) -> int:
        return int(sum(self.nnz_per_class))

    @property
    def features_used(self) -> int:
        return int((self.weight != 0).any(0).sum())


@dataclass
class PathResult:
    points: List[PathPoint]
    lambda_max: float
    mean: torch.Tensor
    std: torch.Tensor
    config: PathConfig
    state: Dict[str, torch.Tensor]
    total_time_s: float

    @property
    def lambdas(self) -> List[float]:
        return [p.lam for p in self.points]


def lambda_grid(lam_max: float, n_lambdas: int, eps: float, do_zero: bool = False) -> List[float]:
    """λ_max·ε^{t/(K−1)}, t = 0..K−1, both ends included (seed App. A; glm-saga's logspace)."""
    if n_lambdas == 1:
        lams = [lam_max]
    else:
        lams = [lam_max * eps ** (t / (n_lambdas - 1)) for t in range(n_lambdas)]
    return lams + ([0.0] if do_zero else [])


def standardizer(X: torch.Tensor, standardize: bool) -> Tuple[torch.Tensor, torch.Tensor]:
    d = X.shape[1]
    if not standardize:
        return torch.zeros(d, dtype=torch.float64), torch.ones(d, dtype=torch.float64)
    Xd = X.double()
    mu = Xd.mean(0)
    sd = Xd.std(0, correction=0)
    return mu, torch.where(sd > 0, sd, torch.ones_like(sd))


def smoothness_step(X: torch.Tensor, sample_weight: Optional[torch.Tensor], batch_size: int, family: str,
                    scale: float) -> float:
    """scale / L(B), L(B) = n(B−1)/(B(n−1))·L + (n−B)/(B(n−1))·L_max (GGS19, minibatch expected
    smoothness); per-example curvature ≤ c·(‖x_i‖² + 1) with c = ½ (softmax) or 1 (gaussian)."""
    n = X.shape[0]
    c = 0.5 if family == "multinomial" else 1.0
    Xd = X.double()
    s = torch.ones(n, dtype=torch.float64) if sample_weight is None else sample_weight.double()
    l_max = c * float((s * ((Xd * Xd).sum(1) + 1)).max())
    Xt = torch.cat([Xd, torch.ones(n, 1, dtype=torch.float64)], 1) * s.sqrt()[:, None]
    l_full = c * float(torch.linalg.matrix_norm(Xt, ord=2) ** 2) / n
    B = min(batch_size, n)
    l_b = l_full if n == 1 else (n * (B - 1) / (B * (n - 1)) * l_full + (n - B) / (B * (n - 1)) * l_max)
    return scale / l_b


def _intercept_only(target: torch.Tensor, k: int, family: str, s: torch.Tensor) -> torch.Tensor:
    if family == "multinomial":
        freq = torch.bincount(target, weights=s, minlength=k) / s.sum()
        b = torch.log(torch.clamp(freq, min=1e-300))
        return b - b.mean()
    return (s[:, None] * target).sum(0) / s.sum()


class _Split:
    """Standardised features + targets of one evaluation split."""

    def __init__(self, X, y, mu, sd, dtype):
        self.X = ((torch.as_tensor(X).double() - mu) / sd).to(dtype)
        self.y = torch.as_tensor(y)

    def metrics(self, W, b, family) -> Tuple[float, float]:
        z = self.X @ W.T + b
        loss = data_loss(self.X, self.y, W, b, family)
        if family == "multinomial":
            acc = float((z.argmax(1) == self.y).double().mean())
        else:  # glm-saga reports exact equality for gaussian; R² is more useful but not comparable
            acc = float("nan")
        return loss, acc


def fit_path(X, y, config: PathConfig = PathConfig(), **kwargs) -> PathResult:
    """Fit the path. X [n, d]; y int labels [n] (multinomial) or [n, k] (gaussian); keyword
    arguments: ``sample_weight``; ``val``/``test`` optional (X, y) pairs scored at every λ;
    ``lambdas`` overrides the grid, ``lam_max`` the computed λ_max (both in the standardised
    problem's units); ``state``/``init`` warm-start the table and (standardised) weights, as
    glm-saga's ``state``; ``on_point`` is called with every finished λ."""
    threads = torch.get_num_threads()
    if config.num_threads:
        torch.set_num_threads(config.num_threads)
    try:
        return _fit_path(X, y, config, **kwargs)
    finally:
        torch.set_num_threads(threads)


def _fit_path(X, y, config: PathConfig = PathConfig(), *, sample_weight=None, val=None, test=None,
             lambdas: Optional[Sequence[float]] = None, lam_max: Optional[float] = None, n_classes: Optional[int] = None,
             state: Optional[Dict[str, torch.Tensor]] = None, init: Optional[Tuple[torch.Tensor, torch.Tensor]] = None,
             on_point: Optional[Callable[[PathPoint], None]] = None) -> PathResult:
    cfg = config
    dtype = getattr(torch, cfg.dtype)
    t_start = time.perf_counter()
    X = torch.as_tensor(X)
    if X.dim() != 2 or X.shape[0] == 0:
        raise UsageError(f"X must be a non-empty [n, d] matrix, got shape {tuple(X.shape)}")
    if not torch.isfinite(X).all():
        raise UsageError("X contains NaN or Inf")
    n, d = X.shape
    y = torch.as_tensor(y)
    if cfg.family == "multinomial":
        target = y.long()
        if target.shape != (n,):
            raise UsageError(f"multinomial y must be labels of shape [{n}], got {tuple(y.shape)}")
        k = int(n_classes or int(target.max()) + 1)
        if int(target.min()) < 0:
            raise UsageError("labels must be >= 0")
    else:
        if y.dim() == 1:
            y = y[:, None]
        if y.shape[0] != n:
            raise UsageError(f"gaussian y must have {n} rows, got shape {tuple(y.shape)}")
        target = y.to(dtype)
        k = y.shape[1]
    sw = None
    if sample_weight is not None:
        sw = torch.as_tensor(sample_weight).to(dtype)
        if sw.shape != (n,) or bool((sw < 0).any()):
            raise UsageError(f"sample_weight must be non-negative of shape [{n}], got {tuple(sw.shape)}")
    s64 = torch.ones(n, dtype=torch.float64) if sw is None else sw.double()

    mu, sd = standardizer(X, cfg.standardize)
    Xs = ((X.double() - mu) / sd).to(dtype).contiguous()
    splits = {name: _Split(*pair, mu, sd, dtype) for name, pair in (("val", val), ("test", test)) if pair is not None}

    lmax = lambda_max(Xs, target, k, cfg.alpha, cfg.family, cfg.group, sw) if lam_max is None else float(lam_max)
    lams = list(lambdas) if lambdas is not None else lambda_grid(lmax, cfg.n_lambdas, cfg.eps, cfg.do_zero)
    lr = cfg.lr if cfg.lr is not None else smoothness_step(Xs, sw, cfg.batch_size, cfg.family, cfg.step_scale)

    # Weights and SAGA state (warm-started across λ).
    if init is not None:
        W = init[0].to(dtype).clone()
        b = init[1].to(dtype).clone()
    else:
        W = torch.zeros(k, d, dtype=dtype)
        b = _intercept_only(target if cfg.family == "multinomial" else target.double(), k, cfg.family, s64).to(dtype)
    if state is not None:
        table = state["a_table"].to(dtype).clone()
        w_avg_full = state["w_grad_avg"].to(dtype).clone()
        b_avg = state["b_grad_avg"].to(dtype).clone()
    elif cfg.zero_init_state:
        table = torch.zeros(n, k, dtype=dtype)
        w_avg_full = torch.zeros(k, d, dtype=dtype)
        b_avg = torch.zeros(k, dtype=dtype)
    else:
        from ..ops.saga_enet import residuals

        a, _ = residuals(Xs.double() @ W.double().T + b.double(), target if cfg.family == "multinomial" else target.double(),
                         cfg.family)
        table = (a * s64[:, None]).to(dtype)
        w_avg_full = (table.T @ Xs) / n
        b_avg = table.mean(0)

    use_gap = "gap" in cfg.stopping
    screening = cfg.screening and use_gap
    gen = torch.Generator().manual_seed(cfg.seed)
    points: List[PathPoint] = []
    prev_lam, prev_grad = None, None
    for lam in lams:
        t0 = time.perf_counter()
        can_certify = lam > 0 and (cfg.alpha < 1 or True)
        # ---- screening: sequential strong rule on the previous λ's gradient
        if screening and prev_grad is not None and lam > 0:
            gn = prev_grad.norm(dim=1) if cfg.group else prev_grad.abs().amax(1)
            active = (gn > cfg.alpha * (2 * lam - prev_lam)) | (W != 0).any(0)
        else:
            active = torch.ones(d, dtype=torch.bool)
        cols = active.nonzero()[:, 0]
        Xa, Wa, GWa = _restrict(Xs, W, w_avg_full, table, cols, n, full=bool(active.all()))
        epochs, stopped_by, best, nni, cert = 0, "max_epochs", math.inf, 0, None
        while epochs < cfg.max_epochs:
            order = torch.randperm(n, generator=gen)
            stats = saga_enet(Xa, target, sw if sw is not None else torch.empty(0, dtype=dtype), order, Wa, b, table,
                              GWa, b_avg, lr, lam, cfg.alpha, cfg.batch_size, cfg.family, cfg.group, n,
                              cfg.tol if "step" in cfg.stopping else -1.0)
            epochs += 1
            if "step" in cfg.stopping and stats[2] > 0:
                stopped_by = "step"
                break
            if "lookbehind" in cfg.stopping:
                obj = float(stats[0]) / n + penalty(Wa, lam, cfg.alpha, cfg.group)
                if obj + cfg.tol < best:
                    best, nni = obj, 0
                else:
                    nni += 1
                if nni >= cfg.lookbehind:
                    stopped_by = "lookbehind"
                    break
            if use_gap and can_certify and epochs % cfg.check_every == 0:
                W[:, cols] = Wa
                if not active.all():
                    W[:, ~active] = 0
                cert = duality_gap(Xs, target, W, b, lam, cfg.alpha, cfg.family, cfg.group, sw, active=cols)
                if screening and not active.all():
                    gn = cert.grad.norm(dim=1) if cfg.group else cert.grad.abs().amax(1)
                    viol = (~active) & (gn > lam * cfg.alpha * (1 + 1e-6))
                    if viol.any():
                        w_avg_full[:, cols] = GWa
                        active |= viol
                        cols = active.nonzero()[:, 0]
                        Xa, Wa, GWa = _restrict(Xs, W, w_avg_full, table, cols, n, full=bool(active.all()))
                        cert = None
                        continue
                if cert.gap <= cfg.gap_tol * max(cert.dual, 1e-300):
                    stopped_by = "gap"
                    break
                cert = None
        W[:, cols] = Wa
        if not active.all():
            W[:, ~active] = 0
            w_avg_full[:, cols] = GWa
        else:
            w_avg_full = GWa
        if cert is None and can_certify:
            cert = duality_gap(Xs, target, W, b, lam, cfg.alpha, cfg.family, cfg.group, sw, active=cols)
        prev_lam = lam
        prev_grad = cert.grad if cert is not None else None
        t_solve = time.perf_counter() - t0
        point = _make_point(lam, W, b, mu, sd, Xs, target, sw, cfg, cert, epochs, lr, splits, t_solve, stopped_by)
        points.append(point)
        if on_point is not None:
            on_point(point)
    st = {"a_table": table, "w_grad_avg": w_avg_full, "b_grad_avg": b_avg}
    return PathResult(points, lmax, mu, sd, cfg, st, time.perf_counter() - t_start)


def _restrict(Xs, W, w_avg_full, table, cols, n, full: bool):
    """Active-column copies for the epoch; Ḡ_W restricted to the new columns is recomputed
    exactly from the table (Ḡ_W = Aᵀ X / n), so columns entering late start consistent."""
    if full:
        return Xs, W.clone(), (table.T @ Xs / n).contiguous()
    Xa = Xs[:, cols].contiguous()
    return Xa, W[:, cols].contiguous(), (table.T @ Xa / n).contiguous()


def _make_point(lam, W, b, mu, sd, Xs, target, sw, cfg, cert: Optional[Certificate], epochs, lr, splits, t_solve,
                stopped_by) -> PathPoint:
    t0 = time.perf_counter()
    W_raw = (W.double() / sd).to(W.dtype)
    b_raw = (b.double() - W_raw.double() @ mu).to(W.dtype)
    metrics: Dict[str, float] = {}
    train = _Split.__new__(_Split)
    train.X, train.y = Xs, target
    for name, split in (("tr", train),) + tuple((("val" if k == "val" else "test"), v) for k, v in splits.items()):
        loss, acc = split.metrics(W, b, cfg.family)
        metrics[f"loss_{name}"] = loss
        metrics[f"acc_{name}"] = acc
    loss_tr = data_loss(Xs, target, W, b, cfg.family, sw)
    obj = loss_tr + penalty(W, lam, cfg.alpha, cfg.group)
    gap = cert.gap if cert is not None else float("nan")
    return PathPoint(lam=float(lam), weight=W_raw, bias=b_raw, objective=obj, gap=gap, epochs=epochs, lr=float(lr),
                     nnz_per_class=[int(v) for v in (W != 0).sum(1)], metrics=metrics,
                     time_s=t_solve + (time.perf_counter() - t0), stopped_by=stopped_by, weight_std=W.clone())
