from __future__ import annotations

from typing import Callable, Optional

import torch

import torch.nn as nn

from ..registry import Registry

MODELS: Registry[Callable[..., nn.Module]] = Registry("model")


def create_model(name: str, seed: Optional[int] = None, **kwargs) -> nn.Module:
    """Build a registered model; with ``seed`` its initial weights depend on that seed only
    (drawn under a forked RNG, so the caller's random state is untouched)."""
    factory = MODELS.get(name)
    if seed is None:
        return factory(**kwargs)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return factory(**kwargs)
