"""Diagnostics: attribution maps (one registry, ``ATTRIBUTIONS``), localisation and faithfulness
metrics, feature visualisation and the microscope, sparse autoencoders.

Sources: seed 000 §4 (activation maximisation, microscope), §5 (Grad-CAM, background/stroke
ratio), §8 (SAE); seed 003 Q1/Q7; formulas and peer behaviour in research/interpretability.md.
"""
from .attribution import ATTRIBUTIONS, Attribution, attribute, normalise, to_input
from .baselines import BASELINES, baseline_map

__all__ = ["ATTRIBUTIONS", "Attribution", "attribute", "normalise", "to_input", "BASELINES", "baseline_map"]
