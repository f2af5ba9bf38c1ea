"""Model-free control maps (research notes §6; pytorch-grad-cam's metrics tutorial: "be suspicious"
of a method until it beats these). Each takes images [B, C, H, W] and returns maps [B, H, W] that
never look at the model: uniform noise (seeded), the Sobel edge magnitude of the grey image, and
a constant map."""
from __future__ import annotations

from typing import Callable, Dict

import torch
import torch.nn.functional as F

from ..errors import UsageError


def random_map(x: torch.Tensor, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.rand((x.shape[0], *x.shape[-2:]), generator=g).to(x)


def sobel_map(x: torch.Tensor, seed: int = 0) -> torch.Tensor:
    grey = x.mean(1, keepdim=True)
    kx = torch.tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]], dtype=x.dtype, device=x.device)
    k = torch.stack([kx, kx.t()])[:, None]
    g = F.conv2d(F.pad(grey, (1, 1, 1, 1), mode="replicate"), k)
    return g.pow(2).sum(1).sqrt()


def constant_map(x: torch.Tensor, seed: int = 0) -> torch.Tensor:
    return torch.ones((x.shape[0], *x.shape[-2:]), dtype=x.dtype, device=x.device)


BASELINES: Dict[str, Callable[..., torch.Tensor]] = {"random": random_map, "sobel": sobel_map, "constant": constant_map}


def baseline_map(name: str, x: torch.Tensor, seed: int = 0) -> torch.Tensor:
    if name not in BASELINES:
        raise UsageError(f"unknown baseline {name!r} (known: {', '.join(BASELINES)})")
    return BASELINES[name](x, seed)
