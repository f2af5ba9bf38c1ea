"""Uncertainty over seeds: mean, standard error (sample std with ddof=1, / √n), Student-t 95%
interval, paired differences on shared seeds, binomial standard error per cell."""
from __future__ import annotations

import math
from typing import Dict, Optional, Sequence, Tuple

import numpy as np


def mean_se(values: Sequence[float]) -> Tuple[float, float]:
    x = np.asarray(values, dtype=float)
    if x.size == 0:
        return math.nan, math.nan
    se = float(x.std(ddof=1) / math.sqrt(x.size)) if x.size > 1 else math.nan
    return float(x.mean()), se


def t_interval(values: Sequence[float], level: float = 0.95) -> Tuple[float, float]:
    from scipy import stats

    x = np.asarray(values, dtype=float)
    m, se = mean_se(x)
    if x.size < 2:
        return math.nan, math.nan
    h = float(stats.t.ppf(0.5 + level / 2, df=x.size - 1)) * se
    return m - h, m + h


def paired_difference(a: Dict[int, float], b: Dict[int, float]) -> Tuple[float, float, int]:
    """Mean ± SE of a[s] − b[s] over the seeds both have."""
    shared = sorted(set(a) & set(b))
    d = [a[s] - b[s] for s in shared]
    m, se = mean_se(d)
    return m, se, len(shared)


def binomial_se(p: float, n: int) -> float:
    return math.sqrt(p * (1 - p) / n) if n > 0 else math.nan


def fmt_pct(mean: float, se: Optional[float] = None, digits: int = 1) -> str:
    if mean is None or (isinstance(mean, float) and math.isnan(mean)):
        return "–"
    s = f"{100 * mean:.{digits}f}"
    if se is not None and not math.isnan(se):
        s += f" ± {100 * se:.{digits}f}"
    return s


def wilson_interval(k: int, n: int, level: float = 0.95) -> Tuple[float, float]:
    """Wilson score interval for a proportion k/n (never outside [0, 1])."""
    from scipy import stats

    if n <= 0:
        return math.nan, math.nan
    z = float(stats.norm.ppf(0.5 + level / 2))
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def accuracy_interval(values: Sequence[float], n: int, level: float = 0.95) -> Tuple[float, float, float]:
    """Mean accuracy over seeds with a 95% interval that covers both sources of noise: the wider of
    the Student t interval over seeds and the Wilson interval of the mean on n test samples (the
    seeds share one test set, so one seed alone still gets the test set's interval), in [0, 1]."""
    m, _ = mean_se(values)
    if n <= 0 or math.isnan(m):
        return math.nan, math.nan, math.nan
    lo, hi = wilson_interval(int(round(m * n)), n, level)
    if len(values) >= 2:
        t_lo, t_hi = t_interval(values, level)
        lo, hi = min(lo, t_lo), max(hi, t_hi)
    return m, max(0.0, lo), min(1.0, hi)


def fmt_interval(mean: float, lo: float, hi: float, digits: int = 1) -> str:
    """``"93.1 [91.4, 94.5]"`` in %; ``–`` when there is no estimate."""
    if mean is None or math.isnan(mean):
        return "–"
    return f"{100 * mean:.{digits}f} [{100 * lo:.{digits}f}, {100 * hi:.{digits}f}]"


def clopper_pearson(k: int, n: int, level: float = 0.95) -> Tuple[float, float]:
    """Exact (Clopper–Pearson) interval for a proportion k/n from beta quantiles; 0 / 1 at the ends.
    Small samples (the seed's 7→3 study: 20 images) need it: Wilson is too short there."""
    from scipy import stats

    if n <= 0:
        return math.nan, math.nan
    a = (1 - level) / 2
    lo = 0.0 if k == 0 else float(stats.beta.ppf(a, k, n - k + 1))
    hi = 1.0 if k == n else float(stats.beta.ppf(1 - a, k + 1, n - k))
    return lo, hi


def fisher_exact_p(k1: int, n1: int, k2: int, n2: int) -> float:
    """Two-sided Fisher exact test of k1/n1 against k2/n2 (the 2×2 table of successes and failures)."""
    from scipy import stats

    return float(stats.fisher_exact([[k1, n1 - k1], [k2, n2 - k2]])[1])


def cluster_bootstrap(counts: np.ndarray, per_cluster: int, control: Optional[np.ndarray] = None,
                      n_boot: int = 2000, level: float = 0.95, seed: int = 0) -> Tuple[float, float, float]:
    """Mean accuracy over seeds, and its percentile interval, from ``counts[s, d]`` = correct images
    of test digit d (out of ``per_cluster``) for training seed s. Each resample redraws test
    digits (clusters: a digit's images share its shape) and seeds, so both the finite test set and
    seed variation are in the interval. With ``control`` (same digits, seeds paired by row) the
    statistic is the paired difference mean(counts) − mean(control) on the same resamples."""
    rng = np.random.default_rng(seed)
    counts = np.asarray(counts, dtype=np.float64)
    s, d = counts.shape

    def stat(c: np.ndarray) -> np.ndarray:
        return c.sum(axis=-1) / (per_cluster * c.shape[-1])

    diff = counts if control is None else counts - np.asarray(control, dtype=np.float64)
    point = float(stat(diff).mean())
    digit_w = rng.multinomial(d, np.full(d, 1.0 / d), size=n_boot).astype(np.float64)  # [B, D]
    seed_idx = rng.integers(0, s, size=(n_boot, s))  # [B, S]
    per_seed = diff @ digit_w.T / (per_cluster * d)  # [S, B]
    boots = per_seed[seed_idx, np.arange(n_boot)[:, None]].mean(axis=1)
    lo, hi = np.quantile(boots, [(1 - level) / 2, (1 + level) / 2])
    return point, float(lo), float(hi)
