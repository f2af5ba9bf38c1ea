"""Excessive invariance (seed 004): NSPGD, the logit-space initialiser, success distances, the
two-layer null-space analysis, CCAT's transitions and thresholded metrics (attacks: the attack engine;
CCAT's inner training attack: train/ccat.py)."""
from .distances import DISTANCES, distance, ssim
from .nspgd import NSPGDConfig, NSPGDResult, nspgd

__all__ = ["DISTANCES", "distance", "ssim", "NSPGDConfig", "NSPGDResult", "nspgd"]
