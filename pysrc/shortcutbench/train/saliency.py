"""Saliency penalty (seed 000 §6.2, after Right-for-the-Right-Reasons, Ross et al. 2017):
L = CE(f(x), y) + λ_sal · mean(‖g‖² ⊙ mask),  g = ∇_x f_y(x) centred across channels,
computed with create_graph=True (second order).

Two masks, both registered:
- ``saliency_bg`` (the seed's variant): mask = background = 1 − [mean_c x > threshold]. In the
  seed's data the *stroke* is coloured and the background is black for every colour, so this
  mask does not cover the shortcut (research/shortcut.md §2).
- ``saliency_stroke`` (added): mask = stroke pixels, and the penalised gradient is the chroma part
  (g minus its channel mean): sensitivity to a change of colour on the stroke, while a change of
  brightness (shape) stays free.

Seed values: λ_sal_max = 8e-3 with schedule full (epochs 1–2), 0.7× (3–5), 0.3× (> 5); Adam lr
1e-3; 9 epochs; gradient-norm clipping 1.0. The seed's threshold is not given: 0.05 (documented).
The stroke variant keeps the schedule, clipping and epochs with λ_max = 1 (see its class).
"""
from __future__ import annotations

from dataclasses import replace

import torch
import torch.nn.functional as F

from .helpers import AdamMethod, MITIGATION_TRAIN
from ..explain.metrics import stroke_mask
from .method import METHODS, Batch


def shape_mask(x: torch.Tensor, threshold: float) -> torch.Tensor:
    """[B, 1, H, W] 1 on stroke pixels (channel mean above threshold)."""
    return (x.mean(1, keepdim=True) > threshold).to(x.dtype)


def digit_mask(gray: torch.Tensor, threshold: float) -> torch.Tensor:
    """[B, 1, H, W] 1 where the grayscale digit (uint8) is above threshold: the stroke when the
    colour is in the background, where every pixel passes :func:`shape_mask`."""
    return stroke_mask(gray, threshold).unsqueeze(1).float()


def saliency_penalty(model, x: torch.Tensor, y: torch.Tensor, mask: str, threshold: float,
                     create_graph: bool = True, stroke: torch.Tensor | None = None) -> torch.Tensor:
    """mean over the batch of Σ_pixels mask · Σ_c (g_c − mean_c g)² with g = ∂f_y/∂x. ``stroke``
    (default: :func:`shape_mask` of x, seed §6.2) marks the digit's pixels."""
    x = x.detach().requires_grad_(True)
    logits = model(x)
    g = torch.autograd.grad(logits.gather(1, y[:, None]).sum(), x, create_graph=create_graph)[0]
    g = g - g.mean(1, keepdim=True)  # channel centring (seed §6.2)
    if stroke is None:
        stroke = shape_mask(x.detach(), threshold)
    m = stroke if mask == "stroke" else 1.0 - stroke
    return ((g ** 2) * m).sum(dim=(1, 2, 3)).mean(), logits


def lambda_sal(epoch: int, lam_max: float) -> float:
    """Seed §6.2 schedule; ``epoch`` is 0-based."""
    e = epoch + 1
    return lam_max * (1.0 if e <= 2 else 0.7 if e <= 5 else 0.3)


class _Saliency(AdamMethod):
    mask = "background"
    zoo_version = 2  # v2: stroke from the grayscale digit on background-coloured data (was: empty mask)
    default_train = replace(MITIGATION_TRAIN, epochs=9)
    default_hparams = {"optimizer": "adam", "lambda_max": 8e-3, "threshold": 0.05, "clip": 1.0}
    # seed §6.2 values; the stroke variant overrides lambda_max (see its class)

    def training_step(self, batch: Batch, epoch: int, step: int):
        self.optimizer.zero_grad(set_to_none=True)
        split, threshold = self.data["train"], self.hparams["threshold"]
        # The seed's mask (channel mean > threshold) presumes a black background; with the colour in
        # the background every pixel passes it, the background mask is empty and the penalty is 0,
        # so there the stroke is read from the grayscale digit (as CF-INVAR reads it to recolour).
        stroke = digit_mask(split.gray[batch.index], threshold) if split.background else None
        pen, logits = saliency_penalty(self.model, batch.x, batch.y, self.mask, threshold, stroke=stroke)
        ce = F.cross_entropy(logits, batch.y)
        loss = ce + lambda_sal(epoch, self.hparams["lambda_max"]) * pen
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.hparams["clip"])
        self.optimizer.step()
        return {"loss": loss.item(), "penalty": pen.item()}


@METHODS.register("saliency_bg")
class SaliencyBackground(_Saliency):
    """Seed's variant: penalises gradients on background pixels."""

    name = "saliency_bg"
    mask = "background"


@METHODS.register("saliency_stroke")
class SaliencyStroke(_Saliency):
    """Penalises the chroma (colour-changing) part of the gradient on stroke pixels."""

    name = "saliency_stroke"
    mask = "stroke"
    # Not in the seed. λ_max = 1: the stroke-chroma penalty is ~0.8 per image once a model reads
    # colour (3 epochs of erm_adam), so λ = 1 puts the term on the scale of the CE; at the seed's
    # 8e-3 it is ~100× smaller than the CE and training is indistinguishable from erm_adam.
    default_hparams = {**_Saliency.default_hparams, "lambda_max": 1.0}
