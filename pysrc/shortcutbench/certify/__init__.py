"""Certificates for the 2-filter conv + max-pool model: exact LPs, interval bounds, grid
enumeration through lt_extended (not a proof) and a local PGD."""
from .bounds import ibp_margin, ibp_radius, pgd_attack
from .grid import grid_check, grid_counterexample_model
from .lp import LinearView, exact_radius, window_matrix, worst_margin

__all__ = ["LinearView", "exact_radius", "window_matrix", "worst_margin", "ibp_margin", "ibp_radius", "pgd_attack",
           "grid_check", "grid_counterexample_model"]
