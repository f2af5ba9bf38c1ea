"""Model-parameter randomisation check (Adebayo et al. 2018, arXiv 1810.03292, cascading).

Layers with parameters are re-initialised from the top (the head) down, cumulatively, each with
its own ``reset_parameters()`` under a fixed seed (as Quantus MPRT, ``top_down``); after every
stage the maps are recomputed for the *same* target classes and compared with the trained
model's maps by per-image Spearman rank correlation. A map that depends on the model should
decorrelate; one that does not (an edge detector in disguise) stays high. The model-free maps
are compared with the same trained-model maps, so every stage has a "no model" reference.
"""
from __future__ import annotations

import copy
from typing import Callable, Dict, List

import numpy as np
import torch
import torch.nn as nn

from .baselines import BASELINES
from .metrics import spearman

MapFn = Callable[[nn.Module, torch.Tensor, torch.Tensor], torch.Tensor]  # (model, x, target) → [B, H, W]


def parametrised_layers(model: nn.Module) -> List[str]:
    """Names of modules that own parameters and can reset them, input → output order."""
    return [n for n, m in model.named_modules()
            if n and hasattr(m, "reset_parameters") and any(True for _ in m.parameters(recurse=False))]


def cascading_randomisation(model: nn.Module, x: torch.Tensor, target: torch.Tensor, explain: MapFn,
                            seed: int = 0) -> Dict[str, object]:
    """{"stages": ["fc", "fc+conv3", …], "spearman": [mean ρ per stage], "baselines": {name: mean ρ}}."""
    original = explain(model, x, target)
    randomised = copy.deepcopy(model).eval()
    modules = dict(randomised.named_modules())
    stages, rhos, done = [], [], []
    for i, name in enumerate(reversed(parametrised_layers(model))):
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed * 1000 + i)
            modules[name].reset_parameters()
        done.append(name)
        stages.append("+".join(done))
        rhos.append(float(np.nanmean(spearman(original, explain(randomised, x, target)))))
    base = {}
    for name, fn in BASELINES.items():
        r = spearman(original, fn(x, seed))
        base[name] = None if np.all(np.isnan(r)) else float(np.nanmean(r))
    return {"stages": stages, "spearman": rhos, "baselines": base}
