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
seed) of the *active* columns instead of a fixed lr; and with the gap rule (i) the sequential
strong rule (Tibshirani et al. 2012) screens out features that stay at zero — screened features
are checked against the KKT condition |G_jc| ≤ λα at every gap evaluation and re-enter when they
violate it, so the certificate always covers all features; (ii) each λ starts from the linear
extrapolation of the last two solutions in log λ, with the table refreshed there; (iii) the
certificate is evaluated when SAGA's observed linear rate predicts the target, not every epoch.

Safeguard (gap rule): SAGA has no monotone objective, and a step beyond its stability limit
(which shrinks as λ falls and more features enter; measured at n = 5k, d = 512: 4/L(B) is stable
down to ~0.01·λ_max, 2/L(B) to ~0.002·λ_max) makes it blow up. The path keeps the last trusted
state (weights, bias, table, averages) with its certified gap; an epoch objective 10% above it,
a non-finite value, an objective above it by more than its certified suboptimality, or two
checks in a row without a smaller gap restore that state and halve the step (for the rest of
the path, at most 10 times).

Solver (``solver="auto"``): small multinomial problems (n ≤ ``cd.CD_MAX_N``) go to block
coordinate descent (:mod:`.cd`), with the same certificate, screening and predictor; everything
below describes the SAGA path. Bad input is refused first (:mod:`.inputs`).

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
from ..ops.saga_enet import residuals, saga_enet
from . import cd, inputs
from .cd import SOLVERS
from .objective import (MIN_ALPHA, Certificate, class_major_logits, data_loss, duality_gap, lambda_max, logits,
                        penalty)

STOPPING_RULES = ("gap", "step", "lookbehind")


@dataclass(frozen=True)
class PathConfig:
    family: str = "multinomial"
    alpha: float = 0.99  # seed App. A.1 / DebuggableDeepNetworks default
    n_lambdas: int = 100  # K (seed App. A)
    eps: float = 1e-3  # λ_min = ε·λ_max (seed App. A)
    group: bool = False
    batch_size: int = 0  # 0: from the data's smoothness ratio (auto_batch_size)
    lr: Optional[float] = None  # None: step_scale / L(B), the minibatch expected smoothness
    step_scale: float = 8.0  # × the smoothness step: the bound is loose; the gap rule's safeguard halves it when too long
    max_epochs: int = 2000  # glm-saga's paper default cap per λ
    stopping: Tuple[str, ...] = ("gap",)
    gap_tol: float = 1e-5  # relative: gap ≤ gap_tol·D certifies (P − P*)/P* ≤ gap_tol
    check_every: int = 0  # epochs between gap evaluations; 0: adaptive (see _CheckSchedule)
    tol: float = 1e-4  # glm-saga's absolute tol for the "step" and "lookbehind" rules
    lookbehind: int = 3
    standardize: bool = True
    dtype: str = "float32"  # or "float64" (a string so the config serialises into records)
    screening: bool = True  # strong-rule screening (only with the gap rule, which checks KKT)
    predict: bool = True  # warm start from the linear extrapolation of the last two λ's (gap rule only)
    do_zero: bool = False  # glm-saga appends λ = 0 by default; unbounded on separable data
    seed: int = 0
    num_threads: Optional[int] = 1  # minibatch GEMMs are small: threads cost more than they give (measured)
    zero_init_state: bool = False  # glm-saga: table and averages start at 0 (biased first epochs)
    solver: str = "auto"  # "saga", "cd" (block coordinate descent, glm/cd.py) or "auto": chosen from the shape

    def __post_init__(self):
        if self.solver not in SOLVERS:
            raise UsageError(f"solver must be one of {SOLVERS}, got {self.solver!r}")
        self._check()

    def _check(self):
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
        if self.batch_size < 0 or self.max_epochs < 1:
            raise UsageError(f"need batch_size >= 0 (0: auto) and max_epochs >= 1, got {self.batch_size}, "
                             f"{self.max_epochs}")


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
    checks: int = 0  # certificate evaluations
    backoffs: int = 0  # step halvings by the divergence safeguard
    solver: str = "saga"  # which solver fitted it; epochs are CD sweeps for "cd"

    @property
    def capped(self) -> bool:
        """True when the λ ran into the epoch (iteration) cap before its stopping rule fired: its
        gap may exceed the target (issue 20: such points are flagged wherever they are shown)."""
        return self.stopped_by == "max_epochs"

    @property
    def converged(self) -> bool:
        return not self.capped

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


def smoothness_constants(X: torch.Tensor, sample_weight: Optional[torch.Tensor], family: str,
                         power_iters: int, v0: Optional[torch.Tensor] = None):
    """(L, L_max, v): the full-batch smoothness c·‖[X 1]‖₂²/n and the largest per-example one
    c·max_i s_i(‖x_i‖² + 1), c = ½ (softmax curvature bound) or 1 (gaussian). ‖[X 1]‖₂² by
    ``power_iters`` power iterations from ``v0`` (a slight underestimate; no SVD of X), with the
    iterate v returned for a warm start."""
    n, d = X.shape
    c = 0.5 if family == "multinomial" else 1.0
    s = torch.ones(n, dtype=torch.float64) if sample_weight is None else sample_weight.double()
    # ‖x_i‖² in float64 by row blocks: no float64 copy of the whole X (1.6 GB at 50k × 2048)
    row_sq = torch.cat([rows.double().square().sum(1) for rows in X.split(4096)])
    l_max = c * float((s * (row_sq + 1)).max())
    v = torch.ones(d + 1, dtype=torch.float64) if v0 is None or v0.numel() != d + 1 else v0.clone()
    sq = 0.0
    for _ in range(power_iters):  # v ← [X 1]ᵀ diag(s) [X 1] v / ‖v‖
        v = v / v.norm()
        u = ((X @ v[:d].to(X.dtype)).double() + v[d]) * s
        v = torch.cat([(X.T @ u.to(X.dtype)).double(), u.sum()[None]])
        sq = float(v.norm())
    return c * sq / n, l_max, v


def smoothness_step(X: torch.Tensor, sample_weight: Optional[torch.Tensor], batch_size: int, family: str,
                    scale: float, power_iters: int, v0: Optional[torch.Tensor] = None):
    """(scale / L(B), v): L(B) = n(B−1)/(B(n−1))·L + (n−B)/(B(n−1))·L_max (GGS19, minibatch
    expected smoothness; :func:`smoothness_constants`), v its power-iteration vector."""
    n = X.shape[0]
    l_full, l_max, vec = smoothness_constants(X, sample_weight, family, power_iters, v0)
    B = min(batch_size, n)
    l_b = l_full if n == 1 else (n * (B - 1) / (B * (n - 1)) * l_full + (n - B) / (B * (n - 1)) * l_max)
    return scale / l_b, vec


def auto_batch_size(X: torch.Tensor, sample_weight: Optional[torch.Tensor], family: str) -> int:
    """B = L_max/L rounded to a power of two in [16, 1024] (and ≤ n): the minibatch at which the
    minibatch smoothness L(B) ≈ L + L_max/B is twice the full-batch L. Smaller B shrinks the step
    ~1/B while it only adds steps; larger B cannot lengthen the step by more than 2× while it
    removes steps (the trade-off of GGS19's optimal minibatch size). Measured on the two glm_path
    benchmark problems (full 100-λ path, CPU s, B = 32/64/128/256): synthetic (L_max/L ≈ 195)
    –/19.4/16.0/15.3, rule → 256; digits features (L_max/L ≈ 53) 17.9/18.2/22.0/41.2, rule → 64."""
    l_full, l_max, _ = smoothness_constants(X, sample_weight, family, power_iters=30)
    b = l_max / max(l_full, 1e-300)
    return int(min(X.shape[0], 2 ** min(10, max(4, round(math.log2(b))))))


def _intercept_only(target: torch.Tensor, k: int, family: str, s: torch.Tensor) -> torch.Tensor:
    if family == "multinomial":
        freq = torch.bincount(target, weights=s, minlength=k) / s.sum()
        b = torch.log(torch.clamp(freq, min=1e-300))  # an absent class: ≈ −690, exp underflows to 0
        return b - b[freq > 0].mean()
    return (s[:, None] * target).sum(0) / s.sum()


class _Split:
    """Standardised features + targets of one evaluation split."""

    def __init__(self, X, y, mu, sd, dtype):
        self.X = ((torch.as_tensor(X).double() - mu) / sd).to(dtype)
        self.y = torch.as_tensor(y)

    def metrics(self, W, b, family) -> Tuple[float, float]:
        z = logits(self.X, W, b)
        t = self.y if family == "multinomial" else self.y.double()
        _, loss = residuals(z, t, family)
        return float(loss.mean()), _accuracy(z, self.y, family)


def _accuracy(z: torch.Tensor, y: torch.Tensor, family: str) -> float:
    if family == "multinomial":
        return float((z.argmax(1) == y).double().mean())
    return float("nan")  # glm-saga reports exact equality for gaussian; R² is more useful but not comparable


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


@dataclass
class _Problem:
    """The standardised training problem of one path, with its evaluation splits and λ's."""
    Xs: torch.Tensor  # [n, d] standardised, in the config's dtype
    target: torch.Tensor  # labels [n] (multinomial) or targets [n, k] (gaussian)
    k: int
    sw: Optional[torch.Tensor]  # sample weights in the config's dtype, or None
    s64: torch.Tensor  # sample weights in float64 (ones when none)
    mu: torch.Tensor
    sd: torch.Tensor
    splits: Dict[str, "_Split"]
    lmax: float
    lams: List[float]

    @property
    def n(self) -> int:
        return self.Xs.shape[0]

    @property
    def d(self) -> int:
        return self.Xs.shape[1]


def _problem(X, y, cfg: PathConfig, sample_weight, val, test, lambdas, lam_max, n_classes) -> _Problem:
    """Checked inputs (:mod:`.inputs`), the standardisation, λ_max and the λ grid."""
    dtype = getattr(torch, cfg.dtype)
    X = inputs.features(X)
    n, d = X.shape
    if cfg.family == "multinomial":
        target, k = inputs.labels(y, n, n_classes)
    else:
        target = inputs.targets(y, n).to(dtype)
        k = target.shape[1]
    sw = inputs.sample_weights(sample_weight, n)
    sw = None if sw is None else sw.to(dtype)
    val, test = (None if pair is None else inputs.split(pair, d, cfg.family, k, name)
                 for pair, name in ((val, "val"), (test, "test")))
    s64 = torch.ones(n, dtype=torch.float64) if sw is None else sw.double()

    mu, sd = standardizer(X, cfg.standardize)
    Xs = ((X.double() - mu) / sd).to(dtype).contiguous()
    splits = {name: _Split(*pair, mu, sd, dtype) for name, pair in (("val", val), ("test", test)) if pair is not None}

    lmax = lambda_max(Xs, target, k, cfg.alpha, cfg.family, cfg.group, sw) if lam_max is None \
        else inputs.lambda_scale(lam_max)
    if not lmax > 0:  # every column constant (or uncorrelated with y): W = 0 at every λ
        raise UsageError("lambda_max is 0: no feature column varies with the labels (all constant?)")
    lams = inputs.lambda_path(lambdas if lambdas is not None else lambda_grid(lmax, cfg.n_lambdas, cfg.eps, cfg.do_zero))
    return _Problem(Xs, target, k, sw, s64, mu, sd, splits, lmax, lams)


def _fit_path(X, y, config: PathConfig = PathConfig(), *, sample_weight=None, val=None, test=None,
              lambdas: Optional[Sequence[float]] = None, lam_max: Optional[float] = None,
              n_classes: Optional[int] = None, state: Optional[Dict[str, torch.Tensor]] = None,
              init: Optional[Tuple[torch.Tensor, torch.Tensor]] = None,
              on_point: Optional[Callable[[PathPoint], None]] = None) -> PathResult:
    cfg = config
    t_start = time.perf_counter()
    p = _problem(X, y, cfg, sample_weight, val, test, lambdas, lam_max, n_classes)
    if cd.choose(cfg, p.n, p.lams, warm=state is not None or init is not None) == "cd":
        points, table, b_avg = _fit_cd(p, cfg, on_point)
    else:
        saga = _SagaPath(p, cfg, state, init)
        points = [saga.solve(lam, on_point) for lam in p.lams]
        table, b_avg = saga.table, saga.b_avg
    st = {"a_table": table, "w_grad_avg": table.T @ p.Xs / p.n, "b_grad_avg": b_avg}  # Ḡ_W consistent with the table
    return PathResult(points, p.lmax, p.mu, p.sd, cfg, st, time.perf_counter() - t_start)


def _fit_cd(p: _Problem, cfg: PathConfig, on_point) -> Tuple[List[PathPoint], torch.Tensor, torch.Tensor]:
    """The whole path by block coordinate descent (glm/cd.py); on_point is called once it is done.
    Returns the points and the SAGA table (and its mean) at the last λ's solution."""
    b0 = _intercept_only(p.target, p.k, cfg.family, p.s64)
    Ws, bs, stats = cd.cd_path(p.Xs, p.target, p.sw, p.k, p.lams, cfg, b0)
    points = _cd_points(p.lams, Ws, bs, stats, p.mu, p.sd, p.Xs, p.target, p.sw, cfg, p.splits)
    if on_point is not None:
        for point in points:
            on_point(point)
    dtype = p.Xs.dtype
    table, b_avg, _ = _exact_table(p.Xs, Ws[-1].to(dtype), bs[-1].to(dtype), p.target, cfg.family, p.s64)
    return points, table, b_avg


def _grad_norms(grad: torch.Tensor, group: bool) -> torch.Tensor:
    """Per-feature norm of the gradient [k, d] that the penalty's KKT condition bounds by λα:
    ℓ2 over classes for the group penalty, else the largest class entry."""
    return grad.norm(dim=1) if group else grad.abs().amax(1)


@dataclass
class _Lambda:
    """One λ's solve in progress: the active columns and their SAGA state, the step, the safeguard's
    trusted state, and the counters a PathPoint reports."""
    lam: float
    active: torch.Tensor  # [d] bool
    cols: torch.Tensor
    Xa: torch.Tensor
    st: "_SagaState"
    lr: float
    good: "_Good" = None
    epochs: int = 0
    checks: int = 0
    backoffs: int = 0
    strikes: int = 0  # certificate checks in a row without a smaller gap
    stopped_by: str = "max_epochs"
    best: float = math.inf  # the lookbehind rule's best epoch objective
    nni: int = 0  # epochs since it improved
    cert: Optional[Certificate] = None


class _SagaPath:
    """The SAGA path, one λ per :meth:`solve` call; weights, table and averages are warm-started
    across λ's (module docstring), and so are the safeguard's step multiplier and the schedule."""

    def __init__(self, p: _Problem, cfg: PathConfig, state, init):
        self.p, self.cfg = p, cfg
        dtype = p.Xs.dtype
        self.batch = cfg.batch_size or auto_batch_size(p.Xs, p.sw, cfg.family)
        self.step = _ActiveStep(p.Xs, p.sw, cfg, self.batch)
        target64 = p.target if cfg.family == "multinomial" else p.target.double()
        if init is not None:
            self.W, self.b = init[0].to(dtype).clone(), init[1].to(dtype).clone()
        else:
            self.W = torch.zeros(p.k, p.d, dtype=dtype)
            self.b = _intercept_only(target64, p.k, cfg.family, p.s64).to(dtype)
        if state is not None:
            self.table = state["a_table"].to(dtype).clone()  # Ḡ_W is always recomputed from the table (_restrict)
            self.b_avg = state["b_grad_avg"].to(dtype).clone()
        elif cfg.zero_init_state:
            self.table, self.b_avg = torch.zeros(p.n, p.k, dtype=dtype), torch.zeros(p.k, dtype=dtype)
        else:
            self.table, self.b_avg, _ = _exact_table(p.Xs, self.W, self.b, p.target, cfg.family, p.s64)
        self.use_gap = "gap" in cfg.stopping
        self.screening = cfg.screening and self.use_gap
        self.gen = torch.Generator().manual_seed(cfg.seed)
        self.sw_arg = p.sw if p.sw is not None else torch.empty(0, dtype=dtype)
        self.step_tol = cfg.tol if "step" in cfg.stopping else -1.0
        self.shrink = 1.0  # the safeguard's step multiplier (halved on each backoff)
        b_null = _intercept_only(target64, p.k, cfg.family, p.s64)
        # the W = 0 fit: the loss scale
        self.null_loss = data_loss(p.Xs[:, :0], p.target, self.W[:, :0], b_null, cfg.family, p.sw)
        self.prev_lam, self.prev_grad, self.prev_cert = None, None, None
        self.sched = _CheckSchedule(cfg.check_every)
        self.before = None  # (λ, W, b) of the λ before the previous one, for the predictor

    def solve(self, lam: float, on_point) -> PathPoint:
        """Epochs at ``lam`` until a stopping rule fires (or the cap), then the λ's PathPoint."""
        p, cfg = self.p, self.cfg
        t0 = time.perf_counter()
        start_loss = self._warm_start(lam)
        active = self._screen(lam)
        r = _Lambda(lam, active, *self._restrict(active, self.b, self.table, self.b_avg))
        # the safeguard's reference point: the warm start, valued at the new λ
        if start_loss is None:
            start_loss = data_loss(p.Xs, p.target, self.W, self.b, cfg.family, p.sw)
        r.good = _Good(r.st.snapshot(), start_loss + penalty(self.W, lam, cfg.alpha, cfg.group), math.inf, None, 0)
        self.sched.start_lambda()
        self._epochs(r)
        if r.stopped_by != "gap" and lam > 0:
            self._final_certificate(r)
        _scatter(self.W, r.st.W, r.cols, r.active)
        self.b, self.table, self.b_avg = r.st.b, r.st.table, r.st.gb
        self.sched.end_lambda(r.epochs)
        self.prev_lam, self.prev_cert = lam, r.cert
        self.prev_grad = r.cert.grad if r.cert is not None else None
        t_solve = time.perf_counter() - t0
        point = _make_point(lam, self.W, self.b, p.mu, p.sd, p.Xs, p.target, p.sw, cfg, r.cert, r.epochs, r.lr,
                            p.splits, t_solve, r.stopped_by, r.checks, r.backoffs)
        if on_point is not None:
            on_point(point)
        return point

    def _warm_start(self, lam: float) -> Optional[float]:
        """Start from the predictor (gap rule) or the previous solution; the data loss there when
        it is known (else None)."""
        start_loss = self.prev_cert.data_loss if self.prev_cert is not None else None
        pred = _predict(self.before, self.prev_lam, self.W, self.b, lam) if self.cfg.predict and self.use_gap else None
        if pred is not None:
            self.before = (self.prev_lam, self.W.clone(), self.b.clone())
            self.W, self.b = pred
            self.table, self.b_avg, start_loss = _exact_table(self.p.Xs, self.W, self.b, self.p.target,
                                                              self.cfg.family, self.p.s64)
        elif self.prev_lam is not None:
            self.before = (self.prev_lam, self.W.clone(), self.b.clone())
        return start_loss

    def _screen(self, lam: float) -> torch.Tensor:
        """Active features: the sequential strong rule on the previous λ's gradient, or all."""
        if self.screening and self.prev_grad is not None and lam > 0:
            gn = _grad_norms(self.prev_grad, self.cfg.group)
            return (gn > self.cfg.alpha * (2 * lam - self.prev_lam)) | (self.W != 0).any(0)
        return torch.ones(self.p.d, dtype=torch.bool)

    def _restrict(self, active: torch.Tensor, b, table, b_avg):
        """(cols, Xa, state, step) for the active columns: the epoch's copies and its step size."""
        cols = active.nonzero()[:, 0]
        Xa, st = _restrict(self.p.Xs, self.W, b, table, b_avg, cols, self.p.n, full=bool(active.all()))
        self.sched.costs(len(cols), self.p.d)
        return cols, Xa, st, self.shrink * self.step(Xa, cols)

    def _certify(self, r: _Lambda) -> Certificate:
        """The active block into W, then the certificate at (W, b) for this λ."""
        p, cfg = self.p, self.cfg
        _scatter(self.W, r.st.W, r.cols, r.active)
        return duality_gap(p.Xs, p.target, self.W, r.st.b, r.lam, cfg.alpha, cfg.family, cfg.group, p.sw,
                           zt=class_major_logits(r.Xa, r.st.W))

    def _back_off(self, r: _Lambda) -> None:
        """The step is too long for this λ: back to the last trusted state with half the step."""
        r.lr, self.shrink, r.backoffs = r.lr / 2, self.shrink / 2, r.backoffs + 1
        r.st.restore(r.good.state)
        self.sched.restart(r.epochs)

    def _epochs(self, r: _Lambda) -> None:
        p, cfg = self.p, self.cfg
        can_certify = r.lam > 0
        while r.epochs < cfg.max_epochs:
            order = torch.randperm(p.n, generator=self.gen)
            stats = saga_enet(r.Xa, p.target, self.sw_arg, order, *r.st.tensors(), r.lr, r.lam, cfg.alpha,
                              self.batch, cfg.family, cfg.group, p.n, self.step_tol)
            r.epochs += 1
            if "step" in cfg.stopping and stats[2] > 0:
                r.stopped_by = "step"
                return
            epoch_obj = float(stats[0]) / p.n + penalty(r.st.W, r.lam, cfg.alpha, cfg.group)
            if self.use_gap and can_certify and self.shrink > MIN_SHRINK and _diverging(epoch_obj, r.good.primal,
                                                                                          self.null_loss):
                self._back_off(r)
                continue
            if "lookbehind" in cfg.stopping:
                r.best, r.nni = (epoch_obj, 0) if epoch_obj + cfg.tol < r.best else (r.best, r.nni + 1)
                if r.nni >= cfg.lookbehind:
                    r.stopped_by = "lookbehind"
                    return
            if self.use_gap and can_certify and self.sched.due(r.epochs) and self._check(r):
                r.stopped_by = "gap"
                return

    def _check(self, r: _Lambda) -> bool:
        """A certificate evaluation: True when the gap reached the target. Screened features that
        violate KKT re-enter; the safeguard backs off on an objective that got worse or stalled."""
        cfg = self.cfg
        cert = r.cert = self._certify(r)
        r.checks += 1
        if self.screening and not r.active.all():
            viol = (~r.active) & (_grad_norms(cert.grad, cfg.group) > r.lam * cfg.alpha * (1 + 1e-6))
            if viol.any():
                r.active |= viol
                r.cols, r.Xa, r.st, r.lr = self._restrict(r.active, r.st.b, r.st.table, r.st.gb)
                r.good = _Good(r.st.snapshot(), cert.primal, cert.gap, cert, r.epochs)
                r.strikes = 0  # a stall before the re-entry says nothing about the new problem
                self.sched.restart(r.epochs)
                r.cert = None
                return False
        target_gap = cfg.gap_tol * max(cert.dual, 1e-300)
        if cert.gap <= target_gap:
            return True
        verdict = _progress(cert, r.good)
        r.strikes = r.strikes + 1 if verdict == "stalled" else 0
        if self.shrink > MIN_SHRINK and (verdict == "worse" or r.strikes >= 2):
            self._back_off(r)
            r.strikes = 0
            return False
        if verdict == "progress":
            r.good = _Good(r.st.snapshot(), cert.primal, cert.gap, cert, r.epochs)
        self.sched.observe(r.epochs, cert.gap, target_gap)
        return False

    def _final_certificate(self, r: _Lambda) -> None:
        """After a stop other than the gap rule: certify, never keeping a state worse than the
        best certified one; a capped λ whose last epoch reached the target counts as certified."""
        r.cert = self._certify(r)
        if r.good.cert is not None and not r.cert.gap <= r.good.cert.gap:  # NaN included
            r.st.restore(r.good.state)
            r.cert = r.good.cert
        elif not math.isfinite(r.cert.gap):  # nothing certified at this λ: back to its warm start
            r.st.restore(r.good.state)
            r.cert = self._certify(r)
        if self.use_gap and r.stopped_by == "max_epochs" and r.cert.gap <= self.cfg.gap_tol * max(r.cert.dual, 1e-300):
            r.stopped_by = "gap"  # the cap's last epoch reached the target: certified, not capped


def _exact_table(Xs, W, b, target, family, s64) -> Tuple[torch.Tensor, torch.Tensor, float]:
    """SAGA table at the exact residuals of (W, b), its mean (Ḡ_b) and the data loss there."""
    a, loss = residuals(logits(Xs, W, b), target if family == "multinomial" else target.double(), family)
    table = (a * s64[:, None]).to(W.dtype)
    return table, table.mean(0), float((s64 * loss).sum()) / Xs.shape[0]


def _predict(before, prev_lam, W, b, lam):
    """First-order predictor along the path: (W, b) extrapolated linearly in log λ from the last
    two solutions (the path is piecewise smooth in log λ; measured at n = 5k, d = 512 it cuts the
    warm start's suboptimality 10-20x). Weights that would change sign or leave zero stay zero,
    so the support only shrinks; the prox lets features enter."""
    if before is None or prev_lam is None or not lam > 0:
        return None
    lam0, W0, b0 = before
    if not (lam0 > prev_lam > lam):
        return None
    r = math.log(prev_lam / lam) / math.log(lam0 / prev_lam)
    if not 0 < r <= 2:
        return None
    Wp = W + r * (W - W0)
    Wp = torch.where((W != 0) & (torch.sign(Wp) == torch.sign(W)), Wp, torch.zeros_like(Wp))
    return Wp, b + r * (b - b0)


MIN_SHRINK = 2.0 ** -10  # the safeguard halves the step at most 10 times per path


class _ActiveStep:
    """The SAGA step for the active columns: ``cfg.lr`` when given, else step_scale / L(B) of the
    active columns (their row norms and spectral norm are far below the full matrix's while few
    features are active, so high λ's take much longer steps). The spectral norm comes from a
    few power iterations warm-started from the previous active set's vector; it is refreshed when
    the number of active columns moved by more than 5%."""

    def __init__(self, Xs, sw, cfg: PathConfig, batch: int):
        self.sw, self.cfg, self.batch, self.cols, self.value = sw, cfg, batch, None, cfg.lr
        self.vec = torch.ones(Xs.shape[1] + 1, dtype=torch.float64)

    def __call__(self, Xa: torch.Tensor, cols: torch.Tensor) -> float:
        if self.cfg.lr is not None:
            return self.cfg.lr
        # the step varies slowly with the active set: refresh it when that grew or shrank by > 5%
        if self.cols is None or abs(len(cols) - len(self.cols)) > 0.05 * len(self.cols):
            cfg = self.cfg
            v0 = torch.cat([self.vec[cols], self.vec[-1:]])
            self.value, v = smoothness_step(Xa, self.sw, self.batch, cfg.family, cfg.step_scale, power_iters=15,
                                            v0=v0)
            v = v / v.norm()
            self.vec[cols], self.vec[-1] = v[:-1], v[-1]
            self.cols = cols
        return self.value


@dataclass
class _SagaState:
    """What an epoch updates in place; W and Ḡ_W restricted to the active columns."""
    W: torch.Tensor
    b: torch.Tensor
    table: torch.Tensor
    gw: torch.Tensor
    gb: torch.Tensor

    def tensors(self):
        return self.W, self.b, self.table, self.gw, self.gb

    def snapshot(self) -> "_SagaState":
        return _SagaState(*(t.clone() for t in self.tensors()))

    def restore(self, snap: "_SagaState") -> None:
        for t, saved in zip(self.tensors(), snap.tensors()):
            t.copy_(saved)


@dataclass
class _Good:
    """The last state the safeguard trusts: its objective, its certified gap (inf before the
    first check of a λ), the certificate and the epoch it was taken at."""
    state: _SagaState
    primal: float
    gap: float
    cert: Optional[Certificate]
    epochs: int


def _diverging(epoch_obj: float, good_primal: float, null_loss: float) -> bool:
    """The epoch's running objective (losses at the iterates it visited) far above the trusted
    objective: a step past SAGA's stability limit blows up geometrically, so 10% is no noise."""
    return not math.isfinite(epoch_obj) or epoch_obj > good_primal + 0.1 * abs(good_primal) + 1e-3 * null_loss


def _progress(cert: Certificate, good: _Good) -> str:
    """"worse": non-finite, or an objective above the trusted one by more than its certified
    suboptimality (0.1% before the first check of a λ), which a converging SAGA cannot reach;
    "stalled": the certified gap did not decrease since the trusted state (near the target the
    gap of a converging SAGA still jitters, so the path backs off on the second stall in a row);
    "progress" otherwise."""
    if not (math.isfinite(cert.gap) and math.isfinite(cert.primal)):
        return "worse"
    if cert.primal > good.primal + min(good.gap, 1e-3 * abs(good.primal)):
        return "worse"
    return "stalled" if cert.gap >= good.gap else "progress"


class _CheckSchedule:
    """Epochs at which the certificate is evaluated. ``every`` > 0: every that many epochs.
    0 (adaptive): SAGA converges linearly, so the gap falls by a roughly constant factor per
    epoch; from the last two checks (or the previous λ's rate) the epoch where it reaches the
    target is extrapolated. The first check of a λ comes at 3/4 of the epochs the previous λ
    needed (neighbouring λ's cost about the same); an interval never exceeds half the epochs
    run so far (a bad prediction overshoots by at most 50%) nor undercuts the cost of a check
    in epochs. A λ then costs two or three checks instead of one per epoch."""

    def __init__(self, every: int):
        self.every, self.prev_epochs, self.rate = every, 0, None
        self.check_in_epochs = 1.0
        self.start_lambda()

    def start_lambda(self) -> None:
        self.hist, self.base = [], 0
        self.next = max(1, int(0.75 * self.prev_epochs))

    def restart(self, epochs: int) -> None:
        """After the safeguard restored an earlier state: forget this λ's history."""
        self.hist, self.base = [], epochs
        self.next = epochs + 2

    def costs(self, d_active: int, d: int) -> None:
        """Cost of a check in epochs, from multiply-adds (deterministic, unlike timings): an epoch
        is two passes over the active columns, a check one over them and one over all columns,
        plus ~30 per-example float64 operations per class (softmax, Newton on the bias)."""
        self.check_in_epochs = (d_active + d + 30) / (2 * d_active + 10)

    def due(self, epochs: int) -> bool:
        return epochs % self.every == 0 if self.every > 0 else epochs >= self.next

    def observe(self, epochs: int, gap: float, target: float) -> None:
        self.hist.append((epochs, gap))
        if len(self.hist) >= 2:
            (e0, g0), (e1, g1) = self.hist[-2:]
            self.rate = math.log(g0 / g1) / (e1 - e0) if g0 > g1 > 0 else None
        cap = max(1, (epochs - self.base) // 2, round(self.check_in_epochs))
        need = min(math.log(gap / target) / self.rate, cap) if self.rate else cap
        self.next = epochs + max(1, math.ceil(need))

    def end_lambda(self, epochs: int) -> None:
        self.prev_epochs = epochs - self.base


def _scatter(W: torch.Tensor, Wa: torch.Tensor, cols: torch.Tensor, active: torch.Tensor) -> None:
    W[:, cols] = Wa
    if not active.all():
        W[:, ~active] = 0


def _restrict(Xs, W, b, table, b_avg, cols, n, full: bool) -> Tuple[torch.Tensor, _SagaState]:
    """Active-column copies for the epoch; Ḡ_W restricted to the new columns is recomputed
    exactly from the table (Ḡ_W = Aᵀ X / n), so columns entering late start consistent."""
    Xa = Xs if full else Xs[:, cols].contiguous()
    Wa = W.clone() if full else W[:, cols].contiguous()
    return Xa, _SagaState(Wa, b, table, (table.T @ Xa / n).contiguous(), b_avg)


def _make_point(lam, W, b, mu, sd, Xs, target, sw, cfg, cert: Optional[Certificate], epochs, lr, splits, t_solve,
                stopped_by, checks=0, backoffs=0) -> PathPoint:
    t0 = time.perf_counter()
    W_raw, b_raw = _to_raw(W, b, mu, sd)
    if cert is not None and sw is None:  # the certificate has the train logits
        metrics = {"loss_tr": cert.data_loss, "acc_tr": _accuracy(cert.logits, target, cfg.family)}
    else:
        metrics = _split_metrics({"tr": _train_split(Xs, target)}, W, b, cfg.family)
    metrics.update(_split_metrics(splits, W, b, cfg.family))
    if cert is not None:
        obj, gap = cert.primal, cert.gap
    else:
        obj, gap = data_loss(Xs, target, W, b, cfg.family, sw) + penalty(W, lam, cfg.alpha, cfg.group), float("nan")
    return PathPoint(lam=float(lam), weight=W_raw, bias=b_raw, objective=obj, gap=gap, epochs=epochs, lr=float(lr),
                     nnz_per_class=[int(v) for v in (W != 0).sum(1)], metrics=metrics,
                     time_s=t_solve + (time.perf_counter() - t0), stopped_by=stopped_by, weight_std=W.clone(),
                     checks=checks, backoffs=backoffs)


def _cd_points(lams, Ws, bs, stats, mu, sd, Xs, target, sw, cfg, splits) -> List[PathPoint]:
    """Points of a CD path (glm/cd.py): weights [L, k, d] and biases [L, k] on the standardised
    features (float64), stats [L, 9] of ``enet_cd_path``; all λ's converted at once."""
    dtype = Xs.dtype
    W_std, b_std = Ws.to(dtype), bs.to(dtype)
    W_raw, b_raw = _to_raw(W_std, b_std, mu, sd)
    nnz = (Ws != 0).sum(2).tolist()
    points = []
    # unbind: one call for the 100 per-λ views (indexing them one by one costs more than the path's
    # Python side at n = 569)
    for lam, row, Wr, br, Wt, bt, nz in zip(lams, stats.tolist(), W_raw.unbind(0), b_raw.unbind(0), W_std.unbind(0),
                                            b_std.unbind(0), nnz):
        sweeps, checks, converged, primal, dual, gap, loss, acc, seconds = row
        if sw is None:  # the kernel's certificate has the train loss and accuracy
            metrics = {"loss_tr": loss, "acc_tr": acc}
        else:
            metrics = _split_metrics({"tr": _train_split(Xs, target)}, Wt, bt, cfg.family)
        if splits:
            metrics.update(_split_metrics(splits, Wt, bt, cfg.family))
        points.append(PathPoint(lam=float(lam), weight=Wr, bias=br, objective=primal, gap=gap,
                                epochs=int(sweeps), lr=math.nan, nnz_per_class=nz, metrics=metrics, time_s=seconds,
                                stopped_by="gap" if converged else "max_epochs", weight_std=Wt,
                                checks=int(checks), solver="cd"))
    return points


def _to_raw(W: torch.Tensor, b: torch.Tensor, mu: torch.Tensor, sd: torch.Tensor):
    """Weights and bias ([..., k, d], [..., k]) on standardised features → on raw features."""
    W_raw = (W.double() / sd).to(W.dtype)
    return W_raw, (b.double() - W_raw.double() @ mu).to(W.dtype)


def _train_split(Xs, target) -> _Split:
    train = _Split.__new__(_Split)
    train.X, train.y = Xs, target
    return train


def _split_metrics(splits: Dict[str, _Split], W, b, family) -> Dict[str, float]:
    metrics: Dict[str, float] = {}
    for name, split in splits.items():
        metrics[f"loss_{name}"], metrics[f"acc_{name}"] = split.metrics(W, b, family)
    return metrics
