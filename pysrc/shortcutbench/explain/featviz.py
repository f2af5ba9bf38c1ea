"""Feature visualisation by activation maximisation (seed 000 §4.2–4.3) and the microscope (§4.5).

For channel c of layer L: x* = argmax_x Obj(A_{L,c}(x)) − λ1‖x‖² − λ2·TV(x), with Adam (lr 0.08),
200 steps, x0 ~ N(0, 0.2²), a random jitter of ±2 px every step (a circular shift, one shift for
the whole batch), a Gaussian blur (σ 0.6, 3×3) every 8 steps, λ1 = 1e−4, λ2 = 2e−4; TV = Σ|Δy| +
Σ|Δx| (captum-optim's TotalVariation). Pixels are optimised directly (no FFT / decorrelation,
as the seed). Channels are optimised together as one batch, image i for channel i; Adam's update is
element-wise, so this equals optimising each channel alone (up to the shared jitter draw).

Objectives (§4.3): channel_max = max_hw A[c], channel_mean = mean_hw A[c], topk_mean = mean of
the top-32 values of A[c] (all of them when the map is smaller). A [B, C] layer (fc) is read as is.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..errors import UsageError
from .hooks import capture, live_output, single_thread


@dataclass(frozen=True)
class FeatVizConfig:
    steps: int = 200
    lr: float = 0.08
    init_std: float = 0.2
    jitter: int = 2
    blur_every: int = 8
    blur_sigma: float = 0.6
    l2: float = 1e-4
    tv: float = 2e-4
    topk: int = 32
    seed: int = 0


def _channel_values(a: torch.Tensor, channels: torch.Tensor) -> torch.Tensor:
    """Image i's channel ``channels[i]`` → [B, h·w] (or [B, 1] for a flat layer)."""
    idx = torch.arange(a.shape[0])
    sel = a[idx, channels]
    return sel.reshape(a.shape[0], -1)


def objective_value(a: torch.Tensor, channels: torch.Tensor, objective: str, topk: int = 32) -> torch.Tensor:
    v = _channel_values(a, channels)
    if objective == "channel_max":
        return v.amax(1)
    if objective == "channel_mean":
        return v.mean(1)
    if objective == "topk_mean":
        return v.topk(min(topk, v.shape[1]), dim=1).values.mean(1)
    raise UsageError(f"unknown objective {objective!r} (known: {', '.join(OBJECTIVES)})")


OBJECTIVES = ("channel_max", "channel_mean", "topk_mean")


def total_variation(x: torch.Tensor) -> torch.Tensor:
    return (x[..., 1:, :] - x[..., :-1, :]).abs().flatten(1).sum(1) + (x[..., :, 1:] - x[..., :, :-1]).abs().flatten(1).sum(1)


def _blur3(x: torch.Tensor, sigma: float) -> torch.Tensor:
    r = torch.tensor([-1.0, 0.0, 1.0], dtype=x.dtype)
    k = torch.exp(-r ** 2 / (2 * sigma ** 2))
    k = (k[:, None] * k[None, :]) / k.sum() ** 2
    c = x.shape[1]
    return F.conv2d(F.pad(x, (1, 1, 1, 1), mode="replicate"), k.expand(c, 1, 3, 3), groups=c)


def maximise(model: nn.Module, layer: str, channels: Sequence[int], objective: str = "channel_mean",
             config: FeatVizConfig = FeatVizConfig(), shape=(3, 28, 28)) -> Dict[str, torch.Tensor]:
    """{"images": [n, C, H, W] prototypes, "objective": [n] final objective values (un-jittered)}."""
    with single_thread():
        return _maximise(model, layer, channels, objective, config, shape)


def _maximise(model, layer, channels, objective, config, shape):
    model.eval()
    ch = torch.as_tensor(list(channels), dtype=torch.long)
    gen = torch.Generator().manual_seed(config.seed)
    x = (torch.randn((len(ch), *shape), generator=gen) * config.init_std).requires_grad_(True)
    opt = torch.optim.Adam([x], lr=config.lr)
    for step in range(config.steps):
        dy, dx = (int(v) for v in torch.randint(-config.jitter, config.jitter + 1, (2,), generator=gen))
        act = live_output(model, layer, torch.roll(x, shifts=(dy, dx), dims=(2, 3)))
        obj = objective_value(act, ch, objective, config.topk)
        loss = (-obj + config.l2 * x.pow(2).flatten(1).sum(1) + config.tv * total_variation(x)).sum()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if config.blur_every and (step + 1) % config.blur_every == 0:
            with torch.no_grad():
                x.copy_(_blur3(x, config.blur_sigma))
    with torch.no_grad(), capture(model, layer, want_grad=False) as cap:
        model(x)
        final = objective_value(cap.activation, ch, objective, config.topk)
    return {"images": x.detach(), "objective": final}


@torch.no_grad()
def layer_activations(model: nn.Module, layer: str, images: torch.Tensor, batch: int = 1000) -> torch.Tensor:
    model.eval()
    outs = []
    for i in range(0, images.shape[0], batch):
        with capture(model, layer, want_grad=False) as cap:
            model(images[i:i + batch])
        outs.append(cap.activation)
    return torch.cat(outs)


def microscope(acts: torch.Tensor, k: int = 8, objective: str = "channel_max") -> torch.Tensor:
    """[C, k] indices of the k dataset images that activate each channel most (by ``objective``)."""
    n, c = acts.shape[:2]
    flat = acts.reshape(n, c, -1)
    score = {"channel_max": flat.amax(2), "channel_mean": flat.mean(2)}.get(objective)
    if score is None:
        raise UsageError("microscope objective must be channel_max or channel_mean")
    return score.t().topk(min(k, n), dim=1).indices


def purity(labels: torch.Tensor, top: torch.Tensor, num_classes: int = 10) -> torch.Tensor:
    """[C] share of the top-k images of each channel that carry the channel's most common label."""
    counts = F.one_hot(labels[top], num_classes).sum(1)
    return counts.amax(1).float() / top.shape[1]
