"""Seeds. The data seed (what the dataset looks like) and training seeds (init, batch order)
are separate streams, unlike DomainBed where the job seed also reshuffles the data."""
from __future__ import annotations

import random

import numpy as np
import torch


def seed_everything(seed: int) -> torch.Generator:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    g = torch.Generator()
    g.manual_seed(seed)
    return g


def numpy_rng(seed: int, *stream: int) -> np.random.Generator:
    """Independent numpy stream per (seed, purpose) so adding a split never shifts another."""
    return np.random.default_rng([seed, *stream])
