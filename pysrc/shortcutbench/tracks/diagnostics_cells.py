"""Cell formatting shared by the diagnostics track's tables (means over seeds, pooled sides)."""
from __future__ import annotations

import math
from typing import Dict, List

import numpy as np

from ..explain.metrics import ratio_text  # noqa: F401  (re-exported for the tables)
from ..results.stats import mean_se


def fmt(values: List[float], digits: int = 3) -> str:
    """``mean ± SE`` over seeds (ddof = 1; no ± with one seed); NaN/None values are skipped."""
    vals = [v for v in values if v is not None and not (isinstance(v, float) and math.isnan(v))]
    if not vals:
        return "–"
    m, se = mean_se(vals)
    return f"{m:.{digits}f}" + (f" ± {se:.{digits}f}" if not math.isnan(se) else "")


def mean(values: List[float]) -> float:
    vals = [v for v in values if v is not None]
    return float(np.mean(vals)) if vals else math.nan


def pooled(entry: Dict[str, float], key: str) -> float:
    """Mean of ``key`` over the aligned and conflicting sides of one attribution entry."""
    vals = [entry.get(f"{key}_{s}") for s in ("aligned", "conflicting")]
    vals = [v for v in vals if v is not None]
    return float(np.mean(vals)) if vals else math.nan

