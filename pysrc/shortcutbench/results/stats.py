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
