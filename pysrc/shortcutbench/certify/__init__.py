"""Certificates for the 2-filter conv + max-pool model: exact LPs, interval bounds, grid
enumeration through lt_extended (not a proof) and PGD on the attack engine; and for any small
feed-forward network: a global ℓ∞ Lipschitz bound and interval bound propagation (interval.py)."""
from .bounds import ibp_margin, ibp_radius, pgd_attack, pgd_run
from .interval import interval_bounds, interval_radius, linf_lipschitz
from .grid import grid_check, grid_counterexample_model
from .lp import LinearView, exact_radius, window_matrix, worst_margin

__all__ = ["LinearView", "exact_radius", "window_matrix", "worst_margin", "ibp_margin", "ibp_radius", "pgd_attack",
           "pgd_run", "grid_check", "grid_counterexample_model", "interval_bounds", "interval_radius", "linf_lipschitz"]
