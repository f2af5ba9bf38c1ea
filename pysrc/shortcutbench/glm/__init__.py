"""Sparse GLMs: the elastic-net path by minibatch SAGA (seed 002 §2.1, App. A) or, for small n,
block coordinate descent (glm/cd.py), one duality-gap certificate for both, the input contract
(glm/inputs.py), a glm-saga 0.1.2 compatible entry point and sparse decision layers (seed 002 §3)."""
from .objective import Certificate, duality_gap, lambda_max, objective, penalty
from .path import PathConfig, PathPoint, PathResult, fit_path, lambda_grid

__all__ = ["Certificate", "PathConfig", "PathPoint", "PathResult", "duality_gap", "fit_path", "lambda_grid",
           "lambda_max", "objective", "penalty"]
