"""Attribution maps, batched over images, for any conv layer (by module name) and any target.

Every method returns an :class:`Attribution`: ``raw`` in the method's own space and units (CAMs:
[B, h, w] at the layer's resolution; pixel methods: [B, C, H, W] at the input) and ``map``, one
[B, h, w] heat map per image. :func:`normalise` gives pytorch-grad-cam's per-image min-max
scaling, :func:`to_input` the seed's upsample-then-normalise map at input resolution (§5.3).

Targets are raw logits y^c (not softmax), as Grad-CAM (Selvaraju et al. 2017) and Captum use; a
target of ``None`` means each image's predicted class. Gradients of a batch come from one
backward pass of Σ_b y_b^{c_b}: images do not interact in an eval-mode network without batch
statistics, so each image receives its own gradient.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Optional, Tuple, Union

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from ..errors import UsageError
from ..registry import Registry
from .hooks import capture, get_module

Target = Union[None, int, torch.Tensor]
EPS_NORM = 1e-7  # pytorch-grad-cam utils/image.py scale_cam_image


@dataclass
class Attribution:
    raw: torch.Tensor  # method-native tensor (see module docstring)
    map: torch.Tensor  # [B, h, w] one heat map per image
    target: torch.Tensor  # [B] class explained
    delta: Optional[torch.Tensor] = None  # IG convergence delta per image: Σ IG − (F(x) − F(x'))

    def normalised(self) -> torch.Tensor:
        return normalise(self.map)


def normalise(maps: torch.Tensor) -> torch.Tensor:
    """Per-image (m − min) / (max − min + 1e−7), as pytorch-grad-cam's ``scale_cam_image``."""
    flat = maps.flatten(1)
    lo = flat.min(1, keepdim=True).values
    hi = (flat - lo).max(1, keepdim=True).values
    return ((flat - lo) / (hi + EPS_NORM)).view_as(maps)


def to_input(maps: torch.Tensor, size: Tuple[int, int] = (28, 28)) -> torch.Tensor:
    """Bilinear upsampling to the input size, then normalisation (the seed's order, §5.3)."""
    if tuple(maps.shape[-2:]) != tuple(size):
        maps = F.interpolate(maps[:, None], size=size, mode="bilinear", align_corners=False)[:, 0]
    return normalise(maps)


ATTRIBUTIONS: Registry[Callable[..., Attribution]] = Registry("attribution method")


def attribute(method: str, model: nn.Module, x: torch.Tensor, target: Target = None, layer: Optional[str] = None,
              **kwargs) -> Attribution:
    """``ATTRIBUTIONS.get(method)(model, x, target, layer, **kwargs)`` with the model in eval mode."""
    fn = ATTRIBUTIONS.get(method)
    if x.dim() != 4:
        raise UsageError(f"attribution needs images [B, C, H, W], got shape {tuple(x.shape)}")
    was_training = model.training
    model.eval()
    try:
        return fn(model, x, target, layer, **kwargs)
    finally:
        model.train(was_training)


def _targets(logits: torch.Tensor, target: Target) -> torch.Tensor:
    if target is None:
        return logits.argmax(1).detach()
    t = torch.as_tensor(target, dtype=torch.long, device=logits.device)
    if t.dim() == 0:
        t = t.expand(logits.shape[0])
    if t.shape != (logits.shape[0],):
        raise UsageError(f"target must be an int or one class per image ({logits.shape[0]}), got {tuple(t.shape)}")
    if int(t.min()) < 0 or int(t.max()) >= logits.shape[1]:
        raise UsageError(f"target classes must be in 0..{logits.shape[1] - 1}")
    return t


def _layer_pass(model: nn.Module, x: torch.Tensor, target: Target, layer: Optional[str]):
    """A (activation), dy^c/dA (gradient), logits, targets for a batch, in one forward/backward."""
    if layer is None:
        raise UsageError("this attribution method needs --layer (a conv layer name, e.g. conv3)")
    with torch.enable_grad(), capture(model, layer) as cap:
        xin = x.detach().requires_grad_(True)  # so A requires grad even when the weights are frozen
        logits = model(xin)
        t = _targets(logits, target)
        if cap.live is None:
            raise UsageError(f"layer {layer!r} did not take part in the forward pass")
        (grad,) = torch.autograd.grad(logits.gather(1, t[:, None]).sum(), cap.live)
    if cap.activation.dim() != 4:
        raise UsageError(f"layer {layer!r} gives shape {tuple(cap.activation.shape)}; a CAM needs [B, C, h, w]")
    return cap.activation, grad.detach(), logits.detach(), t


def _cam(raw: torch.Tensor, t: torch.Tensor) -> Attribution:
    return Attribution(raw=raw, map=raw, target=t)


@ATTRIBUTIONS.register("gradcam")
def gradcam(model, x, target=None, layer=None) -> Attribution:
    """Grad-CAM: ReLU(Σ_k α_k A^k), α_k = spatial mean of ∂y^c/∂A^k (Selvaraju et al., eq. 1–2)."""
    a, g, _, t = _layer_pass(model, x, target, layer)
    alpha = g.mean(dim=(2, 3), keepdim=True)
    return _cam(F.relu((alpha * a).sum(1)), t)


@ATTRIBUTIONS.register("hirescam")
def hirescam(model, x, target=None, layer=None) -> Attribution:
    """HiResCAM: ReLU(Σ_k ∂y^c/∂A^k ⊙ A^k), element-wise instead of averaged (Draelos & Carin 2020)."""
    a, g, _, t = _layer_pass(model, x, target, layer)
    return _cam(F.relu((g * a).sum(1)), t)


@ATTRIBUTIONS.register("gradcam++")
def gradcam_pp(model, x, target=None, layer=None) -> Attribution:
    """Grad-CAM++ as pytorch-grad-cam implements it (grad_cam_plusplus.py), i.e. eq. 19 of
    arXiv 1710.11063 under its exp-output assumption: with g = ∂y^c/∂A^k_ij and S_k = Σ_ab A^k_ab,
    a_ij = g² / (2g² + S_k·g³ + 1e−6) (0 where g = 0), w_k = Σ_ij max(g, 0)·a_ij,
    map = ReLU(Σ_k w_k A^k). S_k multiplies g³ after the spatial sum (Σ A·g³ is a known bug)."""
    a, g, _, t = _layer_pass(model, x, target, layer)
    g2, g3 = g.pow(2), g.pow(3)
    s = a.sum(dim=(2, 3), keepdim=True)
    alpha = g2 / (2 * g2 + s * g3 + 1e-6)
    alpha = torch.where(g != 0, alpha, torch.zeros_like(alpha))
    w = (F.relu(g) * alpha).sum(dim=(2, 3), keepdim=True)
    return _cam(F.relu((w * a).sum(1)), t)


@ATTRIBUTIONS.register("cam")
def cam(model, x, target=None, layer=None, fc: str = "fc") -> Attribution:
    """CAM (Zhou et al. 2016): Σ_k w_ck A^k with w the weights of the linear head ``fc`` that reads
    the global average of ``layer``. ReLU'd like the other CAMs, so on a GAP → FC network CAM,
    Grad-CAM and HiResCAM agree after normalisation (research notes §2)."""
    head = get_module(model, fc)
    if not isinstance(head, nn.Linear):
        raise UsageError(f"CAM needs a linear head; {fc!r} is {type(head).__name__}")
    if layer is None:
        raise UsageError("CAM needs --layer (the conv layer whose global average the head reads)")
    with torch.no_grad(), capture(model, layer, want_grad=False) as cap:
        logits = model(x)
    t = _targets(logits, target)
    a = cap.activation
    if a is None or a.dim() != 4 or a.shape[1] != head.in_features:
        shape = None if a is None else tuple(a.shape)
        raise UsageError(f"CAM needs a layer with {head.in_features} channels feeding {fc!r}; got {shape}")
    w = head.weight.detach()[t][:, :, None, None]
    return _cam(F.relu((w * a).sum(1)), t)


def _input_grad(model: nn.Module, x: torch.Tensor, t: Target,
                channels_last: bool = False) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """∂y^t/∂x for a batch. ``channels_last`` runs the pass in NHWC: on CPU the NCHW max-pool with
    indices alone took a third of a lazy-CNN forward/backward, and NHWC was 1.4× faster at every
    chunk size (16–256 images, one thread; benchmarks/bench_explain.py). Off by default: where a
    max-pool window holds tied values (black background), NHWC routes the gradient to a different
    tied input than NCHW (and Captum) do — an equally valid subgradient, but the maps differ in
    ~0.1–0.5 % of pixels by up to 1e−3 of the map's maximum."""
    fmt = torch.channels_last if channels_last and x.dim() == 4 else torch.contiguous_format
    with torch.enable_grad():
        xin = x.detach().contiguous(memory_format=fmt).requires_grad_(True)
        logits = model(xin)
        tt = _targets(logits, t)
        (grad,) = torch.autograd.grad(logits.gather(1, tt[:, None]).sum(), xin)
    return grad.contiguous(), logits.detach(), tt


@ATTRIBUTIONS.register("saliency")
def saliency(model, x, target=None, layer=None, channels_last: bool = False) -> Attribution:
    """Vanilla saliency (Simonyan et al. 2014): raw = |∂y^c/∂x| per channel (Captum
    ``Saliency(abs=True)``); map = max over colour channels (Simonyan §3.1)."""
    g, _, t = _input_grad(model, x, target, channels_last)
    raw = g.abs()
    return Attribution(raw=raw, map=raw.amax(1), target=t)


@ATTRIBUTIONS.register("smoothgrad")
def smoothgrad(model, x, target=None, layer=None, n_samples: int = 25, noise: float = 0.15, seed: int = 0,
               chunk: int = 64, channels_last: bool = False) -> Attribution:
    """SmoothGrad (Smilkov et al. 2017): mean of |∂y^c/∂x| over n noisy copies, noise σ = noise ×
    (max − min) of each image (their 10–20 % range), seeded. Target is fixed from the clean image."""
    with torch.no_grad():
        t = _targets(model(x), target)
    gen = torch.Generator(device="cpu").manual_seed(seed)
    span = (x.flatten(1).amax(1) - x.flatten(1).amin(1)).view(-1, 1, 1, 1)
    reps = x.repeat(n_samples, 1, 1, 1)
    noisy = reps + torch.randn(reps.shape, generator=gen).to(x.device) * noise * span.repeat(n_samples, 1, 1, 1)
    tt = t.repeat(n_samples)
    grads = torch.cat([_input_grad(model, noisy[i:i + chunk], tt[i:i + chunk], channels_last)[0].abs()
                       for i in range(0, noisy.shape[0], chunk)])
    raw = grads.view(n_samples, *x.shape).mean(0)
    return Attribution(raw=raw, map=raw.amax(1), target=t)


IG_RULES = ("gausslegendre", "riemann_left", "riemann_right", "riemann_middle", "riemann_trapezoid")


def ig_alphas(n: int, rule: str = "gausslegendre") -> Tuple[torch.Tensor, torch.Tensor]:
    """Points α_m on [0, 1] and weights s_m of the path integral (Captum's conventions, research
    notes §2). Gauss-Legendre: α = (1 + t)/2, s = w/2; Riemann: s = 1/n; trapezoid: α =
    linspace(0, 1, n), s = 1/n with halved endpoints (Σ s = 1 − 1/n, as Captum)."""
    if n < 1:
        raise UsageError(f"n_steps must be >= 1, got {n}")
    if rule == "gausslegendre":
        t, w = np.polynomial.legendre.leggauss(n)
        return torch.tensor((1 + t) / 2), torch.tensor(w / 2)
    if rule == "riemann_trapezoid":
        if n < 2:
            raise UsageError("riemann_trapezoid needs n_steps >= 2")
        s = np.full(n, 1.0 / n)
        s[[0, -1]] /= 2
        return torch.linspace(0, 1, n, dtype=torch.float64), torch.tensor(s)
    offsets = {"riemann_left": 0.0, "riemann_right": 1.0, "riemann_middle": 0.5}
    if rule not in offsets:
        raise UsageError(f"unknown IG rule {rule!r} (known: {', '.join(IG_RULES)})")
    a = (np.arange(n) + offsets[rule]) / n
    return torch.tensor(a), torch.full((n,), 1.0 / n, dtype=torch.float64)


@ATTRIBUTIONS.register("ig")
def integrated_gradients(model, x, target=None, layer=None, n_steps: int = 32, rule: str = "gausslegendre",
                         baseline: Optional[torch.Tensor] = None, chunk: int = 64,
                         channels_last: bool = False) -> Attribution:
    """Integrated Gradients (Sundararajan et al. 2017): (x − x')·Σ_m s_m ∂F(x' + α_m(x − x')), all
    steps of all images batched together in chunks of ``chunk`` path points (64: on one CPU thread
    larger chunks fall out of cache and run slower — 4096 took 2.1× as long). Baseline x' = 0 (a black image) unless given. The map is
    |Σ_channels IG| (signed attributions are in ``raw``); ``delta`` is the completeness gap.
    ``channels_last``: see :func:`_input_grad`."""
    xb = torch.zeros_like(x) if baseline is None else baseline.expand_as(x).to(x)
    alphas, weights = ig_alphas(n_steps, rule)
    alphas, weights = alphas.to(x.dtype).to(x.device), weights.to(x.dtype).to(x.device)
    with torch.no_grad():
        out_x, out_b = model(x), model(xb)
    t = _targets(out_x, target)
    diff = x - xb
    path = (xb[None] + alphas.view(-1, 1, 1, 1, 1) * diff[None]).reshape(-1, *x.shape[1:])  # [n·B, C, H, W]
    tt = t.repeat(n_steps)
    grads = torch.cat([_input_grad(model, path[i:i + chunk], tt[i:i + chunk], channels_last)[0]
                       for i in range(0, path.shape[0], chunk)])
    avg = (grads.view(n_steps, *x.shape) * weights.view(-1, 1, 1, 1, 1)).sum(0)
    raw = diff * avg
    gap = out_x.gather(1, t[:, None])[:, 0] - out_b.gather(1, t[:, None])[:, 0]
    delta = raw.flatten(1).sum(1) - gap
    return Attribution(raw=raw, map=raw.sum(1).abs(), target=t, delta=delta)
