from __future__ import annotations

from typing import Callable

import torch.nn as nn

from ..registry import Registry

MODELS: Registry[Callable[..., nn.Module]] = Registry("model")


def create_model(name: str, **kwargs) -> nn.Module:
    return MODELS.get(name)(**kwargs)
