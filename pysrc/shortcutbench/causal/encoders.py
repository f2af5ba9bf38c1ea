"""Encoders of the causal track, one registry: each maps a scene image to features, and may carry
its own trained head that regresses every factor's latent.

    pixels          the raw pixels (a readout on them is a linear regressor of the image)
    random_cnn      the CNN below, untrained (a control: what an architecture gives for free)
    supervised_cnn  the CNN trained to regress every factor (MSE on the latents)
    linf_cnn        a shallower CNN (one 8×8 stride-4 convolution, one dense layer) with every layer's
                    ℓ∞ operator norm ≤ 1 and the head's ≤ ``gain``: a regressor whose ℓ∞ Lipschitz
                    constant is at most ``gain`` per latent by construction (weights rescaled row by
                    row, Gouk et al. 2021 §3, as a reparametrisation). Shallow on purpose: with the
                    4-layer body every row-normalised layer averages the signal away and the
                    constrained net learnt no θ at all (R² ≈ 0 at gain 4 and 16, 3 epochs, 10k scenes).

    simclr          the same CNN body trained by SimCLR on the scenes without their factors
                    (:mod:`.simclr`; seed 001 §7.1, Table 5), read by ridge readouts

A self-supervised encoder joins by registering an :class:`Encoder` with ``make`` (its
architecture, no head), a ``pretrained`` hook — (training split, seed, epochs) → the trained
feature module and what to store as its history — and ``settings`` (what else fixes its weights,
for the storage key); the track then reads it with ridge readouts, and certifies it when the
module is a plain Sequential of layers the certifier knows (otherwise λ is reported as unknown and
only the attacks run).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Dict, Optional, Tuple

import torch
import torch.nn as nn
from torch.nn.utils import parametrize

from ..registry import Registry
from ..data.scenes import RESOLUTION
from ..models.scene_cnn import FEATURES, scene_body


def conv_body() -> nn.Sequential:
    """Three stride-2 4×4 convolutions (32 → 16 → 8 → 4), then a 64-wide dense layer: ~58k weights."""
    return scene_body(3, RESOLUTION)


def shallow_body() -> nn.Sequential:
    """One 8×8 stride-4 convolution (32 → 8), then a 64-wide dense layer: ~136k weights."""
    return nn.Sequential(
        nn.Conv2d(3, 32, 8, stride=4, padding=2), nn.ReLU(),
        nn.Flatten(), nn.Linear(32 * (RESOLUTION // 4) ** 2, FEATURES), nn.ReLU())


class RowL1Bound(nn.Module):
    """Weight → weight with every output row's ℓ1 norm ≤ bound (rows below it untouched): the
    layer's ℓ∞ → ℓ∞ operator norm is then ≤ bound."""

    def __init__(self, bound: float = 1.0):
        super().__init__()
        self.bound = bound

    def forward(self, w: torch.Tensor) -> torch.Tensor:
        norms = w.abs().flatten(1).sum(1).view(-1, *[1] * (w.dim() - 1))
        return w * (self.bound / norms.clamp_min(self.bound))


def constrain_linf(body: nn.Sequential, head: nn.Linear, gain: float) -> None:
    for layer in body:
        if isinstance(layer, (nn.Conv2d, nn.Linear)):
            parametrize.register_parametrization(layer, "weight", RowL1Bound(1.0))
    parametrize.register_parametrization(head, "weight", RowL1Bound(gain))


def bake(module: nn.Module) -> None:
    """Replace every parametrised weight by its current value (plain layers again, for shipping,
    certificates and speed)."""
    for m in list(module.modules()):
        if parametrize.is_parametrized(m):
            for name in list(m.parametrizations.keys()):
                parametrize.remove_parametrizations(m, name, leave_parametrized=True)


@dataclass(frozen=True)
class Encoder:
    name: str
    description: str
    trained: bool  # True: trained to regress the latents, its head is the task regressor
    seeded: bool = True  # False: the same features at every seed (readouts are fit once per task)
    make: Optional[Callable[[int, float], Tuple[nn.Sequential, Optional[nn.Linear]]]] = None  # (factors, gain) → (body, head)
    # (train SceneSet, seed, epochs) → (the trained body, what to store as its history): trained without
    # the factors (SimCLR); ``make`` gives the same architecture to load stored weights into
    pretrained: Optional[Callable[[Any, int, int], Tuple[nn.Module, Any]]] = None
    settings: Optional[Callable[[int], Dict[str, Any]]] = None  # epochs → what else fixes the weights (storage key)


ENCODERS: Registry[Encoder] = Registry("encoder")


def _pixels(factors: int, gain: float):
    return nn.Sequential(nn.Flatten()), None


def _cnn(factors: int, gain: float):
    return conv_body(), nn.Linear(FEATURES, factors)


def _simclr(train, seed: int, epochs: int):
    from .simclr import simclr_features  # ssl's pre-training stack, loaded only when SimCLR trains

    return simclr_features(train, seed, epochs)


def _simclr_settings(epochs: int) -> Dict[str, Any]:
    from .simclr import settings

    return settings(epochs)


def _linf_cnn(factors: int, gain: float):
    body, head = shallow_body(), nn.Linear(FEATURES, factors)
    constrain_linf(body, head, gain)
    return body, head


for _enc in (
    Encoder("pixels", "raw pixels (3072)", False, False, _pixels),
    Encoder("random_cnn", "the CNN, untrained", False, True, lambda f, g: (conv_body(), None)),
    Encoder("supervised_cnn", "the CNN trained to regress every factor", True, True, _cnn),
    Encoder("linf_cnn", "the shallow CNN with ℓ∞ operator norms ≤ 1 per layer, head ≤ gain", True, True, _linf_cnn),
    Encoder("simclr", "the CNN trained by SimCLR on the scenes, without their factors", False, True,
            lambda f, g: (conv_body(), None), pretrained=_simclr, settings=_simclr_settings),
):
    ENCODERS.register(_enc.name)(_enc)


def build(name: str, factors: int, seed: int, gain: float = 1.0) -> Tuple[nn.Sequential, Optional[nn.Linear]]:
    """The encoder's (body, head) with initial weights drawn from ``seed`` only."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return ENCODERS.get(name).make(factors, gain)
