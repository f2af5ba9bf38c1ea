"""The δ* task of seed 001 §7.2: a continuous factor cut into classes by intervals with gaps, read
by a fixed (untrained) head on top of a regressor of that factor.

δ* is half the smallest gap — the largest change of the regressed value that the task tolerates
before a value from one class lands in another's decision region — a property of the task alone.
The head splits at the gaps' midpoints (the most robust split, seed Figure 30). If the regressor
is λ-Lipschitz for the threat norm, the classifier cannot be flipped by ‖r‖ < margin/λ, and for a
perfect regressor margin ≥ δ*, so ε < δ*/λ is certified (seed eqs. 20–22).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Tuple

import torch
import torch.nn as nn

from ..errors import UsageError
from ..registry import Registry


@dataclass(frozen=True)
class IntervalTask:
    name: str
    variant: str  # scene variant whose factor is regressed
    factor: str
    intervals: Tuple[Tuple[float, float], ...]  # class k ↔ [lo_k, hi_k], sorted, disjoint, in factor units

    def __post_init__(self) -> None:
        for (a, b), (c, d) in zip(self.intervals, self.intervals[1:]):
            if not (a < b < c < d):
                raise UsageError(f"task {self.name}: intervals must be increasing and separated by gaps, "
                                 f"got {self.intervals}")

    @property
    def num_classes(self) -> int:
        return len(self.intervals)

    @property
    def boundaries(self) -> torch.Tensor:
        """Decision boundaries of the fixed head: the midpoints of the gaps."""
        return torch.tensor([0.5 * (self.intervals[k][1] + self.intervals[k + 1][0])
                             for k in range(self.num_classes - 1)], dtype=torch.float64)

    @property
    def delta_star(self) -> float:
        """Half the smallest gap (seed 001 §7.2)."""
        return 0.5 * min(self.intervals[k + 1][0] - self.intervals[k][1] for k in range(self.num_classes - 1))

    def labels(self, values: torch.Tensor) -> torch.Tensor:
        """Class of each factor value, −1 for values in a gap (such samples are not in the task)."""
        out = torch.full(values.shape, -1, dtype=torch.long)
        for k, (lo, hi) in enumerate(self.intervals):
            out[(values >= lo) & (values <= hi)] = k
        return out

    def head(self) -> "IntervalHead":
        return IntervalHead(self.boundaries)


class IntervalHead(nn.Module):
    """Fixed head: regressed value f → logits whose argmax is the decision region of f.

    z_k = min(f − b_k, b_{k+1} − f) with b_0 = −∞, b_K = +∞ (the signed distance of f into region
    k; positive in exactly one region), times ``scale`` so that cross-entropy attacks see a useful
    slope. ``margin`` is z_y/scale: how far f may move before leaving class y's region."""

    def __init__(self, boundaries: torch.Tensor, scale: float = 10.0):
        super().__init__()
        self.register_buffer("boundaries", boundaries.float())
        self.scale = scale

    def region_distance(self, f: torch.Tensor) -> torch.Tensor:
        f = f.reshape(-1, 1)
        inf = torch.full_like(f, math.inf)
        lo = torch.cat([inf, f - self.boundaries.to(f.dtype)], 1)  # f − b_k (b_0 = −∞)
        hi = torch.cat([self.boundaries.to(f.dtype) - f, inf], 1)  # b_{k+1} − f (b_K = +∞)
        return torch.minimum(lo, hi)

    def forward(self, f: torch.Tensor) -> torch.Tensor:
        return self.scale * self.region_distance(f)

    def margin(self, f: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Signed distance of f to the edge of class y's region (> 0 iff f predicts y)."""
        return self.region_distance(f).gather(1, y.view(-1, 1)).squeeze(1)


TASKS: Registry[IntervalTask] = Registry("causal task")

# Seed 001 §7.3: θ ∈ [−π/2, π/2] cut into [−π/2, −π/4], [−π/8, π/8], [π/4, π/2]: equal lengths, so the
# classes are balanced under a uniform θ; gaps π/8, δ* = π/16.
TASKS.register("theta")(IntervalTask("theta", "light", "theta",
                                     ((-math.pi / 2, -math.pi / 4), (-math.pi / 8, math.pi / 8), (math.pi / 4, math.pi / 2))))
# The distance version, same layout on d ∈ [9, 19] px: near / middle / far, gaps 1.25 px, δ* = 0.625 px.
TASKS.register("distance")(IntervalTask("distance", "distance", "distance",
                                        ((9.0, 11.5), (12.75, 15.25), (16.5, 19.0))))
